"""The sandbox and the wire: what student code can reach, what survives its death, and what the
grader accepts from it."""

from __future__ import annotations

import io
import json
import os
import socket
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gancourse.grading import wire
from gancourse.grading.remote import RemoteName, Submission, SubmissionDied, SubmissionError
from gancourse.grading.sandbox import (
    WORK_BYTES,
    SandboxLimits,
    SandboxUnavailable,
    check_isolation,
    isolation_report,
    storage_hint,
)

FAST = SandboxLimits(wall_s=120, cell_s=20, memory_mb=6144, cpu_s=120)


@pytest.fixture
def submission():
    s = Submission(FAST, check_isolation(FAST))
    yield s
    s.close()


def run(s: Submission, source: str):
    result, names = s.run_cell(source)
    return result


def test_this_machine_isolates_student_code_and_says_how():
    isolation = check_isolation(FAST)
    assert isolation.bwrap and not isolation.missing and not isolation.unsafe
    lines = "\n".join(isolation_report(FAST))
    assert "no network" in lines and "process namespace" in lines
    assert "NOT held" not in lines


def test_without_bubblewrap_grading_refuses_unless_unsafe(monkeypatch):
    from gancourse.grading import sandbox

    sandbox._probe_isolation.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda tool: None)
    try:
        with pytest.raises(SandboxUnavailable, match="bubblewrap.*--unsafe"):
            check_isolation(FAST)
        unsafe = check_isolation(FAST, unsafe=True)
        assert unsafe.unsafe and any("NOT isolated" in m for m in unsafe.missing)
        assert any("--unsafe" in line for line in unsafe.report())
    finally:
        sandbox._probe_isolation.cache_clear()


def test_student_code_sees_only_its_folder_and_no_network(submission, tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("grades")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    result = run(
        submission,
        f"""
import os, socket, pathlib
print("uid", os.getuid())
print("secret", pathlib.Path({str(secret)!r}).exists(), pathlib.Path({str(tmp_path)!r}).exists())
print("home", os.getcwd(), sorted(os.listdir("/")))
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("network reached")
except OSError as error:
    print("network", type(error).__name__)
open("notes.txt", "w").write("mine")  # its own folder is writable
print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
""",
    )
    server.close()
    assert result.error is None, result.error
    out = result.stdout
    assert "secret False False" in out
    assert "network reached" not in out and "network " in out
    assert "home /submission" in out
    pids = json.loads(out.split("pids ")[1].splitlines()[0])
    assert max(pids) < 50  # a PID namespace of its own
    if os.geteuid() == 0:
        assert "uid 65534" in out  # nobody, even though the grader is root


def test_a_process_left_behind_is_killed_with_the_submission(tmp_path):
    token = f"gancourse-linger-{time.time_ns()}"
    s = Submission(FAST, check_isolation(FAST))
    result = run(
        s,
        "import subprocess\n"
        f"subprocess.Popen(['sh', '-c', 'sleep 300; echo {token}'], start_new_session=True)\n",
    )
    assert result.error is None, result.error
    assert subprocess.run(["pgrep", "-f", token], capture_output=True).returncode == 0
    s.close()
    time.sleep(0.5)
    assert subprocess.run(["pgrep", "-f", token], capture_output=True).returncode == 1


def test_a_death_costs_only_the_cell_that_died(submission):
    assert run(submission, "def first():\n    return 1\n").error is None
    died = run(submission, "import os\nos._exit(3)\n")
    assert died.fatal and "exited with code 3" in died.error["evalue"]
    after = run(submission, "print(first() + 1)\n")  # restarted, earlier cells replayed
    assert after.error is None and after.stdout == "2\n"


def test_a_cell_that_runs_forever_is_stopped_and_grading_goes_on():
    s = Submission(SandboxLimits(wall_s=120, cell_s=3, memory_mb=6144), check_isolation(FAST))
    try:
        assert run(s, "x = 41\n").error is None
        stuck = run(s, "while True:\n    pass\n")
        assert stuck.fatal and "time limit" in stuck.error["evalue"]
        assert run(s, "print(x + 1)\n").stdout == "42\n"
    finally:
        s.close()


def test_memory_beyond_the_limit_fails_in_the_cell(submission):
    result = run(submission, "block = bytearray(8 * 1024**3)\n")
    assert result.error is not None and "MemoryError" in result.error["ename"]


def test_calls_mirror_in_place_changes_generators_rng_and_gradients(submission):
    run(
        submission,
        "import torch\n"
        "def noisy(x, std, generator=None):\n"
        "    x += std * torch.randn(x.shape, generator=generator)\n"
        "    return x\n"
        "def loss(p):\n"
        "    return (p ** 2).sum()\n"
        "def boom(p):\n"
        "    raise ValueError('bad input')\n",
    )
    noisy = RemoteName(submission, "noisy", "function")
    x = torch.zeros(3)
    g = torch.Generator().manual_seed(0)
    out = noisy(x, 1.0, generator=g)
    assert torch.equal(x, out) and x.abs().sum() > 0  # the in-place change came back
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state()) is False
    torch.manual_seed(5)
    a = noisy(torch.zeros(2), 1.0)
    torch.manual_seed(5)
    b = noisy(torch.zeros(2), 1.0)
    assert torch.equal(a, b)  # the grader's global seed reached the sandbox
    p = torch.tensor([1.0, -2.0], requires_grad=True)
    value = RemoteName(submission, "loss", "function")(p)
    value.backward()
    assert value.item() == 5.0 and torch.equal(p.grad, torch.tensor([2.0, -4.0]))
    with pytest.raises(SubmissionError, match="ValueError: bad input"):
        RemoteName(submission, "boom", "function")(p)


