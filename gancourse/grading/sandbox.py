"""Where student code runs while it is graded: a bubblewrap sandbox, or nowhere.

Each submission's code runs in a fresh set of Linux namespaces made by bubblewrap (`bwrap`,
Debian package `bubblewrap`), whatever user grades and wherever Python is installed:

- its own mount namespace holding only the read-only environment (/usr, the Python installation,
  the virtual environment's packages) and one empty working folder: the course root, the
  gradebook, the source notebooks and every other submission do not exist there. In place of the
  gancourse package it sees `package_view()`: the worker and stubs, without the course's
  reference networks, losses, tricks and metrics, so a submission cannot compute its answers
  with them;
- its own network namespace (loopback only), PID namespace (it sees only its own processes, and
  every process it starts dies with it), IPC and UTS namespaces;
- as root, the real user `nobody` with no capabilities (as another user, that user, with none);
- limits on address space and CPU time (setrlimit through `prlimit`), and the grader's time limits.

`check_isolation()` proves these on this machine with a probe sandbox before any grading starts.
If a guarantee cannot be given, grading stops with `SandboxUnavailable`, unless the instructor
passes `unsafe=True` (`course.py autograde --unsafe`): then student code runs in a plain process
with the limits only, and every feedback page says which guarantees held.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import gancourse

SANDBOX_USER_ID = 65534  # nobody
TMP_BYTES = 512 << 20  # the sandbox's /tmp (a tmpfs: memory)
WORK_BYTES = 512 << 20  # its working folder /submission (a tmpfs too: never the grader's disk)
FILE_BYTES = 1 << 30  # the largest file it may write (where --unsafe leaves no tmpfs cap)
PROCESSES = 4096  # processes and threads of the user nobody
WORKDIR = "/submission"


@dataclass(frozen=True)
class SandboxLimits:
    """Limits for one submission."""

    wall_s: int = 900  # the whole notebook
    cell_s: int = 120  # one cell, or one question of a test
    memory_mb: int | None = 6144  # address space; None = no limit (needed with CUDA, see docs)
    cpu_s: int | None = 1800  # CPU seconds, all threads together
    network: bool = False  # allow network access


class SandboxUnavailable(RuntimeError):
    """This machine cannot isolate student code; the message says what is missing."""


@dataclass(frozen=True)
class Isolation:
    """What the sandbox guarantees on this machine (checked by a probe, not assumed)."""

    guarantees: tuple[str, ...]
    missing: tuple[str, ...] = ()
    unsafe: bool = False
    bwrap: bool = False

    def report(self) -> list[str]:
        lines = [f"held: {g}" for g in self.guarantees]
        lines += [f"NOT held: {m}" for m in self.missing]
        if self.unsafe:
            lines.append("graded with --unsafe: student code could read what the grader reads")
        return lines


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


PACKAGE = Path(gancourse.__file__).resolve().parent
# The only parts of gancourse the sandbox sees: the worker, its wire format and probes, and what
# they import. No reference network, loss, trick or metric: a submission cannot use them.
VIEW_FILES = (
    "checks.py",
    "models/base.py",
    "models/summary.py",
    "grading/wire.py",
    "grading/probe.py",
    "grading/worker.py",
)
_STUB = '''"""gancourse while a notebook is graded: the course's code is not available here."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(
        f"{__name__}.{name} is not available while your notebook is graded: the grader runs "
        f"only your own code (and the tests run in the grader, outside your notebook)"
    )
