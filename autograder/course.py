"""The instructor's workflow, one command per step (nbgrader underneath).

    python autograder/course.py init                      # a private course root with a gradebook
    python autograder/course.py release [ID ...]          # student versions into release/
    python autograder/course.py roster students.csv       # id, name, email, lms_id
    python autograder/course.py collect ID SUBMISSIONS    # a folder or .zip (Canvas, Moodle, ...)
    python autograder/course.py autograde ID [--shard I/N | --student S ...] [--unsafe]
    python autograder/course.py merge ID SHARD_ROOT ...   # shard gradebooks into this one
    python autograder/course.py feedback ID
    python autograder/course.py report ID                 # the class at a glance (HTML, CSV)
    python autograder/course.py export [ID ...] [--format csv|canvas|moodle] [--to FILE]
    python autograder/course.py isolation                 # what the sandbox guarantees here

The course root is --root, or $GANCOURSE_COURSE_ROOT, or autograder/course/. A class (or a shard)
is autograded by one `nbgrader autograde` process; a shard (I/N of the students, sorted) uses
its own copy of the root and gradebook, so shards can run at the same time on different machines
(a CI job matrix, a Slurm array) and `merge` brings their grades into one gradebook without two
writers ever sharing a SQLite file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # lms.py, beside this file

from lms import STUDENT_ID  # noqa: E402

REPO = HERE.parent
ASSIGNMENTS = Path(os.environ.get("GANCOURSE_ASSIGNMENTS", REPO / "notebooks"))
DEFAULT_ROOT = HERE / "course"


class CourseError(RuntimeError):
    """A problem the instructor can fix; printed as one line."""


def course_root(arg: str | None) -> Path:
    return Path(arg or os.environ.get("GANCOURSE_COURSE_ROOT") or DEFAULT_ROOT).resolve()


def assignment_ids() -> list[str]:
    return sorted(p.name for p in ASSIGNMENTS.iterdir() if (p / f"{p.name}.ipynb").is_file())


def nbgrader(
    root: Path, *args: str, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course root (where its nbgrader_config.py is)."""
    exe = Path(sys.executable).with_name("nbgrader")
    command = [str(exe) if exe.exists() else "nbgrader", *args]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, **(env or {})}
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise CourseError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc


# ------------------------------------------------------------------------------ init, release


