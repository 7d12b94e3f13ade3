"""Shared by the book tests: where the book is, and one smoke build per test session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
OUT = ROOT / "_build" / "smoke"  # the same folder as `make book`, so its cache is shared
HTML = OUT / "_build" / "html"
ARTIFACTS = ROOT / "_build" / "test-artifacts"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
REPO_URL = "https://github.com/gancourse/gancourse"
BRANCH = "main"
COLAB = f"https://colab.research.google.com/github/{REPO_URL.removeprefix('https://github.com/')}"


def load_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def build_book() -> subprocess.CompletedProcess:
    """`make book` at the smoke size: every chapter executed, Sphinx warnings are errors."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),
        "GANCOURSE_SIZE": "smoke",
        "GANCOURSE_BOOK_BUILD": "1",
    }
    command = [
        str(Path(venv_bin) / "jupyter-book"),
        "build",
        str(ROOT),
        "--path-output",
        str(OUT),
        "-W",
        "--keep-going",
    ]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
