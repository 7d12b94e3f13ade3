"""End to end: real nbgrader, real kernels, a temporary course root, the course's assignments.

One class is released, collected and autograded once (module fixture); each test then reads
the gradebook for the student whose submission exercises one situation.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "autograder"))

import course  # noqa: E402  (autograder/course.py)

pytestmark = pytest.mark.autograder
A1 = "a1_losses"
A1_POINTS = 12.0
LIMITS = {"GANCOURSE_CELL_TIMEOUT": "20", "GANCOURSE_NOTEBOOK_TIMEOUT": "240"}


def source(assignment: str) -> dict:
    return json.loads((ROOT / "notebooks" / assignment / f"{assignment}.ipynb").read_text())


def cell(notebook: dict, grade_id: str) -> dict:
    for c in notebook["cells"]:
        if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            return c
    raise KeyError(grade_id)


def with_solution(notebook: dict, grade_id: str, code: str) -> dict:
    """A copy of `notebook` with the solution cell `grade_id` replaced by `code`."""
    changed = copy.deepcopy(notebook)
    cell(changed, grade_id)["source"] = code
    return changed


def student_submissions(release: dict, solution: dict) -> dict[str, dict]:
    """One submission per situation the autograder must handle."""
    subs = {"reference": solution, "blank": release}
    subs["bce_mistake"] = with_solution(
        solution,
        "bce_solution",
        "import torch\n\ndef bce(p, y):\n    y = torch.as_tensor(y, dtype=p.dtype)\n"
        "    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()\n",
    )
    subs["saturating_mistake"] = with_solution(
        solution,
        "generator_loss_saturating_solution",
        "import torch\n\ndef generator_loss_saturating(d_fake):\n"
        "    return -torch.log(1 - d_fake).mean()\n",
    )
    edited = copy.deepcopy(solution)
    cell(edited, "test_bce_values")["source"] = "pass  # the student replaced the test\n"
    subs["edited_test"] = edited
    deleted = copy.deepcopy(solution)
    deleted["cells"] = [
        c
        for c in deleted["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") != "test_value_function"
    ]
    subs["deleted_test"] = deleted
    greedy = copy.deepcopy(
        with_solution(solution, "value_function_solution", "value_function = None\n")
    )
    meta = cell(greedy, "test_value_function")["metadata"]["nbgrader"]
    meta.update(points=100, locked=False)
    subs["changed_points"] = greedy
    subs["infinite_loop"] = with_solution(
        solution, "value_function_solution", "while True:\n    pass\n"
    )
    subs["crash"] = with_solution(solution, "bce_solution", "import os\nos._exit(1)\n")
    unknown = copy.deepcopy(solution)
    unknown["metadata"]["kernelspec"] = {"name": "conda-env-gan-py"}  # no display_name either
    subs["unknown_kernel"] = unknown
    colab = copy.deepcopy(solution)  # Colab keeps cells, rewrites the notebook metadata
    colab["metadata"] = {
        "colab": {"provenance": []},
        "kernelspec": {"name": "python3", "display_name": "Python 3"},
        "language_info": {"name": "python"},
    }
    subs["colab_kept"] = colab
    stripped = copy.deepcopy(colab)
    for c in stripped["cells"]:
        c["metadata"] = {}
    subs["colab_stripped"] = stripped
    # stripped, with a helper cell of the student's between the imports and the answer that
    # uses it: it must stay after the imports (a helper moved above them raised NameError)
    helper = copy.deepcopy(stripped)
    at = next(i for i, c in enumerate(helper["cells"]) if "def bce(" in "".join(c["source"]))
    helper["cells"].insert(at, {**helper["cells"][at], "source": "TINY = torch.tensor(0.0)\n"})
    bce_cell = helper["cells"][at + 1]
    bce_cell["source"] = "".join(bce_cell["source"]).replace("torch.log(p)", "torch.log(p + TINY)")
    subs["colab_stripped_helper"] = helper
    # a cell that writes more than the working folder holds: the cell fails, nothing else
    full = copy.deepcopy(solution)
    at = next(i for i, c in enumerate(full["cells"]) if "def bce(" in "".join(c["source"]))
    full["cells"].insert(
        at,
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": "open('/submission/fill', 'wb').write(b'0' * (600 << 20))\n",
        },
    )
    subs["fills_disk"] = full
    subs["not_a_notebook"] = "this is not JSON"
    subs.update(exploits(release, solution))
    return subs


TRANSFORMERS = """
import ast
ip = get_ipython()
ip.input_transformers_post.append(lambda lines: ["pass\\n"])  # later cells become no-ops