def init(root: Path) -> Path:
    """Create the course root (mode 0700: sandboxed student code cannot read it)."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    shutil.copy(HERE / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "source").mkdir(exist_ok=True)
    for assignment in assignment_ids():
        target = root / "source" / assignment
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ASSIGNMENTS / assignment, target)
    return root


def release(root: Path, ids: list[str]) -> list[Path]:
    """Student versions (no solutions, no hidden tests) of each assignment in release/."""
    init(root)
    released = []
    for assignment in ids or assignment_ids():
        if assignment not in assignment_ids():
            raise CourseError(
                f"unknown assignment {assignment!r}; expected one of {assignment_ids()}"
            )
        nbgrader(root, "db", "assignment", "add", assignment)
        nbgrader(root, "generate_assignment", assignment, "--force")
        released.append(root / "release" / assignment)
    return released


# ------------------------------------------------------------------------------ collect


def collect(
    root: Path, assignment: str, submissions: Path, report: list[str] | None = None
) -> list[str]:
    """Copy submissions into submitted/<student>/<assignment>/<assignment>.ipynb; return the
    students collected.

    Accepts a folder or a .zip as Canvas, Moodle or Blackboard hand them out, or holding
    `<student>.ipynb` files or `<student>/<anything>.ipynb` folders (`lms.py` has the naming
    rules; the roster maps LMS ids and names to student ids). Every file is accounted for in
    `report` (and on stdout from the command line): collected as whom, skipped and why, and
    for a student with several notebooks which one was taken: the newest (by the time in its
    file name where the LMS writes one, else by file time)."""
    from lms import Roster, identify

    report = [] if report is None else report
    if not submissions.exists():
        raise CourseError(f"submissions: {submissions} does not exist")
    if submissions.is_file() and submissions.suffix == ".zip":
        unpacked = root / "downloaded" / assignment
        shutil.rmtree(unpacked, ignore_errors=True)
        try:
            with zipfile.ZipFile(submissions) as archive:
                for member in archive.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise CourseError(f"{submissions}: refusing the unsafe path {member!r}")
                archive.extractall(unpacked)
                for info in archive.infolist():  # extractall does not keep the files' times
                    when = datetime.datetime(*info.date_time).timestamp()
                    os.utime(unpacked / info.filename, (when, when))
        except (zipfile.BadZipFile, OSError) as error:
            raise CourseError(f"{submissions}: not a readable zip file ({error})") from None
        submissions = unpacked
    roster = _roster(root) if (root / "gradebook.db").is_file() else Roster.empty()
    by_student: dict[str, list] = {}
    notebooks = [
        n
        for n in sorted(submissions.rglob("*.ipynb"))
        if ".ipynb_checkpoints" not in n.parts and "__MACOSX" not in n.parts
    ]
    if not notebooks:
        raise CourseError(f"no .ipynb files in {submissions}")
    for notebook in notebooks:
        found = identify(notebook.relative_to(submissions), roster, assignment_ids())
        if isinstance(found, str):
            report.append(f"skipped: {notebook.relative_to(submissions)}: {found}")
            continue
        by_student.setdefault(found.student, []).append(found)
    collected = []
    for student, hand_ins in sorted(by_student.items()):
        newest = max(
            hand_ins,
            key=lambda h: (h.submitted_at or (submissions / h.path).stat().st_mtime, str(h.path)),
        )
        for other in hand_ins:
            if other is not newest:
                report.append(
                    f"duplicate: {other.path}: {student} handed in {len(hand_ins)} notebooks; "
                    f"took the newest, {newest.path}"
                )
        notebook = submissions / newest.path
        try:
            content = _readable_notebook(notebook)
        except ValueError as error:  # one broken file must not stop the class
            report.append(f"skipped: {newest.path}: {error}")
            continue
        target = root / "submitted" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{assignment}.ipynb").write_text(json.dumps(content, indent=1))
        # nbgrader reads the submission time from here: late work shows in the gradebook
        when = newest.submitted_at or notebook.stat().st_mtime
        stamp = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
        (target / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        report.append(f"collected: {newest.path} as {student} ({newest.how})")
        collected.append(student)
    _add_students(root, collected)  # one gradebook connection for the class, not a process each
    return sorted(collected)


def _roster(root: Path):
    """The gradebook's students, by LMS id and by name, for `lms.identify`."""
    from lms import Roster, slug
    from nbgrader.api import Gradebook

    by_lms_id, by_name, ids = {}, {}, set()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in gradebook.students:
            ids.add(student.id)
            if student.lms_user_id:
                by_lms_id[str(student.lms_user_id)] = student.id
            full = f"{student.first_name or ''} {student.last_name or ''}".strip()
            for name in (full, f"{student.last_name or ''} {student.first_name or ''}".strip()):
                if name:
                    by_name[slug(name)] = student.id
                    by_name[slug(name).replace("_", "")] = student.id  # Canvas: lastfirst
    return Roster(by_lms_id, by_name, ids)


def roster(root: Path, csv_path: Path) -> list[str]:
    """Add or update the students of a CSV (columns id, name, email, lms_id; only id needed) in
    the gradebook, so that collect maps LMS names and ids to these student ids."""
    import csv

    from nbgrader.api import Gradebook

    if not csv_path.is_file():
        raise CourseError(f"roster: {csv_path} does not exist")
    with csv_path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "id" not in rows[0]:
        raise CourseError(f"roster: {csv_path} needs a header row with an 'id' column")
    init(root)
    added = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "gancourse") as gradebook:
        for line, row in enumerate(rows, start=2):
            student = (row.get("id") or "").strip()
            if not STUDENT_ID.fullmatch(student):
                raise CourseError(
                    f"roster: {csv_path}, line {line}: {student!r} is not a usable id"
                )
            first, _, last = (row.get("name") or "").strip().partition(" ")
            gradebook.update_or_create_student(
                student,
                first_name=first or None,
                last_name=last or None,
                email=(row.get("email") or "").strip() or None,
                lms_user_id=(row.get("lms_id") or "").strip() or None,
            )
            added.append(student)
    return added


def _add_students(root: Path, students: list[str]) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "gancourse") as gradebook:
        for student in students:
            gradebook.update_or_create_student(student)


