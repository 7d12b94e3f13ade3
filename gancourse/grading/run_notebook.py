"""Execute one notebook the way nbgrader's autograder does; run inside the sandbox.

    python -m gancourse.grading.run_notebook IN.ipynb OUT.ipynb --cell-timeout 120 --kernel python3

Uses nbgrader's own Execute preprocessor (errors are recorded in the cell, execution goes on
after a failing or timed-out cell), so a notebook graded through the sandbox gets exactly the
outputs it would get from `nbgrader autograde` without one.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import nbformat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--kernel", default="python3")
    args = parser.parse_args(argv)

    from nbgrader.preprocessors import Execute

    notebook = nbformat.read(args.source, as_version=4)
    executor = Execute(timeout=args.cell_timeout, kernel_name=args.kernel)
    resources = {"metadata": {"path": str(args.source.parent)}}
    os.environ.setdefault("NBGRADER_EXECUTION", "autograde")
    notebook, _ = executor.preprocess(notebook, resources)
    nbformat.write(notebook, args.target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
