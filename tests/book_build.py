"""Shared by the book tests: where the book is, and one smoke build per test session."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
OUT = ROOT / "_build" / "smoke"  # the same folder as `make book`, so its cache is shared
HTML = OUT / "_build" / "html"
ARTIFACTS = ROOT / "_build" / "test-artifacts"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
BRANCH = "main"


def project_urls() -> dict[str, str]:
    """pyproject.toml's [project.urls]: the one place the repository's address is written
    (tests/test_repository_url.py checks that everything else agrees with it)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the table holds only `key = "value"` lines
        table = re.search(r"^\[project\.urls\]\n(.*?)(?=^\[|\Z)", text, flags=re.M | re.S)
        pairs = re.findall(r'^([\w-]+)\s*=\s*"([^"]*)"', table.group(1) if table else "", re.M)
        return dict(pairs)
    return tomllib.loads(text)["project"].get("urls", {})


REPO_URL = project_urls()["Repository"]
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