def _readable_notebook(path: Path) -> dict:
    """The notebook's JSON, with a kernelspec nbgrader accepts (grading forces python3 anyway;
    some tools write a kernelspec without the display_name nbformat requires)."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path.name} is not a notebook (invalid JSON: {error})") from error
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise ValueError(f"{path.name} is not a notebook (no list of cells)")
    metadata = content.setdefault("metadata", {})
    metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    metadata.setdefault("language_info", {"name": "python"})
    return content


# ------------------------------------------------------------------------------ autograde


def students_of(root: Path, assignment: str) -> list[str]:
    submitted = root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(f"expected I/N with 1 <= I <= N, e.g. 2/4; got {text!r}")
    return int(match[1]), int(match[2])


def shard_root(root: Path, assignment: str, shard: tuple[int, int]) -> Path:
    """A copy of the course root holding only this shard's students, with its own gradebook."""
    index, count = shard
    target = root / "shards" / f"{assignment}-{index}of{count}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", target / "nbgrader_config.py")
    shutil.copytree(root / "source", target / "source")
    if (root / "gradebook.db").is_file():
        shutil.copy(root / "gradebook.db", target / "gradebook.db")
    for student in students_of(root, assignment)[index - 1 :: count]:
        destination = target / "submitted" / student / assignment
        shutil.copytree(root / "submitted" / student / assignment, destination)
    return target


def autograde(
    root: Path,
    assignment: str,
    shard: tuple[int, int] | None = None,
    students: list[str] | None = None,
    unsafe: bool = False,
) -> dict[str, str]:
    """Autograde every submission (or only `students`) in one nbgrader process (torch is
    imported once); return student -> outcome. Grading again keeps manual grades. Stops with a
    CourseError before grading anyone if this machine cannot sandbox student code, unless
    `unsafe`."""
    from gancourse.grading.sandbox import SandboxUnavailable, check_isolation

    try:
        check_isolation(unsafe=unsafe)
    except SandboxUnavailable as error:
        raise CourseError(str(error)) from None
    if assignment not in assignment_ids():
        raise CourseError(f"unknown assignment {assignment!r}; expected one of {assignment_ids()}")
    collected = students_of(root, assignment)
    if not collected:
        raise CourseError(
            f"nothing collected for {assignment} in {root / 'submitted'}: run "
            f"`course.py collect {assignment} SUBMISSIONS` first"
        )
    unknown = sorted(set(students or []) - set(collected))
    if unknown:
        raise CourseError(
            f"no collected submission of {assignment} for {', '.join(unknown)}; collected: "
            f"{', '.join(collected[:10])}{' ...' if len(collected) > 10 else ''}"
        )
    where = shard_root(root, assignment, shard) if shard else root
    selected = students or students_of(where, assignment)
    if not selected:
        return {}  # an empty shard (more shards than students)
    env = {"GANCOURSE_UNSAFE": "1"} if unsafe else {}
    others = sorted(set(students_of(where, assignment)) - set(selected))
    exclude = [f"--CourseDirectory.student_id_exclude={','.join(others)}"] if others else []
    for student in selected:  # a fresh outcome for each: no earlier autograded copy is read
        shutil.rmtree(where / "autograded" / student / assignment, ignore_errors=True)
    proc = nbgrader(where, "autograde", assignment, "--force", *exclude, check=False, env=env)
    log = proc.stdout + proc.stderr
    if "SandboxUnavailable" in log:
        raise CourseError(_last_error(log))
    return {student: _outcome(where, assignment, student, log) for student in selected}


def _outcome(where: Path, assignment: str, student: str, log: str) -> str:
    graded = where / "autograded" / student / assignment
    notebooks = sorted(graded.glob("*.ipynb")) if graded.is_dir() else []
    if not notebooks:
        lines = [line for line in log.splitlines() if student in line and "rror" in line]
        return "error: " + (lines[-1].strip() if lines else _last_error(log))
    notes = []
    for notebook in notebooks:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            report = cell.get("metadata", {}).get("gancourse", {})
            notes += report.get("notes", []) + [f"flag: {f}" for f in report.get("flags", [])]
    return "graded" + (f" ({'; '.join(notes)})" if notes else "")


def _last_error(log: str) -> str:
    lines = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
    return (lines[-1] if lines else log.strip().splitlines()[-1:] or ["no output"])[0].strip()


