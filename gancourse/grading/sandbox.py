"""Run a student's notebook in a sandbox: its own process, limits, no network, no course files.

Autograding executes untrusted code. nbgrader runs it in a kernel with the grader's rights, next
to the gradebook, the hidden tests and every other submission. Here each notebook is executed by
a separate process (`python -m gancourse.grading.run_notebook`) in an empty temporary folder,
wrapped in the isolation this machine offers:

- `timeout`: a wall-clock limit for the whole notebook (cells also have their own timeout);
- `prlimit`: an address-space limit (memory) and a CPU-time limit;
- `unshare --net` (as root): a network namespace with only a loopback interface;
- `setpriv` (as root): the kernel runs as an unprivileged user (`nobody`), so with the course
  folder kept private (mode 0700) it cannot read the gradebook, the hidden tests or other
  submissions, nor write anywhere but its own folder.

What is used is logged, and `isolation_report()` says it in words: without root there is no user
switch and no network namespace, only the limits.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SANDBOX_USER = "nobody"
_DROP_CAPS = ("--inh-caps=-all", "--bounding-set=-all")  # no way back to root's rights


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one submission's notebook."""

    wall_s: int = 900  # the whole notebook
    cell_s: int = 120  # one cell (nbgrader's Execute.timeout)
    memory_mb: int | None = 6144  # address space; None = no limit (needed with CUDA, see docs)
    cpu_s: int | None = 1800  # CPU seconds, all threads together
    network: bool = False  # allow network access


class SandboxAbort(RuntimeError):
    """The notebook did not finish (time or memory limit, or the runner crashed)."""


def _have(tool: str) -> bool:
    return shutil.which(tool) is not None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _sandbox_ids() -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


