"""The submission's side of grading: runs inside the sandbox, executes the student's cells and
answers the grader's questions with data.

    python -m gancourse.grading.worker      # stdin/stdout carry `wire` messages

Nothing this process says is trusted: the grader decides every verdict itself from the answers
(values returned on the grader's inputs, network outputs on the grader's weights). A student
who changes this process can only change the answers, and the only answers that pass are the
right ones. Requests:

- exec {source}: run a cell with IPython (magics work), capturing its output;
- call {name | handle, args, kwargs, rng}: call a function or object of the notebook;
  tensors changed in place and torch generators' states come back, so the grader sees them,
  and so does the gradient of a one-number answer with respect to the tensors that require it
  and to the weights of the grader's networks among the arguments (`wire.GraderNetwork`);
- probe {handle, method, args}: a `probe.ModuleProbe` question about a network.

The gancourse package this process sees (`sandbox.package_view`) holds only this worker, its
wire format and probes, and stubs: the course's reference networks, losses, tricks and metrics
are not there, so a submission cannot compute its answers with them.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
import traceback
from typing import Any

OUTPUT_LIMIT = 64 * 1024  # characters of stdout/stderr kept per cell


class CappedText(io.TextIOBase):
    """A text stream that keeps the first OUTPUT_LIMIT characters."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.dropped = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        if self.size < OUTPUT_LIMIT:
            keep = text[: OUTPUT_LIMIT - self.size]
            self.parts.append(keep)
            self.size += len(keep)
        if self.size >= OUTPUT_LIMIT and len(text):
            self.dropped = True
        return len(text)

    def value(self) -> str:
        return "".join(self.parts) + ("\n[output truncated]\n" if self.dropped else "")


