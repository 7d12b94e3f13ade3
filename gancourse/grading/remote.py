"""The grader's side of a submission: a sandboxed worker process, and proxies that stand for
the notebook's objects.

`Submission` starts `gancourse.grading.worker` in the sandbox and talks to it with `wire`
messages (data only). If the worker dies (os._exit, a crash, a time limit), the submission
starts a new one and replays the cells that ran before, leaving out the one that killed it, so
a death costs only what needed the dead state.

In the grader's namespace, each name the student's cells define is a `RemoteName`; calling it
runs the student's code in the sandbox and returns data (tensors, numbers) or another proxy
(`RemoteObject`, `RemoteModule` for networks). Tensors passed in are sent by value, and the
sandbox's in-place changes, generator states and torch's global RNG state come back, so a test
written for the student's own kernel means the same thing here. A scalar result that depends on
tensors sent with requires_grad comes back with the gradient the student's code computed.
"""

from __future__ import annotations

import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from gancourse.grading import wire
from gancourse.grading.sandbox import (
    Isolation,
    SandboxLimits,
    Workspace,
    bwrap_command,
    plain_command,
    plain_env,
)


class SubmissionError(Exception):
    """The student's code raised; `ename` and `evalue` say what."""

    def __init__(self, ename: str, evalue: str, traceback: str = "") -> None:
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue, self.traceback = ename, evalue, traceback


class SubmissionDied(SubmissionError):
    """The submission's process stopped (or was stopped) before it answered."""

    def __init__(self, reason: str) -> None:
        super().__init__("SubmissionDied", reason)


@dataclass
class CellRun:
    """What one cell did in the sandbox."""

    stdout: str = ""
    stderr: str = ""
    error: dict | None = None
    fatal: bool = False  # the process died running it