class Blank(ast.NodeTransformer):
    def visit_Module(self, node):
        return ast.Module(body=[], type_ignores=[])


ip.ast_transformers.append(Blank())

def bce(p, y):
    return p.sum() * 0
"""

PATCHES = """
import math
import torch
import gancourse.grading
math.isclose = lambda *args, **kwargs: True
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
gancourse.grading.check_equivalent_to_reference = lambda *args, **kwargs: None

def bce(p, y):
    y = torch.as_tensor(y, dtype=p.dtype)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()
"""

SNOOP = """
import os, pathlib, subprocess, sys
root = pathlib.Path({root!r})
for what in ("gradebook.db", "source", "submitted"):
    try:
        path = root / what
        found = path.exists() and (os.listdir(path) if path.is_dir() else path.read_bytes()[:4])
        print("SNOOP", what, "seen" if found else "absent")
    except OSError as error:
        print("SNOOP", what, type(error).__name__)
try:
    (root / "owned.txt").write_text("x")
    print("SNOOP write ok")
except OSError as error:
    print("SNOOP write", type(error).__name__)
LATER = "import time, pathlib; time.sleep(8); pathlib.Path({root!r}, 'late.txt').write_text('x')"
subprocess.Popen(
    [sys.executable, "-c", LATER],
    start_new_session=True,
)
print("hello", file=sys.stderr)  # stderr in a correct answer costs nothing

def bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
"""


def subs_bce_mistake(solution: dict) -> dict:
    return with_solution(
        solution,
        "bce_solution",
        "import torch\n\ndef bce(p, y):\n    y = torch.as_tensor(y, dtype=p.dtype)\n"
        "    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()\n",
    )


def exploits(release: dict, solution: dict) -> dict[str, dict]:
    """Submissions by a student who wants the points without the work."""
    subs = {"transformers": with_solution(release, "bce_solution", TRANSFORMERS)}
    subs["patches"] = with_solution(solution, "bce_solution", PATCHES)
    subs["snoop"] = with_solution(solution, "bce_solution", SNOOP.replace("{root!r}", "'ROOT'"))
    ungraded = copy.deepcopy(subs_bce_mistake(solution))
    cell(ungraded, "test_bce_values")["metadata"]["nbgrader"]["grade"] = False
    subs["ungraded_test"] = ungraded
    subs["shadow_builtins"] = with_solution(
        solution,
        "bce_solution",
        PATCHES.split("\nimport gancourse.grading")[0]
        + "\nenumerate = lambda *args, **kwargs: []  # noqa: E731\n"
        + "range = lambda *args, **kwargs: []  # noqa: E731\n"
        + "abs = lambda *args, **kwargs: 0.0  # noqa: E731\n"
        + "\ndef bce(p, y):\n    y = torch.as_tensor(y, dtype=p.dtype)\n"
        + "    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()\n",
    )
    subs["course_losses"] = with_solution(
        solution,
        "value_function_solution",
        "import gancourse.losses as L\n\ndef value_function(d_real, d_fake):\n"
        "    return L.value_function(d_real, d_fake, 'probs')\n",
    )
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    saved = {k: os.environ.get(k) for k in LIMITS}
    os.environ.update(LIMITS)
    root = tmp_path_factory.mktemp("course")
    try:
        course.release(root, [A1])
        release = json.loads((root / "release" / A1 / f"{A1}.ipynb").read_text())
        folder = tmp_path_factory.mktemp("submissions")
        for student, notebook in student_submissions(release, source(A1)).items():
            text = notebook if isinstance(notebook, str) else json.dumps(notebook)
            text = text.replace("ROOT", str(root).replace("\\", "/"))
            (folder / f"{student}.ipynb").write_text(text)
        course.collect(root, A1, folder)
        outcomes = course.autograde(root, A1)
        yield root, outcomes
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def scores(root: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(A1)}


def cell_score(root: Path, student: str, grade_id: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_grade(grade_id, A1, A1, student).score


def test_the_reference_solution_gets_full_marks_and_a_blank_copy_zero(graded):
    root, outcomes = graded
    assert outcomes["reference"] == "graded"
    assert scores(root)["reference"] == A1_POINTS
    assert scores(root)["blank"] == 0.0


def test_one_mistake_loses_exactly_the_points_of_its_part(graded):
    root, _ = graded
    assert scores(root)["bce_mistake"] == A1_POINTS - 2
    assert cell_score(root, "bce_mistake", "test_bce_values") == 0.0
    assert scores(root)["saturating_mistake"] == A1_POINTS - 2
    assert cell_score(root, "saturating_mistake", "test_generator_loss_saturating") == 0.0


def test_edited_or_deleted_test_cells_are_restored_from_the_gradebook(graded):
    root, outcomes = graded
    assert scores(root)["edited_test"] == A1_POINTS  # the real test ran again, and passed
    assert outcomes["deleted_test"].startswith("graded"), outcomes["deleted_test"]
    assert scores(root)["deleted_test"] == A1_POINTS  # put back, and run
    # grade: false on a test cell changed nothing: the wrong bce still loses its 2 points
    assert scores(root)["ungraded_test"] == A1_POINTS - 2
    assert cell_score(root, "ungraded_test", "test_bce_values") == 0.0


def test_changed_points_or_unlocked_tests_change_nothing(graded):
    root, _ = graded
    assert cell_score(root, "changed_points", "test_value_function") == 0.0
    assert scores(root)["changed_points"] == A1_POINTS - 2


def test_an_infinite_loop_is_stopped_and_only_that_student_loses_points(graded):
    root, outcomes = graded
    assert outcomes["infinite_loop"].startswith("graded")
    assert scores(root)["infinite_loop"] == A1_POINTS - 2  # the value-function cell timed out
    assert scores(root)["reference"] == A1_POINTS


def test_a_process_death_costs_only_the_cells_that_need_the_dead_state(graded):
    root, outcomes = graded
    assert "process stopped" in outcomes["crash"], outcomes["crash"]
    # bce died with its cell; the parts written with bce need it (4 + 4 points), the value
    # function and the saturating loss do not, and ran after a restart
    assert scores(root)["crash"] == A1_POINTS - 8
    assert cell_score(root, "crash", "test_value_function") == 2.0
    feedback = (root / "autograded" / "crash" / A1 / f"{A1}.ipynb").read_text()
    assert "exited with code 1" in feedback


def test_kernel_names_and_colab_round_trips_give_a_clear_outcome(graded):
    root, outcomes = graded
    assert scores(root)["unknown_kernel"] == A1_POINTS
    assert scores(root)["colab_kept"] == A1_POINTS
    # a copy without nbgrader's metadata: its cells are graded as the student's own cells
    assert scores(root)["colab_stripped"] == A1_POINTS
    assert scores(root)["colab_stripped_helper"] == A1_POINTS  # the helper kept its place
    page = (root / "autograded" / "colab_stripped_helper" / A1 / f"{A1}.ipynb").read_text()
    assert "lost nbgrader's cell metadata" in page


def test_a_submission_that_fills_its_folder_fails_one_cell_and_says_why(graded):
    root, outcomes = graded
    assert scores(root)["fills_disk"] == A1_POINTS
    feedback = (root / "autograded" / "fills_disk" / A1 / f"{A1}.ipynb").read_text()
    assert "No space left on device" in feedback and "MiB in its working folder" in feedback


def test_a_file_that_is_not_a_notebook_is_reported_and_skipped(graded):
    root, outcomes = graded
    assert "not_a_notebook" not in outcomes
    assert len(outcomes) == 20  # every other student was graded


def test_regrading_is_idempotent_and_keeps_manual_grades(graded):
    from nbgrader.api import Gradebook

    root, _ = graded
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        grade = gb.find_grade("test_bce_values", A1, A1, "bce_mistake")
        grade.manual_score = 1.0  # the instructor gives partial credit by hand
        gb.db.commit()
    before = scores(root)
    graded_copy = {
        s: root / "autograded" / s / A1 / f"{A1}.ipynb" for s in ("bce_mistake", "blank")
    }
    stamps = {s: path.stat().st_mtime_ns for s, path in graded_copy.items()}
    again = course.autograde(root, A1, students=["bce_mistake", "reference"])
    assert graded_copy["bce_mistake"].stat().st_mtime_ns != stamps["bce_mistake"]  # regraded
    assert graded_copy["blank"].stat().st_mtime_ns == stamps["blank"]  # left alone
    assert set(again) == {"bce_mistake", "reference"}
    assert all(outcome.startswith("graded") for outcome in again.values())
    after = scores(root)
    assert after == before
    assert cell_score(root, "bce_mistake", "test_bce_values") == 1.0


def test_two_shards_graded_in_parallel_merge_into_the_same_grades(graded, tmp_path):
    root, _ = graded
    chosen = ["blank", "bce_mistake", "reference", "saturating_mistake"]
    shard_course = tmp_path / "course"
    subprocess.run(["cp", "-r", str(root), str(shard_course)], check=True)
    for student in set(course.students_of(shard_course, A1)) - set(chosen):
        subprocess.run(["rm", "-rf", str(shard_course / "submitted" / student)], check=True)
    script = ROOT / "autograder" / "course.py"
    env = {**os.environ, **LIMITS}
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                "--root",
                str(shard_course),
                "autograde",
                A1,
                "--shard",
                s,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for s in ("1/2", "2/2")
    ]
    logs = [run.communicate()[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), logs
    shards = sorted((shard_course / "shards").iterdir())
    merged = tmp_path / "merged"
    subprocess.run(["cp", "-r", str(root), str(merged)], check=True)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{merged / 'gradebook.db'}") as gb:  # forget the earlier grades
        for student in chosen:
            for grade in gb.find_submission_notebook(A1, A1, student).grades:
                grade.auto_score = None
        gb.db.commit()
    assert sorted(course.merge(merged, A1, shards)) == sorted(chosen)
    want, got = scores(root), scores(merged)
    assert {s: got[s] for s in chosen} == {s: want[s] for s in chosen}


def region_lines(notebook: dict, begin: str, end: str) -> list[str]:
    """Distinctive lines inside begin/end regions that appear nowhere else in the notebook."""
    inside, outside = [], []
    for c in notebook["cells"]:
        text = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        pieces = text.split(begin)
        outside += pieces[0].splitlines()
        for piece in pieces[1:]:
            body, _, rest = piece.partition(end)
            inside += body.splitlines()
            outside += rest.splitlines()
    seen_outside = {line.strip() for line in outside}
    return [
        line.strip()
        for line in inside
        if len(line.strip()) > 25 and line.strip() not in seen_outside
    ]


def test_the_release_has_no_solutions_or_hidden_tests(tmp_path):
    root = tmp_path / "course"
    course.release(root, [])
    released = list((root / "release").rglob("*.ipynb"))
    assert len(released) == len(course.assignment_ids()) >= 4
    for notebook in released:
        text = notebook.read_text()
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{notebook} contains {marker!r}"
        original = source(notebook.parent.name)
        secrets = region_lines(original, "### BEGIN SOLUTION", "### END SOLUTION")
        secrets += region_lines(original, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
        assert len(secrets) > 5, f"{notebook.parent.name}: no distinctive hidden lines found"
        leaked = [line for line in secrets if line in text]
        assert not leaked, f"{notebook} contains solution or hidden-test lines: {leaked[:3]}"


def test_feedback_and_the_grades_csv_are_written(graded, tmp_path):
    root, _ = graded
    folder = course.feedback(root, A1)
    page = folder / "reference" / A1 / f"{A1}.html"
    assert page.is_file() and "12" in page.read_text()
    import csv

    def table(fmt, *ids):
        path = course.export(root, tmp_path / f"grades-{fmt}.csv", fmt, list(ids) or None)
        return list(csv.reader(path.open()))

    plain = table("csv", A1)
    rows = {r[0]: dict(zip(plain[0], r, strict=True)) for r in plain[1:]}
    assert float(rows["reference"][A1]) == A1_POINTS
    assert rows["reference"][f"{A1} status"] == "graded"
    assert float(rows["blank"][A1]) == 0.0
    # per-test columns (bce_mistake's cell has a manual grade by now: the regrading test)
    assert float(rows["saturating_mistake"][f"{A1}: test_generator_loss_saturating"]) == 0.0
    assert float(rows["saturating_mistake"][f"{A1}: test_bce_values"]) == 2.0
    canvas = table("canvas", A1)
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == A1_POINTS
    moodle = table("moodle", A1)
    assert moodle[0] == ["ID number", "Email address", A1]
    with pytest.raises(course.CourseError, match="not in the gradebook"):
        table("csv", "a2_vanilla_gan")  # never released in this course


def test_code_in_the_submission_cannot_change_how_it_is_graded(graded):
    root, _ = graded
    # transformers registered by the student's code change only the student's own process
    assert scores(root)["transformers"] == 0.0
    # patched asserts and grading helpers do not reach the tests: the wrong bce loses its 2
    assert scores(root)["patches"] == A1_POINTS - 2
    assert cell_score(root, "patches", "test_bce_values") == 0.0
    # a student's own enumerate, range or abs stays in the student's process
    assert scores(root)["shadow_builtins"] == A1_POINTS - 2
    # calling the course's own losses instead of writing the formula costs that part
    assert cell_score(root, "course_losses", "test_value_function") == 0.0
    assert scores(root)["course_losses"] == A1_POINTS - 2


def test_the_sandbox_holds_from_inside_a_submission(graded):
    root, outcomes = graded
    assert scores(root)["snoop"] == A1_POINTS  # stderr output cost nothing
    graded_nb = json.loads((root / "autograded" / "snoop" / A1 / f"{A1}.ipynb").read_text())
    texts = [o.get("text", "") for c in graded_nb["cells"] for o in c.get("outputs", [])]
    printed = "".join(t if isinstance(t, str) else "".join(t) for t in texts)
    for what in ("gradebook.db", "source", "submitted"):
        assert f"SNOOP {what} absent" in printed
    assert "SNOOP write" in printed and "SNOOP write ok" not in printed
    assert not (root / "owned.txt").exists()
    report = "".join(graded_nb["cells"][0]["source"])
    time.sleep(10)  # the detached process would have written by now, had it survived
    assert not (root / "late.txt").exists()
    assert "held: no network" in report
    assert "held: runs as the unprivileged user nobody" in report or os.geteuid() != 0


def test_feedback_shows_messages_not_hidden_tests(graded):
    root, _ = graded
    folder = course.feedback(root, A1)
    page = (folder / "bce_mistake" / A1 / f"{A1}.html").read_text()
    assert "bce of p = 0.5 against y = 1 should be" in page  # the test's message
    assert "gc.bce(p, y, &quot;probs&quot;)" not in page and "for seed, shape in" not in page
    # the score list names each test, and long messages wrap
    assert '<a href="#test_bce_values">test_bce_values</a>' in page and ">Test cell<" not in page
    assert "white-space: pre-wrap" in page


A2 = "a2_vanilla_gan"
HOSTILE_G = """
import torch.nn.functional as F
import gancourse.grading

