"""Seconds to autograde one submission of each assignment, and submissions per hour.

    .venv/bin/python bench/autograde_speed.py [--repeat 3]

Grades the reference solution of every assignment in a temporary course root, through the
whole pipeline (an `nbgrader autograde` process per submission, the sandbox, the hidden tests),
`--repeat` students per assignment, and prints the median time per submission. On a GPU
runner, run it there: the equivalence checks then also run on CUDA.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "autograder"))

import course  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="submissions per assignment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        course.release(root, [])
        rows = []
        for assignment in course.assignment_ids():
            folder = Path(tmp) / "submissions" / assignment
            folder.mkdir(parents=True)
            notebook = ROOT / "notebooks" / assignment / f"{assignment}.ipynb"
            for i in range(args.repeat):
                (folder / f"student{i}.ipynb").write_bytes(notebook.read_bytes())
            course.collect(root, assignment, folder)
            seconds = []
            for student in course.students_of(root, assignment):
                start = time.perf_counter()
                outcome = course.autograde(root, assignment, students=[student])[student]
                seconds.append(time.perf_counter() - start)
                assert outcome == "graded", outcome
            rows.append((assignment, statistics.median(seconds)))
    print(f"{'assignment':<24} {'s/submission':>12} {'submissions/hour':>17}")
    for assignment, median in rows:
        print(f"{assignment:<24} {median:>12.1f} {3600 / median:>17.0f}")


if __name__ == "__main__":
    main()