class _Process:
    """One worker process and a thread that reads its answers."""

    def __init__(self, command: list[str], env: dict, cwd: str) -> None:
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self.answers: queue.Queue = queue.Queue()
        self.stderr: list[bytes] = []
        os.set_blocking(self.proc.stdin.fileno(), False)  # writes wait only until a deadline
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self.answers.put(wire.receive(self.proc.stdout, from_handle=lambda h: h))
            except Exception as error:  # noqa: BLE001  (a dead or hostile peer)
                self.answers.put(error)
                return

    def _drain(self) -> None:
        """Keep the first 16 KiB of stderr; read the rest in bounded chunks and drop it."""
        size, fd = 0, self.proc.stderr.fileno()
        while chunk := os.read(fd, 65536):
            if size < 16_384:
                self.stderr.append(chunk[: 16_384 - size])
                size += len(chunk)

    def _write(self, data: bytes, timeout: float) -> None:
        """Write a request, waiting at most `timeout` seconds for the pipe to take it (a
        worker that stops reading must not hang the grader)."""
        fd, view, deadline = self.proc.stdin.fileno(), memoryview(data), time.monotonic() + timeout
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                self.kill()
                raise SubmissionDied(f"the process stopped reading within {timeout:.0f} s")
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue

    def ask(self, message: dict, timeout: float) -> dict:
        try:
            self._write(wire.pack(message), timeout)
        except (BrokenPipeError, OSError):
            raise SubmissionDied(self.why_dead()) from None
        try:
            answer = self.answers.get(timeout=max(timeout, 0.01))
        except queue.Empty:
            self.kill()
            raise SubmissionDied(f"no answer within {timeout:.0f} s (time limit)") from None
        if isinstance(answer, Exception):
            self.kill()
            raise SubmissionDied(self.why_dead())
        return answer

    def why_dead(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "the process stopped answering"
        lines = b"".join(self.stderr).decode(errors="replace").strip().splitlines()
        tail = [line for line in lines if not line.startswith("Fontconfig")][-2:]
        if code < 0:
            name = (
                signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else code
            )
            reason = f"the process was killed by {name}"
            if -code == signal.SIGXCPU:
                reason += " (CPU-time limit)"
        else:
            reason = f"the process exited with code {code}"
        if any("MemoryError" in line or "Cannot allocate" in line for line in tail):
            reason += " (out of memory)"
        return reason + (f": {' | '.join(tail)}" if tail else "")

    def kill(self) -> None:
        """Kill the worker and everything it started (its session; in the sandbox, its PID
        namespace dies with it)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@dataclass
class Submission:
    """One student's notebook, run cell by cell in the sandbox."""

    limits: SandboxLimits
    isolation: Isolation
    process: _Process | None = None
    replay: list[str] = field(default_factory=list)
    deadline: float = 0.0
    generation: int = 0
    gave_up: str | None = None

    def __post_init__(self) -> None:
        # in the sandbox the working folder is a capped tmpfs; --unsafe needs a real one
        self.workspace = Workspace() if self.isolation.unsafe else None
        self.deadline = time.monotonic() + self.limits.wall_s

    # -- the process ------------------------------------------------------------------------

    def _command(self) -> tuple[list[str], dict, str]:
        inner = [sys.executable, "-m", "gancourse.grading.worker"]
        if self.workspace is not None:
            work = self.workspace.path
            return plain_command(inner, self.limits), plain_env(work), str(work)
        return bwrap_command(inner, self.limits), {}, "/"

    def _start(self) -> None:
        self._time_left(120)  # past the notebook's limit: start nothing
        command, env, cwd = self._command()
        self.process = _Process(command, env or {"PATH": os.environ.get("PATH", "")}, cwd)
        self.generation += 1
        try:
            answer = self.process.answers.get(timeout=self._time_left(120))
        except queue.Empty:
            self.process.kill()
            raise SubmissionDied("the sandbox did not start in time") from None
        if isinstance(answer, Exception) or not answer.get("ready"):
            raise SubmissionDied("the sandbox could not start: " + self.process.why_dead())

    def _time_left(self, cap: float) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SubmissionDied(f"the notebook's time limit ({self.limits.wall_s} s) was reached")
        return min(cap, left)

    def _ensure(self) -> _Process:
        if self.gave_up:
            raise SubmissionDied(self.gave_up)
        if self.process is None or self.process.proc.poll() is not None:
            self._restart()
        assert self.process is not None
        return self.process

    def _restart(self) -> None:
        if self.process is not None:
            self.process.kill()
        self._start()
        for source in self.replay:
            try:
                self.process.ask(
                    {"op": "exec", "source": source}, self._time_left(self.limits.cell_s)
                )
            except SubmissionDied as death:
                self.gave_up = (
                    f"the submission's process could not be restarted: replaying an earlier "
                    f"cell failed ({death.evalue})"
                )
                raise SubmissionDied(self.gave_up) from None

    def close(self) -> None:
        """Kill every process of this submission and delete its working folder."""
        if self.process is not None:
            self.process.kill()
            self.process = None
        if self.workspace is not None:
            self.workspace.cleanup()

    # -- cells and questions ----------------------------------------------------------------

    def run_cell(self, source: str) -> tuple[CellRun, dict[str, str]]:
        """Run one cell; a death is recorded in the cell, and the next request restarts the
        process with the cells that ran before (not this one)."""
        try:
            process = self._ensure()
            answer = process.ask(
                {"op": "exec", "source": source}, self._time_left(self.limits.cell_s)
            )
        except SubmissionDied as death:
            if self.process is not None:
                self.process.kill()
            return CellRun(
                error={"ename": "SubmissionDied", "evalue": death.evalue}, fatal=True
            ), {}
        self.replay.append(source)
        run = CellRun(
            str(answer.get("stdout", "")),
            str(answer.get("stderr", "")),
            answer.get("error") if isinstance(answer.get("error"), dict) else None,
        )
        names = answer.get("names") if isinstance(answer.get("names"), dict) else {}
        return run, {str(k): str(v) for k, v in names.items()}

    def ask(self, message: dict) -> dict:
        """One question to the student's process; SubmissionError if its code raised,
        SubmissionDied (after which the process is restarted on the next question) if it
        died or ran out of time."""
        process = self._ensure()
        generation = self.generation
        try:
            answer = process.ask(message, self._time_left(self.limits.cell_s))
        except SubmissionDied:
            process.kill()
            raise
        if generation != self.generation:
            raise SubmissionDied("the submission's process was restarted")
        error = answer.get("error")
        if isinstance(error, dict):
            raise SubmissionError(
                str(error.get("ename", "Error")),
                str(error.get("evalue", "")),
                str(error.get("traceback", "")),
            )
        return answer

    def wrap(self, value: Any) -> Any:
        """Turn handles in an answer into proxies (recursively)."""
        if isinstance(value, wire.Handle):
            cls = RemoteModule if value.is_module else RemoteObject
            return cls(self, value, self.generation)
        if isinstance(value, list):
            return [self.wrap(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.wrap(v) for v in value)
        if isinstance(value, dict):
            return {k: self.wrap(v) for k, v in value.items()}
        return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, RemoteObject):
        value._check_alive()
        return value.handle
    if isinstance(value, RemoteName):
        raise TypeError(f"pass an object, not the name {value.name!r}, to the submission")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _call(submission: Submission, target: dict, args, kwargs) -> Any:
    """Call something in the student's process, by value, mirroring side effects back."""
    grad = {"args": [], "kwargs": []}
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor) and a.requires_grad:
            grad["args"].append(i)
    for k, a in kwargs.items():
        if isinstance(a, torch.Tensor) and a.requires_grad:
            grad["kwargs"].append(k)
    message = {
        "op": "call",
        **target,
        "args": [_unwrap(a) for a in args],
        "kwargs": {k: _unwrap(v) for k, v in kwargs.items()},
        "rng": torch.get_rng_state(),
        "grad": grad,
    }
    answer = submission.ask(message)
    if isinstance(answer.get("rng"), torch.Tensor):
        torch.set_rng_state(answer["rng"])

    def original(where, key):
        """The argument an answer refers to; None for a reference to nothing."""
        try:
            return args[key] if where == "args" else kwargs[key]
        except (IndexError, KeyError, TypeError):
            return None

    for where, key, new in _references(answer, "mutated"):
        old = original(where, key)
        if isinstance(old, torch.Tensor) and isinstance(new, torch.Tensor):
            if old.shape != new.shape or old.dtype != new.dtype:
                # Mirroring it would let the submission size the grader's tensors (and memory).
                raise SubmissionError(
                    "ArgumentChanged",
                    f"the submission changed an argument of shape {tuple(old.shape)} "
                    f"({old.dtype}) in place into shape {tuple(new.shape)} ({new.dtype}); a "
                    f"function may change its arguments' values, not their shape or dtype",
                )
            if not torch.equal(old.detach(), new):  # the grader's torch, not the submission's
                with torch.no_grad():
                    old.copy_(new)
    for where, key, state in _references(answer, "generators"):
        gen = original(where, key)
        if isinstance(gen, torch.Generator) and isinstance(state, torch.Tensor):
            gen.set_state(state)
    value = submission.wrap(answer.get("value"))
    if isinstance(value, torch.Tensor) and answer.get("requires_grad"):
        links = [(original(where, key), g) for where, key, g in _references(answer, "grads")]
        for where, key, gs in _references(answer, "network_grads"):
            net = original(where, key)
            if isinstance(net, torch.nn.Module) and isinstance(gs, list):
                weights = list(net.parameters())
                if len(gs) != len(weights):
                    raise SubmissionError(
                        "GradientMismatch",
                        f"the submission sent {len(gs)} weight gradients for a network with "
                        f"{len(weights)} weights",
                    )
                links += list(zip(weights, gs, strict=True))
        value = _with_gradient(value, links)
    return value