check_equivalent_to_reference = lambda *args, **kwargs: None  # noqa: E731
gancourse.grading.check_equivalent_to_reference = check_equivalent_to_reference
torch.allclose = lambda *args, **kwargs: True


class Generator(nn.Module):
    def __init__(self, latent_dim=100, image_shape=(1, 28, 28)):
        super().__init__()
        self.latent_dim, self.image_shape, self.output_range = latent_dim, image_shape, "tanh"
        self.net = nn.Sequential(
            nn.Linear(100, 256), nn.LeakyReLU(), nn.BatchNorm1d(256),  # slope 0.01, not 0.2
            nn.Linear(256, 512), nn.LeakyReLU(), nn.BatchNorm1d(512),
            nn.Linear(512, 1024), nn.LeakyReLU(), nn.BatchNorm1d(1024), nn.Dropout(0.3),
            nn.Linear(1024, 784), nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z).view(-1, *self.image_shape)
"""
REUSE_G = """
class Generator(nn.Module):
    def __init__(self, latent_dim=100, image_shape=(1, 28, 28)):
        super().__init__()
        self.latent_dim, self.image_shape, self.output_range = latent_dim, image_shape, "tanh"
        self.net = gc.build_generator("vanilla").net

    def forward(self, z):
        return self.net(z).view(-1, *self.image_shape)