class Worker:
    def __init__(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()
        try:  # plain tracebacks in the feedback, not terminal colour codes
            self.shell.run_line_magic("colors", "nocolor")
        except Exception:  # noqa: BLE001  (an IPython without the option: colours stay)
            pass
        self.ns = self.shell.user_ns
        self.builtin_names = set(self.ns)
        self.handles: dict[int, Any] = {}
        self.by_id: dict[int, int] = {}

    # -- handles ----------------------------------------------------------------------------

    def to_handle(self, obj: Any):
        from torch import nn

        from gancourse.grading.wire import Handle

        key = id(obj)
        if key not in self.by_id:
            number = len(self.handles) + 1
            self.handles[number] = obj
            self.by_id[key] = number
        kind = "type" if isinstance(obj, type) else type(obj).__name__
        return Handle(self.by_id[key], kind, isinstance(obj, nn.Module))

    def from_handle(self, handle) -> Any:
        if handle.id not in self.handles:
            raise KeyError(f"no object {handle.id} in this process")
        return self.handles[handle.id]

    # -- requests ---------------------------------------------------------------------------

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        try:
            if op == "exec":
                return self.execute(str(request["source"]))
            if op == "call":
                return self.call(request)
            if op == "probe":
                return self.probe(request)
            return {"error": _error(ValueError(f"unknown request {op!r}"))}
        except BaseException as error:  # noqa: BLE001  (report everything, keep serving)
            if isinstance(error, KeyboardInterrupt):
                raise
            return {"error": _error(error)}

    def execute(self, source: str) -> dict:
        out, err = CappedText(), CappedText()
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            result = self.shell.run_cell(source, store_history=False, silent=False)
        finally:
            sys.stdout, sys.stderr = old
        error = result.error_before_exec or result.error_in_exec
        return {
            "stdout": out.value(),
            "stderr": err.value(),
            "error": _error(error) if error is not None else None,
            "names": self.names(),
        }

    def names(self) -> dict[str, str]:
        """The notebook's own names and what each is (class, function, module, object)."""
        import types

        out = {}
        for name, value in self.ns.items():
            if name.startswith("_") or name in self.builtin_names:
                continue
            if isinstance(value, types.ModuleType):
                out[name] = "module"
            elif isinstance(value, type):
                out[name] = "class"
            elif callable(value):
                out[name] = "function"
            else:
                out[name] = "object"
        return out

    def _target(self, request: dict) -> Any:
        if request.get("handle") is not None:
            obj = self.handles[int(request["handle"])]
        else:
            name = str(request["name"])
            if name not in self.ns:
                raise NameError(f"name {name!r} is not defined")
            obj = self.ns[name]
        return obj

    def call(self, request: dict) -> dict:
        import torch

        from gancourse.grading.wire import GraderNetwork

        target = self._target(request)
        args, kwargs = list(request.get("args", [])), dict(request.get("kwargs", {}))
        slots = [("args", i, v) for i, v in enumerate(args)]
        slots += [("kwargs", k, v) for k, v in kwargs.items()]
        leaves, tensor_slots = [], []
        for where, key, value in slots:
            if isinstance(value, torch.Tensor):
                if value.requires_grad is False and key in request.get("grad", {}).get(where, []):
                    value.requires_grad_(True)
                if value.requires_grad:
                    leaves.append((where, key, value))
                tensor_slots.append((where, key))
        networks = [(where, key, v) for where, key, v in slots if isinstance(v, GraderNetwork)]
        weights = [(where, key, list(v.parameters())) for where, key, v in networks]
        if request.get("rng") is not None:
            torch.set_rng_state(request["rng"])
        value = target(*args, **kwargs)
        answer: dict[str, Any] = {"value": value}
        answer["rng"] = torch.get_rng_state()
        # every tensor argument goes back as it is now: the grader compares it with its own
        # copy (a comparison here would use torch functions the submission can replace)
        answer["mutated"] = [
            [where, key, (args[key] if where == "args" else kwargs[key]).detach()]
            for where, key in tensor_slots
        ]
        answer["generators"] = [
            [where, key, v.get_state()] for where, key, v in slots if isinstance(v, torch.Generator)
        ]
        if isinstance(value, torch.Tensor):
            answer["requires_grad"] = bool(value.requires_grad)
            inputs = [v for _, _, v in leaves] + [p for _, _, ps in weights for p in ps]
            if value.requires_grad and value.numel() == 1 and inputs:
                grads = list(torch.autograd.grad(value.sum(), inputs, allow_unused=True))
                answer["grads"] = [[where, key, grads.pop(0)] for where, key, _ in leaves]
                answer["network_grads"] = [
                    [where, key, [grads.pop(0) for _ in ps]] for where, key, ps in weights
                ]
        return answer

    def probe(self, request: dict) -> dict:
        from gancourse.grading.probe import ModuleProbe

        model = self.handles[int(request["handle"])]
        method = str(request["method"])
        if method.startswith("_") or not hasattr(ModuleProbe, method):
            raise ValueError(f"unknown probe {method!r}")
        result = getattr(ModuleProbe(model), method)(
            *request.get("args", []), **request.get("kwargs", {})
        )
        return {"value": result}


def _error(error: BaseException) -> dict:
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return {
        "ename": type(error).__name__,
        "evalue": str(error)[:4000],
        "traceback": "".join(lines)[-8000:],
    }


def main() -> int:
    home = os.environ.get("HOME")
    if home and os.path.isdir(home):
        os.chdir(home)  # the working folder (bubblewrap starts in /, before the user switch)
    # The protocol keeps the original stdin/stdout; the student's prints go elsewhere.
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    importlib.import_module("torch")
    from gancourse.grading import wire

    worker = Worker()
    wire.send(proto_out, {"ready": True, "pid": os.getpid()})
    while True:
        try:
            request = wire.receive(proto_in, from_handle=worker.from_handle, networks=True)
        except wire.WireError:
            return 0
        reply = worker.handle(request)
        try:
            wire.send(proto_out, reply, to_handle=worker.to_handle)
        except TypeError as error:  # an answer that is not data: say so instead
            wire.send(proto_out, {"error": _error(error)})


if __name__ == "__main__":
    raise SystemExit(main())