# ------------------------------------------------------------------------------ merge


def merge(root: Path, assignment: str, shards: list[Path]) -> list[str]:
    """Bring the automatic grades (and autograded notebooks) of shard roots into this root's
    gradebook. Manual grades already in this gradebook are kept."""
    from nbgrader.api import Gradebook, MissingEntry

    merged: set[str] = set()
    kept: list[str] = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as main:
        for shard in shards:
            database = shard / "gradebook.db"
            if not database.is_file():
                raise CourseError(f"{shard} has no gradebook.db: is it a shard root?")
            with Gradebook(f"sqlite:///{database}") as part:
                try:
                    submissions = part.assignment_submissions(assignment)
                except MissingEntry:
                    continue
                graded_here = set(students_of(shard, assignment))
                for submission in submissions:
                    student = submission.student_id
                    if student not in graded_here:
                        continue  # a copy of the main gradebook's row, not graded in this shard
                    graded = shard / "autograded" / student / assignment
                    target = root / "autograded" / student / assignment
                    if _graded_at(target) > _graded_at(graded):
                        kept.append(student)  # graded again since: never go back to an older one
                        continue
                    _merge_submission(main, part, assignment, submission)
                    merged.add(student)
                    if graded.is_dir():
                        shutil.rmtree(target, ignore_errors=True)
                        shutil.copytree(graded, target)  # copy2: keeps the grading time
    for student in sorted(set(kept) - merged):
        print(
            f"warning: {student}: kept the newer grade already in {root}; the shard's is older",
            file=sys.stderr,
        )
    return sorted(merged)


def _graded_at(folder: Path) -> float:
    """When the autograded notebooks in `folder` were graded, as their grading report records
    it (copies keep it, unlike file times); 0 when there are none."""
    times = []
    for notebook in folder.glob("*.ipynb") if folder.is_dir() else []:
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue
        for cell in cells[:1]:
            stamp = cell.get("metadata", {}).get("gancourse", {}).get("graded_at")
            if isinstance(stamp, (int, float)):
                times.append(float(stamp))
    return max(times, default=0.0)


def stale_grades(root: Path, assignment: str) -> list[str]:
    """Students whose collected submission is newer than their grade (resubmitted since)."""
    stale = []
    for student in students_of(root, assignment):
        submitted = root / "submitted" / student / assignment
        newest = max((p.stat().st_mtime for p in submitted.glob("*.ipynb")), default=0.0)
        graded = _graded_at(root / "autograded" / student / assignment)
        if graded and newest > graded:
            stale.append(student)
    return stale


def _merge_submission(main, part, assignment: str, submission) -> None:
    student = submission.student_id
    main.update_or_create_student(student)
    main.update_or_create_submission(assignment, student, timestamp=submission.timestamp)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            target = main.find_grade(grade.name, notebook.name, assignment, student)
            target.auto_score = grade.auto_score
            target.needs_manual_grade = grade.needs_manual_grade and target.manual_score is None
        for comment in notebook.comments:
            target = main.find_comment(comment.name, notebook.name, assignment, student)
            target.auto_comment = comment.auto_comment
    main.db.commit()


# ------------------------------------------------------------------------------ feedback, export


def feedback(root: Path, assignment: str) -> Path:
    """nbgrader's feedback pages, made easier to read: each test is listed by its name in the
    score list (nbgrader writes "Test cell" for every one), and long messages wrap."""
    nbgrader(root, "generate_feedback", assignment, "--force")
    for page in (root / "feedback").glob(f"*/{assignment}/*.html"):
        page.write_text(readable_feedback(page.read_text(encoding="utf-8")), encoding="utf-8")
    return root / "feedback"


def report(root: Path, assignment: str) -> Path:
    """The class at a glance (`class_report.py`): what the grader named, over the class."""
    import class_report

    if not any((root / "autograded").glob(f"*/{assignment}")):
        raise CourseError(f"nothing autograded for {assignment} in {root}: run autograde first")
    return class_report.build(root, assignment)


_SCORE_ENTRY = re.compile(r'<a href="#([A-Za-z0-9_.-]+)">Test cell</a>')
_WRAP = (
    "<style>/* gancourse: long messages wrap instead of running off the page */\n"
    ".output_error pre, .output_stream pre, .output_text pre "
    "{ white-space: pre-wrap; overflow-wrap: anywhere; }</style>\n"
)