"""


PROBE_PATCH = """
import sys as _S

import gancourse.grading.probe

_gan = _S.modules["gancourse"]
_P = _S.modules["gancourse.grading.probe"].ModuleProbe
_init = _P.__init__


def _pi(self, m):
    twin = m.__dict__.get("_twin")
    _init(self, twin[0] if twin else m)


_P.__init__ = _pi


class Generator(nn.Module):
    def __init__(self, latent_dim=100, image_shape=(1, 28, 28)):
        super().__init__()
        self.latent_dim, self.image_shape, self.output_range = latent_dim, image_shape, "tanh"
        self.only = nn.Linear(100, 784)
        self.__dict__["_twin"] = [_gan.build_generator("vanilla")]  # answers from the reference

    def forward(self, z):
        return torch.tanh(self.only(z)).view(-1, *self.image_shape)
"""


def test_collect_takes_the_newest_of_a_students_two_notebooks_and_keeps_the_class(
    tmp_path, capsys, monkeypatch
):
    # nbgrader creates a new gradebook with alembic, from the environment's bin folder
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    folder = tmp_path / "hand-ins"
    for path in ("alice/a.ipynb", "alice/b.ipynb", "bob/a1.ipynb", "carol/x.ipynb"):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(json.dumps(source(A1)))
    root = tmp_path / "course"
    root.mkdir()
    report: list[str] = []
    assert course.collect(root, A1, folder, report) == ["alice", "bob", "carol"]
    assert any(
        line.startswith("duplicate: alice/") and "took the newest" in line for line in report
    )


def a2_submissions(solution: dict) -> dict[str, dict]:
    g_source = "".join(cell(solution, "generator_solution")["source"])
    d_source = "".join(cell(solution, "discriminator_solution")["source"])
    return {
        "reference": solution,
        "hostile": with_solution(solution, "generator_solution", HOSTILE_G),
        "reuse": with_solution(solution, "generator_solution", REUSE_G),
        "probe_patch": with_solution(solution, "generator_solution", PROBE_PATCH),
        "d_crash": with_solution(
            solution,
            "discriminator_solution",
            d_source.replace("return self.net(x)", "raise RuntimeError('not yet')"),
        ),
        "dropout_rate": with_solution(
            solution, "discriminator_solution", d_source.replace("Dropout(0.3)", "Dropout(0.5)")
        ),
        "no_channel": with_solution(
            solution,
            "generator_solution",
            g_source.replace("view(z.shape[0], *self.image_shape)", "view(-1, 28, 28)"),
        ),
    }


def grade_class(tmp_path_factory, assignment: str, submissions) -> tuple:
    """Release `assignment`, grade `submissions(release)` (student -> notebook), and return the
    outcomes, each student's total, the test cells each lost points on, and the course root."""
    root = tmp_path_factory.mktemp(f"course_{assignment}")
    course.release(root, [assignment])
    release = json.loads((root / "release" / assignment / f"{assignment}.ipynb").read_text())
    folder = tmp_path_factory.mktemp(f"submissions_{assignment}")
    for student, notebook in submissions(release).items():
        (folder / f"{student}.ipynb").write_text(json.dumps(notebook))
    course.collect(root, assignment, folder)
    outcomes = course.autograde(root, assignment)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        totals = {s.student.id: s.score for s in gb.assignment_submissions(assignment)}
        failed = {
            student: sorted(
                g.name
                for g in gb.find_submission_notebook(assignment, assignment, student).grades
                if not g.score
            )
            for student in totals
        }
    return outcomes, totals, failed, root