@functools.cache
def _can_switch_user() -> bool:
    """Whether the sandbox user can run this Python with gancourse and nbgrader (as root, with
    setpriv). A Python under /root (pyenv) is not readable by 'nobody': then no switch."""
    ids = _sandbox_ids()
    if not (_is_root() and _have("setpriv") and ids):
        return False
    probe = [
        "setpriv",
        f"--reuid={ids[0]}",
        f"--regid={ids[1]}",
        "--clear-groups",
        *_DROP_CAPS,
        "--",
        sys.executable,
        "-c",
        # the runner imports these and starts a kernel with the same Python
        "import subprocess, sys, gancourse.grading.run_notebook, nbgrader; "
        "subprocess.run([sys.executable, '-c', 'pass'], check=True)",
    ]
    try:
        return subprocess.run(probe, capture_output=True, cwd="/", timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def isolation_report(limits: SandboxLimits | None = None) -> list[str]:
    """What the sandbox does on this machine, one line per guarantee (or its absence)."""
    limits = limits or SandboxLimits()
    lines = [
        f"one process per submission; wall-clock limit {limits.wall_s} s, "
        f"{limits.cell_s} s per cell"
    ]
    if _have("prlimit"):
        memory = f"{limits.memory_mb} MB address space" if limits.memory_mb else "no memory limit"
        cpu = f"{limits.cpu_s} CPU-seconds" if limits.cpu_s else "no CPU-time limit"
        lines.append(f"prlimit: {memory}, {cpu}")
    else:
        lines.append("NO memory or CPU-time limit: prlimit (util-linux) is not installed")
    root = _is_root()
    if limits.network:
        lines.append("network allowed (SandboxLimits.network=True)")
    elif root and _have("unshare"):
        lines.append("no network: a private network namespace with only loopback")
    else:
        lines.append("network NOT blocked: needs root and unshare (util-linux)")
    if _can_switch_user():
        lines.append(
            f"runs as user {SANDBOX_USER!r} in an empty temporary folder: no access to files "
            f"that are not world-readable (keep the course folder mode 0700)"
        )
    else:
        lines.append(
            "runs as the grading user: student code CAN read what that user can read (a switch "
            f"to {SANDBOX_USER!r} needs root, setpriv, and a Python that {SANDBOX_USER!r} can run)"
        )
    return lines


def _command(inner: list[str], limits: SandboxLimits) -> list[str]:
    """Wrap `inner` in timeout / prlimit / unshare / setpriv, as far as this machine allows."""
    cmd = list(inner)
    ids = _sandbox_ids()
    root = _is_root()
    if _can_switch_user() and ids:
        uid, gid = ids
        cmd = [
            "setpriv",
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            *_DROP_CAPS,
            "--",
            *cmd,
        ]
    if not limits.network and root and _have("unshare"):
        # A new network namespace starts with loopback down; the kernel talks to its client
        # over 127.0.0.1, so bring it up (as root, before setpriv drops the rights).
        lo_up = "ip link set lo up 2>/dev/null || true; "
        cmd = ["unshare", "--net", "--", "sh", "-c", lo_up + 'exec "$@"', "sandbox", *cmd]
    if _have("prlimit"):
        limits_args = []
        if limits.memory_mb:
            limits_args.append(f"--as={limits.memory_mb * 1024 * 1024}")
        if limits.cpu_s:
            limits_args.append(f"--cpu={limits.cpu_s}")
        if limits_args:
            cmd = ["prlimit", *limits_args, "--", *cmd]
    if _have("timeout"):
        cmd = ["timeout", "--kill-after=10", str(limits.wall_s), *cmd]
    return cmd


def _sandbox_env(work: Path) -> dict[str, str]:
    """A minimal environment: the grader's PATH, a home inside the work folder, no secrets."""
    keep = (
        "PATH",
        "LANG",
        "LC_ALL",
        "CUDA_VISIBLE_DEVICES",
        "GANCOURSE_SIZE",
        "NBGRADER_EXECUTION",
    )
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME=str(work),
        IPYTHONDIR=str(work / ".ipython"),
        JUPYTER_RUNTIME_DIR=str(work / ".runtime"),
        MPLCONFIGDIR=str(work / ".matplotlib"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.setdefault("NBGRADER_EXECUTION", "autograde")
    return env


def execute_in_sandbox(notebook, limits: SandboxLimits, kernel_name: str = "python3"):
    """Execute `notebook` (an nbformat NotebookNode or its dict) in the sandbox and return it
    (a NotebookNode) with outputs. Raises SandboxAbort when it does not finish."""
    import nbformat

    with tempfile.TemporaryDirectory(prefix="gancourse-sandbox-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        source, result = work / "submission.ipynb", Path(tmp) / "executed.ipynb"
        source.write_text(json.dumps(notebook), encoding="utf-8")  # NotebookNode is a dict
        ids = _sandbox_ids() if _can_switch_user() else None
        if ids:
            for path in (work, source):
                os.chown(path, *ids)
            os.chmod(tmp, 0o711)  # the sandbox user may enter, not list
        out_dir = Path(tmp) / "out"
        out_dir.mkdir()
        if ids:
            os.chown(out_dir, *ids)
        inner = [
            sys.executable,
            "-m",
            "gancourse.grading.run_notebook",
            str(source),
            str(out_dir / result.name),
            f"--cell-timeout={limits.cell_s}",
            f"--kernel={kernel_name}",
        ]
        proc = subprocess.run(
            _command(inner, limits),
            cwd=work,
            env=_sandbox_env(work),
            capture_output=True,
            text=True,
        )
        produced = out_dir / result.name
        if proc.returncode != 0 or not produced.is_file():
            raise SandboxAbort(_why(proc, limits))
        return nbformat.read(produced, as_version=4)


def _why(proc: subprocess.CompletedProcess, limits: SandboxLimits) -> str:
    if proc.returncode in (124, 137, -9):
        return f"the notebook did not finish within {limits.wall_s} s (time limit)"
    tail = (proc.stderr or "").strip().splitlines()[-3:]
    if any("MemoryError" in line or "Cannot allocate" in line for line in tail):
        return f"the notebook ran out of memory (limit {limits.memory_mb} MB)"
    return f"the notebook could not be executed (exit {proc.returncode}): {' | '.join(tail)}"