def readable_feedback(html: str) -> str:
    """A feedback page with test names in its score list and wrapping messages."""
    html = _SCORE_ENTRY.sub(lambda m: f'<a href="#{m[1]}">{m[1]}</a>', html)
    if "gancourse: long messages wrap" not in html:
        html = html.replace("</head>", _WRAP + "</head>", 1)
    return html


EXPORT_FORMATS = ("csv", "canvas", "moodle")


def export(
    root: Path, target: Path, fmt: str = "csv", assignments: list[str] | None = None
) -> Path:
    """Write the grades as `fmt`:

    - `csv`: one row per student; per assignment its score, maximum, status ("graded" or "not
      submitted", which has no score, unlike a 0), submission time, seconds late, and one
      column per test;
    - `canvas`: Canvas's gradebook import (Student, ID, SIS User ID, SIS Login ID, Section, one
      column per assignment, and the "Points Possible" row); ID is the roster's LMS id;
    - `moodle`: Moodle's grade import by user identifier (ID number, Email address, one column
      per assignment); map "ID number" (the student id) or the email when importing.

    Only `assignments` (default: every assignment in the gradebook); not submitted is empty."""
    import csv

    from nbgrader.api import Gradebook, MissingEntry

    if fmt not in EXPORT_FORMATS:
        raise CourseError(f"--format: expected one of {list(EXPORT_FORMATS)}, received {fmt!r}")
    if not (root / "gradebook.db").is_file():
        raise CourseError(f"no gradebook in {root}: nothing has been collected or graded there")
    if not target.resolve().parent.is_dir():
        raise CourseError(f"--to {target}: the folder {target.resolve().parent} does not exist")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        known = {a.name: a for a in gradebook.assignments}
        wanted = assignments or sorted(known)
        missing = [a for a in wanted if a not in known]
        if missing:
            raise CourseError(
                f"not in the gradebook (never released or graded): {', '.join(missing)}; "
                f"it has {', '.join(sorted(known)) or 'none'}"
            )
        tests = {a: [c.name for nb in known[a].notebooks for c in nb.grade_cells] for a in wanted}
        maxima = {a: known[a].max_score for a in wanted}  # read while the session is open
        rows = []  # plain values: the gradebook's objects do not outlive its session
        for student in sorted(gradebook.students, key=lambda s: s.id):
            person = {
                "id": student.id,
                "first": student.first_name or "",
                "last": student.last_name or "",
                "email": student.email or "",
                "lms_id": student.lms_user_id or "",
            }
            grades = {}
            for a in wanted:
                try:
                    sub = gradebook.find_submission(a, student.id)
                except MissingEntry:
                    continue
                grades[a] = {
                    "score": sub.score,
                    "when": sub.timestamp.isoformat(sep=" ") if sub.timestamp else "",
                    "late": sub.total_seconds_late,
                    "tests": {g.name: g.score for nb in sub.notebooks for g in nb.grades},
                }
            rows.append({"student": person, "grades": grades})
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if fmt == "csv":
            header = ["student_id", "name", "email", "lms_id"]
            for a in wanted:
                header += [a, f"{a} max", f"{a} status", f"{a} submitted", f"{a} seconds late"]
                header += [f"{a}: {t}" for t in tests[a]]
            writer.writerow(header)
            for row in rows:
                s = row["student"]
                line = [s["id"], f"{s['first']} {s['last']}".strip(), s["email"], s["lms_id"]]
                for a in wanted:
                    if a not in row["grades"]:
                        line += ["", maxima[a], "not submitted", "", ""] + [""] * len(tests[a])
                        continue
                    g = row["grades"][a]
                    line += [g["score"], maxima[a], "graded", g["when"], g["late"]]
                    line += [g["tests"].get(t, "") for t in tests[a]]
                writer.writerow(line)
        elif fmt == "canvas":
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *wanted])
            writer.writerow(["Points Possible", "", "", "", "", *(maxima[a] for a in wanted)])
            for row in rows:
                s = row["student"]
                name = f"{s['last']}, {s['first']}".strip(", ") or s["id"]
                scores = [row["grades"].get(a, {}).get("score", "") for a in wanted]
                writer.writerow([name, s["lms_id"], s["id"], s["email"], "", *scores])
        else:
            writer.writerow(["ID number", "Email address", *wanted])
            for row in rows:
                s = row["student"]
                scores = [row["grades"].get(a, {}).get("score", "") for a in wanted]
                writer.writerow([s["id"], s["email"], *scores])
    return target