'''
_GRADING_STUB = '''"""gancourse.grading while a notebook is graded: the checks run in the grader."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in ("wire", "probe", "worker"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")

    def elsewhere(*args, **kwargs):
        raise RuntimeError(f"gancourse.grading.{name} runs in the grader, not in your notebook")

    return elsewhere
'''


@functools.cache
def package_view() -> Path:
    """A folder that stands in for the gancourse package inside the sandbox (made once per
    grading process, deleted at exit)."""
    root = Path(tempfile.mkdtemp(prefix="gancourse-view-"))
    atexit.register(shutil.rmtree, root, True)
    view = root / "gancourse"
    for relative in VIEW_FILES:
        target = view / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PACKAGE / relative, target)
    for package in ("", "models"):
        (view / package / "__init__.py").write_text(_STUB)
    (view / "grading" / "__init__.py").write_text(_GRADING_STUB)
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return view


def _environment_paths() -> list[str]:
    """Read-only folders the worker needs: the interpreter and its packages."""
    paths = {sys.base_prefix, sys.prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    paths.add(str(Path(sys.executable).resolve().parent))
    existing = sorted(p for p in (os.path.realpath(p) for p in paths) if os.path.isdir(p))
    # keep only the outermost folders
    return [p for p in existing if not any(p != q and p.startswith(q + os.sep) for q in existing)]


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf"):
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _nvidia_binds() -> list[str]:
    return [a for d in sorted(Path("/dev").glob("nvidia*")) for a in ("--dev-bind", str(d), str(d))]


def bwrap_command(inner: list[str], limits: SandboxLimits) -> list[str]:
    """`inner` wrapped in bubblewrap (and, as root, a switch to `nobody`)."""
    binds: list[str] = []
    made: set[str] = set()
    mounts = [(path, path) for path in _environment_paths()]
    mounts.append((str(package_view()), str(PACKAGE)))  # over the real package, wherever it is
    bound: list[str] = []
    for source, path in mounts:
        parent = os.path.dirname(path)
        ancestors = []
        while parent not in ("/", "/tmp", "") and parent not in made and parent[:4] != "/usr":
            if any(parent == b or parent.startswith(b + os.sep) for b in bound):
                break  # already there, inside a folder bound before
            ancestors.append(parent)
            parent = os.path.dirname(parent)
        for directory in reversed(ancestors):
            binds += ["--perms", "0755", "--dir", directory]
            made.add(directory)
        if not path.startswith("/usr/") or source != path:
            binds += ["--ro-bind", source, path]
            bound.append(path)
    cmd = ["bwrap", "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid"]
    cmd += ["--unshare-uts", "--unshare-cgroup-try"]
    if not limits.network:
        cmd.append("--unshare-net")
    if _is_root():
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-user", "--cap-drop", "ALL"]
    # /tmp first: the environment may live under /tmp (a CI checkout), and binds go on top
    cmd += ["--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]  # capped RAM
    cmd += _system_binds() + binds + _nvidia_binds()
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    # the working folder is a capped tmpfs as well: what a submission writes can fill neither
    # the grader's disk nor the gradebook's, and it vanishes with the sandbox
    cmd += ["--perms", "1777", "--size", str(WORK_BYTES), "--tmpfs", WORKDIR]
    cmd += ["--chdir", "/", "--hostname", "sandbox"]
    cmd += ["--clearenv"]
    for key, value in _sandbox_env().items():
        cmd += ["--setenv", key, value]
    if _is_root():
        uid = str(SANDBOX_USER_ID)
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        cmd += ["--inh-caps=-all", "--"]
    return cmd + _limited(inner, limits)


def _limited(inner: list[str], limits: SandboxLimits) -> list[str]:
    options = [f"--fsize={FILE_BYTES}"]  # no file larger than this in the working folder
    if _is_root():  # processes of the sandbox user, all sandboxes of this machine together
        options.append(f"--nproc={PROCESSES}")
    if limits.memory_mb:
        options.append(f"--as={limits.memory_mb * 1024 * 1024}")
    if limits.cpu_s:
        options.append(f"--cpu={limits.cpu_s}")
    if options and shutil.which("prlimit"):
        return ["prlimit", *options, "--", *inner]
    return inner


def _sandbox_env() -> dict[str, str]:
    """A minimal environment: no secrets of the grader's, a home in the working folder."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": WORKDIR,
        "TMPDIR": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "MPLBACKEND": "agg",
        "IPYTHONDIR": "/tmp/ipython",
        "PYTHONDONTWRITEBYTECODE": "1",
        "NBGRADER_EXECUTION": "autograde",
        "OMP_NUM_THREADS": os.environ.get("GANCOURSE_SANDBOX_THREADS", "1"),
        "LANG": "C.UTF-8",
    }
    for key in ("CUDA_VISIBLE_DEVICES", "GANCOURSE_SIZE"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def storage_hint(evalue: str) -> str:
    """`evalue` with the sandbox's storage limits named when an error says they were hit."""
    if "No space left on device" in evalue or "Errno 28" in evalue:
        return (
            f"{evalue} (while it is graded, your notebook may write at most "
            f"{WORK_BYTES >> 20} MiB in its working folder and {TMP_BYTES >> 20} MiB in /tmp: "
            f"write fewer or smaller files)"
        )
    if "File too large" in evalue or "Errno 27" in evalue:
        return f"{evalue} (while it is graded, no file may be larger than {FILE_BYTES >> 30} GiB)"
    return evalue


def plain_command(inner: list[str], limits: SandboxLimits) -> list[str]:
    """--unsafe: a separate process with the limits only."""
    return _limited(inner, limits)


def plain_env(work: Path) -> dict[str, str]:
    env = _sandbox_env()
    env.update(HOME=str(work), MPLCONFIGDIR=str(work / ".mpl"), IPYTHONDIR=str(work / ".ipy"))
    return env


@functools.cache
def _probe_isolation(network: bool) -> Isolation:
    if shutil.which("bwrap") is None:
        return Isolation((), ("bubblewrap (bwrap) is not installed: apt-get install bubblewrap",))
    with tempfile.TemporaryDirectory(prefix="gancourse-probe-") as tmp:
        canary = Path(tmp) / "canary"
        canary.mkdir()
        (canary / "secret").write_text("gradebook")
        script = (
            f"cd {WORKDIR}; test ! -e {canary} && echo hidden; "
            f"test $(stat -f -c %T {WORKDIR}) = tmpfs && echo capped; "
            "test $$ -le 10 && echo pids; "
            "id -u; "
            "(cat /proc/net/dev | grep -v -E 'lo:|Inter|face' | grep -q . && echo net) || "
            "echo nonet; "
            f"touch {WORKDIR}/written && echo writes"
        )
        limits = SandboxLimits(network=network, memory_mb=None, cpu_s=None)
        cmd = bwrap_command(["/bin/sh", "-c", script], limits)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as error:
            return Isolation((), (f"bubblewrap could not start: {error}",))
        out = proc.stdout.split()
        if proc.returncode != 0 or "writes" not in out:
            why = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            return Isolation((), (f"bubblewrap does not work here: {why[0]}",))
    held, missing = [], []
    held.append(
        "student code sees only its own working folder and the read-only Python environment "
        "(no course root, gradebook, source notebooks or other submissions)"
    )
    (held if "hidden" in out else missing).append("files outside the sandbox are hidden")
    (held if "pids" in out else missing).append(
        "its own process namespace: every process it starts is killed with it"
    )
    if not network:
        (held if "nonet" in out else missing).append("no network (loopback only)")
    (held if "capped" in out else missing).append(
        f"what it writes is capped: {WORK_BYTES >> 20} MiB in its working folder and "
        f"{TMP_BYTES >> 20} MiB in /tmp, both in memory (tmpfs), never on the grader's disk"
    )
    uid = next((w for w in out if w.isdigit()), "?")
    if _is_root():
        (held if uid == str(SANDBOX_USER_ID) else missing).append(
            "runs as the unprivileged user nobody, with no capabilities"
        )
    else:
        held.append(f"runs as the grading user (uid {os.getuid()}) without capabilities")
    if shutil.which("prlimit"):
        held.append("memory (address space) and CPU-time limits")
    else:
        missing.append("memory and CPU-time limits: prlimit (util-linux) is not installed")
    return Isolation(tuple(held), tuple(missing), bwrap="hidden" in out)


def check_isolation(limits: SandboxLimits | None = None, unsafe: bool = False) -> Isolation:
    """What the sandbox guarantees here; SandboxUnavailable if it cannot isolate student code
    (unless `unsafe`, which then grades without the sandbox and says so)."""
    limits = limits or SandboxLimits()
    isolation = _probe_isolation(limits.network)
    if isolation.bwrap and not isolation.missing:
        return isolation
    if unsafe:
        return Isolation(
            ("one separate process per submission, with time limits",),
            (*isolation.missing, "student code is NOT isolated from the grader's files"),
            unsafe=True,
        )
    raise SandboxUnavailable(
        "this machine cannot isolate student code: "
        + "; ".join(isolation.missing or ("bubblewrap failed",))
        + ". Install bubblewrap (apt-get install bubblewrap) or grade on a machine that has "
        "it; to grade anyway without isolation, pass --unsafe."
    )


def isolation_report(limits: SandboxLimits | None = None) -> list[str]:
    """What the sandbox does on this machine, one line per guarantee (or its absence)."""
    limits = limits or SandboxLimits()
    isolation = _probe_isolation(limits.network)
    lines = isolation.report()
    lines.append(
        f"time limits: {limits.cell_s} s per cell or test question, {limits.wall_s} s per "
        f"notebook; memory {limits.memory_mb or 'unlimited'} MB, "
        f"CPU {limits.cpu_s or 'unlimited'} s"
    )
    if not (isolation.bwrap and not isolation.missing):
        lines.append("grading refuses to run here unless --unsafe is given")
    return lines


@dataclass
class Workspace:
    """A fresh working folder for one submission, writable by the sandbox user."""

    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="gancourse-submission-")
        self.path = Path(self._tmp.name) / "work"
        self.path.mkdir()
        if _is_root():
            os.chown(self.path, SANDBOX_USER_ID, SANDBOX_USER_ID)
        os.chmod(self.path, 0o700)

    def cleanup(self) -> None:
        """Delete the folder whatever the student left in it (rm -rf: no recursion limit)."""
        subprocess.run(["rm", "-rf", "--one-file-system", self._tmp.name], check=False)
        if os.path.exists(self._tmp.name):
            self._tmp.cleanup()