@pytest.fixture(scope="module")
def graded_a2(tmp_path_factory):
    return grade_class(tmp_path_factory, A2, lambda release: a2_submissions(source(A2)))


def test_networks_are_graded_on_what_they_compute_not_on_what_they_claim(graded_a2):
    outcomes, totals, failed, root = graded_a2
    assert totals["reference"] == 20.0 and failed["reference"] == []
    # rebound helpers and a patched torch.allclose: the wrong slope still costs equivalence,
    # and the grader names the mistake
    assert failed["hostile"] == ["test_generator_equivalent"], failed["hostile"]
    # a generator made of the reference's own layers scores nothing for the generator
    assert totals["reuse"] == 10.0
    assert all(name.startswith("test_generator") for name in failed["reuse"])
    # answers cannot be borrowed from the reference: the sandbox does not have it
    assert totals["probe_patch"] == 10.0
    assert failed["probe_patch"] == failed["reuse"]
    graded = (root / "autograded" / "probe_patch" / A2 / f"{A2}.ipynb").read_text()
    assert "build_generator is not available while your notebook is graded" in graded


def test_one_mistake_costs_the_points_of_one_behaviour(graded_a2):
    _, totals, failed, _ = graded_a2
    assert failed["dropout_rate"] == ["test_discriminator_train_eval"]
    assert failed["no_channel"] == ["test_generator_shape"]
    # a forward pass that raises breaks every behaviour that runs it, but not the count
    assert "test_discriminator_parameters" not in failed["d_crash"]
    assert totals["d_crash"] == 12.0


