"""The repository's address is written once, in pyproject.toml's [project.urls]. The tests read
it from there (book_build.REPO_URL); everything that cannot read it must agree with it: the
book's _config.yml, every notebook's Colab install cell, the docs and any other file that names
the repository or its GitHub Pages site."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from book_build import BOOK, BRANCH, REPO_URL, ROOT, cell_text, load_notebook, project_urls

OWNER, NAME = REPO_URL.removeprefix("https://github.com/").split("/")
PAGES_URL = f"https://{OWNER.lower()}.github.io/{NAME}/"
INSTALL = f'"gancourse @ git+{REPO_URL}@{BRANCH}"'
# Folders that hold no sources: environments, caches, builds, downloaded data.
SKIPPED = {".git", ".venv", ".cache", ".pytest_cache", ".ruff_cache", "__pycache__", "_build"}
SKIPPED |= {"build", "dist", "data", "runs", "node_modules", ".ipynb_checkpoints", "course"}
TEXT_SUFFIXES = {".md", ".ipynb", ".yml", ".yaml", ".toml", ".py", ".txt", ".cfg", ".sh", ".bib"}
TEXT_NAMES = {"Makefile", "run"}  # .ci/run
GITHUB = re.compile(r"github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)")
PAGES = re.compile(r"([A-Za-z0-9-]+)\.github\.io/([A-Za-z0-9_.-]+)/?")
INSTALL_SPEC = re.compile(r"[\"']gancourse\s*@\s*git\+[^\"']*[\"']")


def notebooks() -> list[Path]:
    """The chapters and the source assignments (the released copies are made from these)."""
    found = sorted(BOOK.glob("*.ipynb")) + sorted((ROOT / "notebooks").rglob("*.ipynb"))
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def text_files() -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(ROOT):
        subfolders[:] = sorted(
            d for d in subfolders if d not in SKIPPED and not d.endswith(".egg-info")
        )
        for name in sorted(names):
            path = Path(folder, name)
            if path.suffix in TEXT_SUFFIXES or name in TEXT_NAMES:
                files.append(path)
    return files


def readable_text(path: Path) -> str:
    """A file's text; for a notebook, its cells' sources (the JSON escapes their quotes)."""
    if path.suffix == ".ipynb":
        return "\n".join(cell_text(cell) for cell in load_notebook(path)["cells"])
    return path.read_text(encoding="utf-8", errors="replace")


def mentions_the_course(owner: str, name: str) -> bool:
    """An address that names this repository, or a stale copy of it (an old owner or name)."""
    words = {OWNER.lower(), NAME.lower(), "gancourse"}
    return owner.lower() in words or name.lower().removesuffix(".git") in words


def test_pyproject_names_the_repository_and_its_pages_site():
    urls = project_urls()
    assert re.fullmatch(r"https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", REPO_URL), (
        f"[project.urls] Repository must be https://github.com/OWNER/NAME, not {REPO_URL!r}"
    )
    assert urls.get("Documentation") == PAGES_URL, (
        f"[project.urls] Documentation is {urls.get('Documentation')!r}; the book is published "
        f"by .github/workflows/book.yml to GitHub Pages at {PAGES_URL}"
    )


def test_the_book_config_points_at_the_repository():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repository = config["repository"]
    assert (repository["url"], repository["branch"]) == (REPO_URL, BRANCH), (
        f"_config.yml repository is {repository}; pyproject.toml says {REPO_URL} ({BRANCH})"
    )


@pytest.mark.parametrize("notebook", notebooks(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_notebook_installs_gancourse_from_the_repository(notebook):
    specs = [
        spec
        for cell in load_notebook(notebook)["cells"]
        if cell["cell_type"] == "code"
        for spec in INSTALL_SPEC.findall(cell_text(cell))
    ]
    assert specs, f"{notebook.name}: no Colab install cell (`%pip install {INSTALL}`)"
    assert set(specs) == {INSTALL}, f"{notebook.name} installs {specs}, expected {INSTALL}"


def test_every_file_that_names_the_repository_agrees_with_pyproject():
    wrong = []
    files = text_files()
    assert ROOT / "README.md" in files and ROOT / "_config.yml" in files
    for path in files:
        text = readable_text(path)
        where = path.relative_to(ROOT).as_posix()
        for match in GITHUB.finditer(text):
            owner, name = match.group(1), match.group(2).removesuffix(".git")
            if mentions_the_course(owner, name) and (owner, name) != (OWNER, NAME):
                wrong.append(f"{where}: {match.group(0)} (expected github.com/{OWNER}/{NAME})")
        for match in PAGES.finditer(text):
            if mentions_the_course(*match.groups()) and f"https://{match.group(0)}" not in {
                PAGES_URL,
                PAGES_URL.rstrip("/"),
            }:
                wrong.append(f"{where}: {match.group(0)} (expected {PAGES_URL})")
        for spec in INSTALL_SPEC.findall(text):
            if path != Path(__file__) and spec.replace("'", '"') != INSTALL:
                wrong.append(f"{where}: {spec} (expected {INSTALL})")
    assert not wrong, "addresses that disagree with pyproject.toml [project.urls]:\n" + "\n".join(
        wrong
    )
