"""Seconds to autograde one submission of each assignment, and submissions per hour.

    .venv/bin/python bench/autograde_speed.py [--students 8] [--assignments a3_dcgan] [--unsafe]

Collects and grades `--students` copies of the reference solution of every assignment in a
temporary course root, through the whole pipeline (one `nbgrader autograde` process for the
class, a bubblewrap sandbox per submission, the tests in the grader's process), and prints the
time per submission, collect included. The grading process says in its log whether the checks
ran on CUDA (the equivalence check runs on the CPU and on CUDA when there is a GPU). `--unsafe`
grades without the sandbox, for a machine without bubblewrap; the output says so.
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
    parser.add_argument("--students", type=int, default=8, help="submissions per assignment")
    parser.add_argument("--assignments", nargs="+", default=None, help="default: all of them")
    parser.add_argument(
        "--unsafe", action="store_true", help="no sandbox (a machine without bubblewrap)"
    )
    args = parser.parse_args()
    import torch

    where = f"CUDA ({torch.cuda.get_device_name()})" if torch.cuda.is_available() else "CPU only"
    print(f"grading on: {where}; sandbox: {'NONE (--unsafe)' if args.unsafe else 'bubblewrap'}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "course"
        assignments = args.assignments or course.assignment_ids()
        course.release(root, assignments)
        rows = []
        for assignment in assignments:
            folder = Path(tmp) / "submissions" / assignment
            folder.mkdir(parents=True)
            notebook = ROOT / "notebooks" / assignment / f"{assignment}.ipynb"
            for i in range(args.students):
                (folder / f"student{i}.ipynb").write_bytes(notebook.read_bytes())
            start = time.perf_counter()
            course.collect(root, assignment, folder)
            collected = time.perf_counter()
            outcomes = course.autograde(root, assignment, unsafe=args.unsafe)
            done = time.perf_counter()
            assert all(o.startswith("graded") for o in outcomes.values()), outcomes
            per = (done - start) / args.students
            rows.append((assignment, (collected - start) / args.students, per))
    print(f"{args.students} submissions per assignment, collect + autograde, one process per class")
    print(f"{'assignment':<24} {'collect s':>10} {'s/submission':>13} {'submissions/hour':>17}")
    for assignment, collect_s, per in rows:
        print(f"{assignment:<24} {collect_s:>10.2f} {per:>13.1f} {3600 / per:>17.0f}")
    print(f"mean: {statistics.mean(r[2] for r in rows):.1f} s per submission end to end")


if __name__ == "__main__":
    main()