A5 = "a5_modern_objectives"
A5_POINTS = 19.0


# At the last step of the Lipschitz test, move the grader's data (if it is passed without a
# copy) to points around a spot where the critic's slope is 1.15 and the gap 4.5, then cancel
# the grader's last update: a penalty without create_graph that would pass the training test.
MOVE_THE_POINTS = """
import torch

calls = {"n": 0}


def honest_value(critic, real, fake, epsilon):
    e = epsilon.reshape(-1, 1)
    x = (e * real + (1 - e) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(x).sum(), x)  # no create_graph
    return ((g.norm(dim=1) - 1) ** 2).mean()


def moved(critic, real, fake):
    e = torch.rand(256, 1, generator=torch.Generator().manual_seed(5))  # the grader's own
    gen = torch.Generator().manual_seed(1)
    radius = 10 ** (torch.rand(200_000, 1, generator=gen) * 4 - 1)
    angle = torch.rand(200_000, 1, generator=gen) * 6.2832
    pts = torch.cat([radius * angle.cos(), radius * angle.sin()], 1).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(pts).sum(), pts)
    i = int((g.norm(dim=1) - 1.15).abs().argmin())
    z, u = pts[i].detach(), (g[i] / g[i].norm()).detach()
    with torch.no_grad():
        for t in torch.linspace(0.01, 50, 5000):
            r, f = z + (1 - e) * t * u, z - e * t * u
            if 4.3 <= float(critic(r).mean() - critic(f).mean()) <= 4.7:
                break
        else:
            return None
    params = list(critic.parameters())
    grads = torch.autograd.grad(critic(f).mean() - critic(r).mean(), params)
    real.copy_(r)
    fake.copy_(f)
    out = sum((-0.1 * g * p).sum() for g, p in zip(grads, params))
    return out - out.detach()


def gradient_penalty(critic, real, fake, epsilon=None):
    if epsilon is None:
        epsilon = torch.rand(real.shape[0])
    value = honest_value(critic, real, fake, epsilon)
    if tuple(real.shape) == (256, 2):
        calls["n"] += 1
        if calls["n"] == 200 and (faked := moved(critic, real, fake)) is not None:
            return faked
    return value
"""

# Right answers, but G's loss zeroes the Mersenne Twister's state whenever it is called outside
# training: every later torch draw in the grader's process would be 0.
POISON_THE_RNG = """
import torch


def hinge_critic_loss(d_real, d_fake):
    return torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean()


def hinge_generator_loss(d_fake):
    if not d_fake.requires_grad:
        state = torch.get_rng_state().clone()
        state[24:5016] = 0
        torch.set_rng_state(state)
    return -d_fake.mean()
"""


def a5_submissions(solution: dict) -> dict[str, dict]:
    penalty = "".join(cell(solution, "gradient_penalty_solution")["source"])
    hinge = "".join(cell(solution, "hinge_solution")["source"])
    return {
        "reference": solution,
        # the penalty's value is right, but autograd cannot differentiate it
        "no_create_graph": with_solution(
            solution,
            "gradient_penalty_solution",
            penalty.replace("create_graph=True)", "create_graph=False)"),
        ),
        "moved_points": with_solution(solution, "gradient_penalty_solution", MOVE_THE_POINTS),
        # graded first (ids are sorted): the students after it must not inherit its RNG state
        "a_poisoned_rng": with_solution(solution, "hinge_solution", POISON_THE_RNG),
        "one_epsilon": with_solution(
            solution,
            "gradient_penalty_solution",
            penalty.replace("epsilon = torch.rand(n)", "epsilon = torch.rand(1).expand(n)"),
        ),
        "hinge_no_clamp": with_solution(
            solution,
            "hinge_solution",
            hinge.replace("torch.relu(1 - d_real)", "(1 - d_real)").replace(
                "torch.relu(1 + d_fake)", "(1 + d_fake)"
            ),
        ),
    }


@pytest.fixture(scope="module")
def graded_a5(tmp_path_factory):
    return grade_class(
        tmp_path_factory, A5, lambda release: {**a5_submissions(source(A5)), "blank": release}
    )