def test_the_wire_carries_data_and_refuses_everything_else():
    blobs: list[bytes] = []
    value = {
        "t": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "b": torch.ones(2, dtype=torch.bfloat16),
        "a": np.eye(2),
        "c": complex(1, -2),
        "s": np.float64(2.5),
        "nan": float("nan"),
        "tuple": (1, "x", None),
    }
    back = wire.decode(wire.encode(value, blobs), blobs)
    assert torch.equal(back["t"], value["t"]) and back["b"].dtype == torch.bfloat16
    assert np.array_equal(back["a"], np.eye(2)) and back["c"] == complex(1, -2)
    assert back["s"] == 2.5 and back["tuple"] == (1, "x", None) and np.isnan(back["nan"])
    with pytest.raises(TypeError):
        wire.encode(object(), [])
    bad = [
        {"$": "tensor", "dtype": "float32", "shape": [1000], "blob": 0},  # too few bytes
        {"$": "tensor", "dtype": "object", "shape": [1], "blob": 0},
        {"$": "ndarray", "dtype": "O", "shape": [1], "blob": 0},
        {"$": "pickle", "data": "gASV"},
    ]
    for data in bad:
        with pytest.raises(wire.WireError):
            wire.decode(data, [b"1234"])
    huge = io.BytesIO(struct.pack("<I", 0) + struct.pack("<I", 2**30))
    with pytest.raises(wire.WireError, match="too large"):
        wire.receive(huge)


def test_a_grader_network_travels_as_layers_and_weights_and_only_to_the_submission():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(6, 5), torch.nn.LeakyReLU(0.2), torch.nn.Linear(5, 1)
    )
    blobs: list[bytes] = []
    data = wire.encode({"critic": net}, blobs)
    rebuilt = wire.decode(data, blobs, networks=True)["critic"]
    assert isinstance(rebuilt, wire.GraderNetwork)
    x = torch.randn(4, 2, 3)
    assert torch.equal(rebuilt(x), net(x))
    assert rebuilt[2].negative_slope == 0.2
    with pytest.raises(wire.WireError, match="only be sent to the submission"):
        wire.decode(data, blobs)  # the grader never rebuilds what the sandbox sends
    with pytest.raises(TypeError, match="may hold only"):
        wire.encode(torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3)), [])
    with pytest.raises(TypeError, match="must be an nn.Sequential"):
        wire.encode(torch.nn.Linear(2, 1), [])
    # weights that do not fit the layer they claim, and a layer that would allocate terabytes
    layer = data["items"]["critic"]["layers"][1]
    layer["args"]["in_features"] = 7
    with pytest.raises(wire.WireError, match="shapes"):
        wire.decode(data, blobs, networks=True)
    layer["args"].update(in_features=10**6, out_features=10**6)
    layer["params"] = []
    with pytest.raises(wire.WireError, match="shapes"):
        wire.decode(data, blobs, networks=True)


PENALTY = """
import torch

def penalty(critic, real, eps, create_graph=True):
    x = (eps * real).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=create_graph)
    return ((g.norm(dim=1) - 1) ** 2).mean()
"""