def _references(answer: dict, name: str) -> list:
    """The well-formed [where, key, value] entries of an answer's list `name` (a forged answer
    may hold anything; what is not an entry is ignored)."""
    entries = answer.get(name)
    if not isinstance(entries, list):
        return []
    return [
        e for e in entries if isinstance(e, list) and len(e) == 3 and e[0] in ("args", "kwargs")
    ]


def _with_gradient(value: torch.Tensor, links) -> torch.Tensor:
    """A tensor equal to `value` whose gradient with respect to the arguments (tensors, and the
    weights of networks sent along) is the one the student's code computed,
    value + sum(g * (x - x.detach())): backward() works as usual."""
    out = value.detach().clone()
    linked = False
    for x, g in links:
        if isinstance(g, torch.Tensor) and isinstance(x, torch.Tensor) and x.requires_grad:
            if g.shape != x.shape:
                raise SubmissionError(
                    "GradientMismatch",
                    f"the submission sent a gradient of shape {tuple(g.shape)} for an argument "
                    f"of shape {tuple(x.shape)}",
                )
            out = out + (g.to(x.dtype) * (x - x.detach())).sum().to(out.dtype)
            linked = True
    return out if linked else out.requires_grad_(True)


class RemoteName:
    """A name the student's cells define (a class, function or object), looked up in their
    process each time it is used."""

    lives_in_sandbox = True
    is_module = False

    def __init__(self, submission: Submission, name: str, kind: str) -> None:
        self.submission, self.name, self.kind = submission, name, kind
        self.type_name = "type" if kind == "class" else kind

    def __call__(self, *args, **kwargs) -> Any:
        return _call(self.submission, {"name": self.name}, args, kwargs)

    def __repr__(self) -> str:
        return f"<{self.kind} {self.name} of the submission>"