# ------------------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", help="course root (default $GANCOURSE_COURSE_ROOT or autograder/course)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init")
    p = sub.add_parser("release")
    p.add_argument("ids", nargs="*")
    p = sub.add_parser("roster")
    p.add_argument("csv", type=Path, help="columns id, name, email, lms_id")
    p = sub.add_parser("collect")
    p.add_argument("assignment")
    p.add_argument("submissions", type=Path)
    p.add_argument(
        "--allow-skips", action="store_true", help="exit 0 even if some files were not collected"
    )
    p = sub.add_parser("autograde")
    p.add_argument("assignment")
    p.add_argument("--shard", type=parse_shard)
    p.add_argument(
        "--student",
        action="append",
        help="grade only this student (again: after a resubmission); repeat for several",
    )
    p.add_argument(
        "--unsafe",
        action="store_true",
        help="grade even where student code cannot be sandboxed (the feedback says so)",
    )
    p = sub.add_parser("merge")
    p.add_argument("assignment")
    p.add_argument("shards", nargs="+", type=Path)
    p = sub.add_parser("feedback")
    p.add_argument("assignment")
    p = sub.add_parser("report", help="the class at a glance: reports/ID/report.html and .csv")
    p.add_argument("assignment")
    p = sub.add_parser("export")
    p.add_argument("ids", nargs="*", help="assignments to export (default: all in the gradebook)")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    p.add_argument("--to", type=Path, default=Path("grades.csv"))
    sub.add_parser("isolation")
    args = parser.parse_args(argv)
    root = course_root(args.root)
    try:
        if args.command == "init":
            print(f"course root: {init(root)}")
        elif args.command == "release":
            for folder in release(root, args.ids):
                print(f"released {folder}")
        elif args.command == "roster":
            print(f"roster: {len(roster(root, args.csv))} students in the gradebook")
        elif args.command == "collect":
            lines: list[str] = []
            students = collect(root, args.assignment, args.submissions, lines)
            print("\n".join(lines))
            skipped = [line for line in lines if line.startswith("skipped")]
            duplicates = [line for line in lines if line.startswith("duplicate")]
            print(
                f"collected {len(students)} submissions of {args.assignment}; "
                f"{len(skipped)} file(s) skipped, {len(duplicates)} older duplicate(s) left out"
            )
            if skipped and not args.allow_skips:
                print(
                    f"error: {len(skipped)} file(s) not collected (see 'skipped:' above); fix "
                    f"them or add them to the roster, or pass --allow-skips",
                    file=sys.stderr,
                )
                return 1
        elif args.command == "autograde":
            if args.student and args.shard:
                raise CourseError("--student and --shard: give one or the other")
            outcomes = autograde(
                root, args.assignment, args.shard, students=args.student, unsafe=args.unsafe
            )
            for student, outcome in outcomes.items():
                print(f"{student}: {outcome}")
            for student in stale_grades(root, args.assignment):
                print(
                    f"warning: {student}: the collected submission is newer than its grade; "
                    f"regrade it with `autograde {args.assignment} --student {student}`",
                    file=sys.stderr,
                )
            failed = sorted(s for s, outcome in outcomes.items() if outcome.startswith("error"))
            print(f"graded {len(outcomes) - len(failed)} of {len(outcomes)} submissions")
            if failed:
                print(
                    f"error: {len(failed)} submission(s) could not be graded: "
                    f"{', '.join(failed)} (see their lines above)",
                    file=sys.stderr,
                )
                return 1
        elif args.command == "merge":
            print(f"merged {len(merge(root, args.assignment, args.shards))} submissions")
        elif args.command == "feedback":
            print(f"feedback in {feedback(root, args.assignment)}")
        elif args.command == "report":
            print(f"report in {report(root, args.assignment)}")
        elif args.command == "export":
            written = export(root, args.to, args.format, args.ids or None)
            print(f"grades written to {written} ({args.format})")
        elif args.command == "isolation":
            from gancourse.grading.sandbox import isolation_report

            print("\n".join(isolation_report()))
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