def test_the_gradient_of_an_answer_reaches_the_weights_of_the_network_sent_along(submission):
    run(submission, PENALTY)
    torch.manual_seed(1)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, eps = torch.randn(16, 2), torch.rand(16, 1)
    namespace: dict = {}
    exec(PENALTY, namespace)
    want = namespace["penalty"](critic, real, eps)
    want.backward()
    expected = [p.grad.clone() for p in critic.parameters() if p.grad is not None]
    critic.zero_grad(set_to_none=True)
    got = RemoteName(submission, "penalty", "function")(critic, real, eps)
    assert torch.allclose(got, want.detach())
    got.backward()
    grads = [p.grad for p in critic.parameters() if p.grad is not None]
    assert len(grads) == len(expected) == 3  # the last bias does not change the slope
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads, expected, strict=True))
    # without create_graph the answer has no graph, and the grader sees that
    flat = RemoteName(submission, "penalty", "function")(critic, real, eps, create_graph=False)
    assert not flat.requires_grad


FORGED_GRADIENTS = """
import gc

worker = next(o for o in gc.get_objects() if type(o).__name__ == "Worker")
honest = worker.call


def forged(request):
    answer = honest(request)
    if answer.get("network_grads"):
        answer["network_grads"] = [["args", 0, FORGED], ["args", 99, []], 7]
    return answer


worker.call = forged
"""


@pytest.mark.parametrize(
    ("forged", "message"),
    [
        ("[torch.zeros(3, 3)] * 4", "a gradient of shape"),  # 4 weights, the wrong shapes
        ("[torch.zeros(8, 2)]", "1 weight gradients for a network with 4"),
    ],
)
def test_forged_weight_gradients_are_refused_not_trusted(submission, forged, message):
    run(submission, PENALTY)
    critic = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, eps = torch.randn(16, 2), torch.rand(16, 1)
    run(submission, FORGED_GRADIENTS.replace("FORGED", forged))
    with pytest.raises(SubmissionError, match=message):
        RemoteName(submission, "penalty", "function")(critic, real, eps)


def test_in_place_changes_travel_back_but_not_a_new_shape(submission):
    run(
        submission,
        "import torch\n"
        "def scale(x):\n    x.mul_(2)\n    return x.sum()\n"
        "def grow(x):\n    x.data = torch.zeros(10_000_000)\n    return 0\n",
    )
    x = torch.ones(3)
    assert RemoteName(submission, "scale", "function")(x) == 6 and torch.equal(x, 2 * torch.ones(3))
    with pytest.raises(SubmissionError, match="not their shape or dtype"):
        RemoteName(submission, "grow", "function")(x)  # would size the grader's memory
    assert x.shape == (3,)


def test_an_in_place_change_cannot_be_hidden_by_patching_torch_in_the_sandbox(submission):
    run(
        submission,
        "import torch\n"
        "torch.equal = lambda *args, **kwargs: True\n"
        "torch.Tensor.equal = lambda *args, **kwargs: True\n"
        "def sneaky(x):\n    x.add_(1)\n    return x.sum()\n",
    )
    x = torch.zeros(4)
    RemoteName(submission, "sneaky", "function")(x)
    assert torch.equal(x, torch.ones(4))  # compared in the grader, with the grader's torch


def _notebook(*cells):
    import nbformat

    def code(source, **nbgrader):
        cell = nbformat.v4.new_code_cell(source)
        if nbgrader:
            cell.metadata["nbgrader"] = {"schema_version": 3, "locked": True, **nbgrader}
        return cell

    return nbformat.v4.new_notebook(cells=[code(s, **m) for s, m in cells])


def test_each_graded_notebook_starts_from_the_same_rng_state_whatever_came_before():
    from gancourse.grading.notebook_grader import grade_notebook

    poison = (
        "import torch\n"
        "def f(x):\n    s = torch.get_rng_state()\n    s[24:5016] = 0\n"
        "    torch.set_rng_state(s)\n    return x\n",
        {"solution": True, "locked": False, "grade_id": "f_solution"},
    )
    draw = (
        "import torch\nprint(torch.rand(3).tolist())\nf(1)\n",
        {"grade": True, "grade_id": "t", "points": 1},
    )
    outputs = []
    torch.manual_seed(123)
    before = torch.get_rng_state()
    for _ in range(2):
        graded = grade_notebook(_notebook(poison, draw), FAST, check_isolation(FAST))
        outputs.append(graded.cells[-1].outputs[0]["text"])
        assert torch.equal(torch.get_rng_state(), before)  # the grader's own state is back
    # the second notebook drew what the first did: the first one's poison did not carry over
    assert outputs[0] == outputs[1] and "0.0, 0.0" not in outputs[1]


