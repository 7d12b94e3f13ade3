"""Whose notebook is it? Every file of an LMS download is collected as its student, or skipped
with the reason, and a student's newest notebook is the one graded."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "autograder"))

import course  # noqa: E402  (autograder/course.py)
from lms import Roster, identify, slug  # noqa: E402

ASSIGNMENTS = ["a1_losses", "a2_vanilla_gan"]


@pytest.mark.parametrize(
    ("path", "student", "how"),
    [
        ("smith_carol_12345_a2_vanilla_gan.ipynb", "smith_carol", "canvas"),
        ("smithcarol_LATE_12345_67890_a2_vanilla_gan.ipynb", "smithcarol", "canvas"),
        ("Quinn Lee_301_assignsubmission_file_/a2_vanilla_gan.ipynb", "quinn_lee", "moodle"),
        (
            "A2 Vanilla GAN_jdoe_attempt_2026-11-30-14-22-05_a2_vanilla_gan.ipynb",
            "jdoe",
            "blackboard",
        ),
        ("bob/a2_vanilla_gan (1).ipynb", "bob", "folder"),
        ("John Smith.ipynb", "john_smith", "file name"),
        ("josé.ipynb", "jose", "file name"),
        ("reference.ipynb", "reference", "file name"),
    ],
)
def test_each_lms_naming_convention_gives_the_student(path, student, how):
    found = identify(Path(path), Roster.empty(), ASSIGNMENTS)
    assert not isinstance(found, str), found
    assert (found.student, found.how) == (student, how)


def test_names_map_through_the_roster_and_unusable_names_say_why():
    roster = Roster({"12345": "cs101_017"}, {slug("Quinn Lee"): "qlee"}, {"cs101_017", "qlee"})
    canvas = identify(Path("smith_carol_12345_a2.ipynb"), roster, ASSIGNMENTS)
    moodle = identify(Path("Quinn Lee_301_assignsubmission_file_/x.ipynb"), roster, ASSIGNMENTS)
    assert canvas.student == "cs101_017" and moodle.student == "qlee"
    assert "names the assignment" in identify(Path("a2_vanilla_gan (1).ipynb"), roster, ASSIGNMENTS)
    assert "no usable student id" in identify(Path("日本.ipynb"), roster, ASSIGNMENTS)
    assert slug("José Núñez") == "jose_nunez" == slug("  JOSÉ  núñez ")


def test_collect_accounts_for_every_file_and_takes_the_newest_of_two(tmp_path, capsys):
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    notebook = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    folder = tmp_path / "download"
    files = {
        "alice/first.ipynb": 100,
        "alice/second.ipynb": 200,  # newer: taken
        "smith_carol_12345_a1_losses.ipynb": 100,
        "Quinn Lee_301_assignsubmission_file_/a1_losses.ipynb": 100,
        "a1_losses (1).ipynb": 100,  # whose?
    }
    for path, when in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(notebook)
        os.utime(folder / path, (when, when))
    (folder / "broken").mkdir()
    (folder / "broken" / "x.ipynb").write_text("not json")
    root = tmp_path / "course"
    root.mkdir()
    report: list[str] = []
    assert course.collect(root, "a1_losses", folder, report) == [
        "alice",
        "quinn_lee",
        "smith_carol",
    ]
    text = "\n".join(report)
    assert "took the newest, alice/second.ipynb" in text
    assert "skipped: a1_losses (1).ipynb: the file name names the assignment" in text
    assert "skipped: broken/x.ipynb" in text and "not a notebook" in text
    assert len(report) == len(files) + 1  # every file has its line
    # from the command line: a skipped file is an error unless the instructor allows it
    args = ["--root", str(root), "collect", "a1_losses", str(folder)]
    assert course.main(args) == 1
    assert "2 file(s) not collected" in capsys.readouterr().err
    assert course.main([*args, "--allow-skips"]) == 0


def test_a_roster_maps_lms_ids_to_the_courses_ids(tmp_path):
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    root = tmp_path / "course"
    csv = tmp_path / "students.csv"
    csv.write_text("id,name,email,lms_id\ncs101_017,Carol Smith,carol@uni.edu,12345\n")
    assert course.roster(root, csv) == ["cs101_017"]
    folder = tmp_path / "download"
    folder.mkdir()
    (folder / "smithcarol_12345_67890_a1_losses.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    assert course.collect(root, "a1_losses", folder) == ["cs101_017"]


def test_exports_are_what_canvas_and_moodle_import_and_not_submitted_is_not_zero(tmp_path):
    import csv

    from nbgrader.api import Gradebook

    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    root = tmp_path / "course"
    roster_csv = tmp_path / "students.csv"
    roster_csv.write_text(
        "id,name,email,lms_id\ncarol,Carol Smith,carol@uni.edu,12345\ndan,Dan Ng,dan@uni.edu,7\n"
    )
    course.roster(root, roster_csv)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        gradebook.add_assignment("a1_losses")
        gradebook.add_submission("a1_losses", "carol")  # dan never handed it in

    def table(fmt):
        return list(csv.reader(course.export(root, tmp_path / f"{fmt}.csv", fmt).open()))

    plain = table("csv")
    rows = {r[0]: dict(zip(plain[0], r, strict=True)) for r in plain[1:]}
    assert rows["carol"]["a1_losses status"] == "graded" and rows["carol"]["a1_losses"] == "0.0"
    assert rows["dan"]["a1_losses status"] == "not submitted" and rows["dan"]["a1_losses"] == ""
    assert rows["carol"]["email"] == "carol@uni.edu" and rows["carol"]["lms_id"] == "12345"
    canvas = table("canvas")
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "a1_losses"]
    assert canvas[1][0] == "Points Possible"
    assert canvas[2][:4] == ["Smith, Carol", "12345", "carol", "carol@uni.edu"]
    assert canvas[3][-1] == ""  # not submitted: no grade, not a zero
    assert table("moodle")[0] == ["ID number", "Email address", "a1_losses"]
    with pytest.raises(course.CourseError, match="not in the gradebook"):
        course.export(root, tmp_path / "x.csv", "csv", ["a5_modern_objectives"])