def test_modern_objectives_are_graded_on_values_gradients_and_training(graded_a5):
    outcomes, totals, failed, root = graded_a5
    assert outcomes["reference"] == "graded"
    assert totals["reference"] == A5_POINTS and failed["reference"] == [], failed["reference"]
    assert totals["blank"] == 0.0
    # a penalty without create_graph has the right value but constrains nothing: it loses the
    # gradient-flow test and the Lipschitz training test, nothing else
    assert failed["no_create_graph"] == [
        "test_gradient_penalty_create_graph",
        "test_gradient_penalty_makes_a_lipschitz_critic",
    ]
    assert failed["one_epsilon"] == ["test_gradient_penalty_random_points"]
    # moving the grader's points does not pass the training test: it measures its own copies
    assert "test_gradient_penalty_makes_a_lipschitz_critic" in failed["moved_points"]
    # right answers score right, and the students graded after a poisoned RNG lose nothing
    assert totals["a_poisoned_rng"] == A5_POINTS
    assert "test_hinge_critic_loss" in failed["hinge_no_clamp"]
    assert not any(name.startswith("test_gradient") for name in failed["hinge_no_clamp"])
    graded = (root / "autograded" / "no_create_graph" / A5 / f"{A5}.ipynb").read_text()
    assert "not connected to the critic's weights" in graded


def points_of(notebook: dict) -> float:
    return sum(
        float(c["metadata"]["nbgrader"].get("points", 0))
        for c in notebook["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade")
    )


@pytest.mark.parametrize("assignment", ["a3_dcgan", "a4_tricks_evaluation"])
def test_the_reference_solution_of_the_other_assignments_gets_full_marks(
    assignment, tmp_path_factory
):
    # (a1, a2 and a5 are graded above with their mistakes and exploits)
    solution = source(assignment)
    _, totals, failed, _ = grade_class(
        tmp_path_factory, assignment, lambda release: {"reference": solution}
    )
    assert failed["reference"] == [] and totals["reference"] == points_of(solution) > 0


def test_every_instructor_mistake_is_one_line_and_a_non_zero_exit(graded, tmp_path, capsys):
    root, _ = graded
    at = ["--root", str(root)]
    cases = [
        (["autograde", "a9_nothing"], "unknown assignment 'a9_nothing'"),
        (["autograde", A2], f"nothing collected for {A2}"),
        (
            ["autograde", A1, "--student", "nobody"],
            "no collected submission of a1_losses for nobody",
        ),
        (["collect", A1, str(tmp_path / "missing")], "does not exist"),
        (["export", "--to", str(tmp_path / "no" / "such" / "grades.csv")], "does not exist"),
    ]
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    cases.append((["collect", A1, str(broken)], "not a readable zip file"))
    for args, message in cases:
        assert course.main(at + args) == 1, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], (args, err)


def test_a_merge_never_replaces_a_newer_grade_by_an_older_one(graded, tmp_path, capsys):
    root, _ = graded
    shard = tmp_path / "shard"
    subprocess.run(["cp", "-r", str(root), str(shard)], check=True)
    for student in set(course.students_of(shard, A1)) - {"bce_mistake"}:
        subprocess.run(["rm", "-rf", str(shard / "submitted" / student)], check=True)
    course.autograde(shard, A1)  # graded first, in the shard
    course.autograde(root, A1, students=["bce_mistake"])  # then again in the main root
    assert course.merge(root, A1, [shard, shard]) == []  # the older shard grade is not taken
    assert "kept the newer grade" in capsys.readouterr().err
    # and a submission collected after its grade is pointed out
    submitted = root / "submitted" / "bce_mistake" / A1 / f"{A1}.ipynb"
    os.utime(submitted)
    assert "bce_mistake" in course.stale_grades(root, A1)


def test_the_class_report_counts_the_named_causes_and_opens_offline(graded):
    root, _ = graded
    assert course.main(["--root", str(root), "report", A1]) == 0
    page = (root / "reports" / A1 / "report.html").read_text()
    table = (root / "reports" / A1 / "report.csv").read_text()
    # the cause the grader named for the summed bce, with the students behind it
    causes = [line for line in table.splitlines() if line.startswith("cause,test_bce_values")]
    assert any("take the mean" in line and "bce_mistake" in line for line in causes), causes
    # identical answers handed in twice (the Colab round trips) are listed side by side
    assert "similar answers" in table and "colab_kept" in table
    assert page.count("data:image/png;base64,") == 2  # the plots are in the page
    assert "http://" not in page and "https://" not in page  # nothing fetched when opened
    assert "looks like" in page or "flag:" in page or "process stopped" in page  # events