GARBAGE = """
import os
for fd in map(int, os.listdir("/proc/self/fd")):
    try:
        if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
            os.write(fd, b"\\xff" * 64)  # into the answers the grader reads
    except OSError:
        pass
"""


def test_the_grader_survives_a_worker_that_speaks_garbage():
    s = Submission(FAST, check_isolation(FAST))
    try:
        run(s, "def f():\n    return 1\n")
        run(s, "import os\nos.write(1, b'garbage' * 100)\n")  # fd 1 is not the protocol
        assert RemoteName(s, "f", "function")() == 1
        broken = run(s, GARBAGE)
        assert broken.fatal  # the grader refused the stream and stopped that process
        assert RemoteName(s, "f", "function")() == 1  # a fresh one, earlier cells replayed
    finally:
        s.close()


def test_a_hostile_notebook_cannot_write_outside_its_folder():
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "owned"
        s = Submission(FAST, check_isolation(FAST))
        try:
            result = run(s, f"open({str(target)!r}, 'w').write('x')\n")
        finally:
            s.close()
        assert result.error is not None and not target.exists()


def test_the_course_reference_is_not_in_the_sandbox(submission):
    built = run(submission, "import gancourse as gc\nG = gc.build_generator('vanilla')\n")
    assert built.error["ename"] == "AttributeError"
    assert "not available while your notebook is graded" in built.error["evalue"]
    for module in ("gancourse.losses", "gancourse.models.vanilla", "gancourse.metrics"):
        assert run(submission, f"import {module}\n").error["ename"] == "ModuleNotFoundError"
    # what a notebook's set-up cell imports still imports; the checks run in the grader
    assert run(submission, "from gancourse.grading import check_output_shape\n").error is None


def test_a_worker_that_stops_reading_cannot_hang_the_grader():
    s = Submission(SandboxLimits(wall_s=120, cell_s=4, memory_mb=6144), check_isolation(FAST))
    try:
        run(
            s,
            "import sys, time\n"
            "def stuck(*args, **kwargs):\n"
            "    time.sleep(3600)\n"
            "sys.modules['gancourse.grading.wire'].receive = stuck\n"
            "def f(x):\n"
            "    return 1\n",
        )
        start = time.monotonic()
        with pytest.raises(SubmissionDied):
            RemoteName(s, "f", "function")(torch.zeros(4_000_000))  # 16 MB: more than a pipe
        assert time.monotonic() - start < 30
    finally:
        s.close()


def test_floods_and_leftovers_are_bounded_and_cleaned_up():
    s = Submission(FAST, check_isolation(FAST))
    try:
        flood = run(s, "import os\nfor _ in range(16):\n    os.write(2, b'x' * (1 << 22))\n")
        assert flood.error is None
        assert sum(len(chunk) for chunk in s.process.stderr) <= 16_384  # 64 MiB were written
        full = run(s, "open('/tmp/big', 'wb').write(b'0' * (700 << 20))\n")
        assert full.error is not None  # /tmp is a small tmpfs, not the host's memory
        deep = run(s, "import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n")
        assert deep.error is None  # in the sandbox's own tmpfs: it vanishes with the sandbox
    finally:
        s.close()


def test_what_a_submission_writes_is_capped_and_never_reaches_the_graders_disk(submission):
    where = run(submission, "import os\nprint(os.statvfs('/submission').f_blocks * 4096 >> 20)\n")
    assert where.error is None and int(where.stdout) <= WORK_BYTES >> 20
    # 600 MiB in 1 MiB chunks: more than the working folder holds
    fill = (
        "chunk = b'0' * (1 << 20)\n"
        "with open('/submission/fill', 'wb') as f:\n"
        "    for _ in range(600):\n"
        "        f.write(chunk)\n"
    )
    full = run(submission, fill)
    assert full.error is not None and "No space left on device" in full.error["evalue"]
    hint = storage_hint(full.error["evalue"])
    assert f"at most {WORK_BYTES >> 20} MiB in its working folder" in hint
    # the grading goes on: the same process (or a fresh one) still answers
    again = run(submission, "import os\nos.remove('/submission/fill')\nprint('ok')\n")
    assert again.stdout == "ok\n"