class RemoteObject:
    """An object in the student's process (by handle)."""

    lives_in_sandbox = True
    is_module = False

    def __init__(self, submission: Submission, handle: wire.Handle, generation: int) -> None:
        self.submission, self.handle, self.generation = submission, handle, generation
        self.type_name = handle.type_name

    def _check_alive(self) -> None:
        if self.generation != self.submission.generation:
            raise SubmissionDied("this object was lost when the submission's process restarted")

    def __call__(self, *args, **kwargs) -> Any:
        self._check_alive()
        return _call(self.submission, {"handle": self.handle.id}, args, kwargs)

    def __repr__(self) -> str:
        return f"<{self.type_name} in the submission>"


class RemoteModule(RemoteObject):
    """A network in the student's process: answers the `probe.ModuleProbe` questions, and the
    few nn.Module calls a visible test uses (calling it, eval/train, parameters)."""

    is_module = True

    def _probe(self, method: str, *args, **kwargs) -> Any:
        self._check_alive()
        message = {"op": "probe", "handle": self.handle.id, "method": method}
        answer = self.submission.ask({**message, "args": list(args), "kwargs": kwargs})
        return self.submission.wrap(answer.get("value"))

    def describe(self) -> dict:
        return self._probe("describe")

    def parameter_list(self) -> list[dict]:
        return self._probe("parameter_list")

    def layers(self, input_shape) -> dict:
        return self._probe("layers", tuple(input_shape))

    def load(self, input_shape, tensors) -> None:
        self._probe("load", tuple(input_shape), list(tensors))

    def forward(self, inputs, train=None, seed=None, device=None) -> dict:
        return self._probe("forward", inputs, train=train, seed=seed, device=device)

    def gradients(self, inputs, seed=0) -> dict:
        return self._probe("gradients", inputs, seed=seed)

    def set_mode(self, train: bool) -> dict:
        return self._probe("set_mode", bool(train))

    def copy(self) -> RemoteModule:
        return self._probe("copy")

    def course_forwards(self, inputs) -> list[str]:
        return self._probe("course_forwards", inputs)

    # -- the nn.Module surface a visible test may use ---------------------------------------

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        answer = self.forward(inputs)
        if answer.get("output") is None:
            raise TypeError(f"the network returned {answer.get('returned')}, not a tensor")
        return answer["output"]

    def eval(self) -> RemoteModule:
        self.set_mode(False)
        return self

    def train(self, mode: bool = True) -> RemoteModule:
        self.set_mode(mode)
        return self

    @property
    def training(self) -> bool:
        return bool(self.describe()["training"])

    def named_parameters(self):
        for p in self.parameter_list():
            value = torch.nn.Parameter(p["value"], requires_grad=bool(p["requires_grad"]))
            yield p["name"], value

    def parameters(self):
        for _, value in self.named_parameters():
            yield value
