"""The book's chapters: what every notebook must have, and the executed smoke build."""

from __future__ import annotations

import re
import subprocess
import types
from pathlib import Path

import pytest
import yaml
from book_build import BOOK, BRANCH, CHAPTERS, COLAB, REPO_URL, ROOT, cell_text, load_notebook

EXPECTED_CHAPTERS = 10  # nine that follow the slides, one beyond them


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


# ------------------------------------------------------------------ the sources (no build)


def test_the_toc_lists_every_chapter_and_every_entry_exists():
    files = toc_files()
    assert len(CHAPTERS) == EXPECTED_CHAPTERS
    for chapter in CHAPTERS:
        assert f"book/{chapter.stem}" in files, f"{chapter.name} is not in _toc.yml"
    for entry in files:
        matches = list(ROOT.glob(entry + ".*"))
        assert matches, f"_toc.yml lists {entry}, which has no .md or .ipynb file"


def test_config_sets_the_repository_branch_and_fails_on_execution_errors():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"] == {
        "url": REPO_URL,
        "branch": BRANCH,
        "path_to_book": "",
    }
    assert config["execute"]["allow_errors"] is False
    assert config["launch_buttons"]["colab_url"] == "https://colab.research.google.com"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_are_committed_clean_for_the_python3_kernel(chapter):
    notebook = load_notebook(chapter)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{chapter.name} was committed with outputs"
            assert cell.get("execution_count") is None


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_cpu_size_trains_on_a_fixed_number_of_digits(chapter):
    """The published (cpu) build must do the same work offline and on a runner that can
    download all of MNIST: every data limit is a number at the cpu size, never None."""
    for cell in load_notebook(chapter)["cells"]:
        source = cell_text(cell)
        for call in re.findall(r"limit\s*=\s*gc\.by_size\(([^)]*)\)", source):
            cpu = re.search(r"cpu\s*=\s*([^,]+)", call)
            assert cpu and cpu.group(1).strip() != "None", (
                f"{chapter.name}: a data limit without a fixed cpu size: by_size({call})"
            )


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_have_one_title_exercises_and_collapsed_solutions(chapter):
    markdown = [
        cell_text(c) for c in load_notebook(chapter)["cells"] if c["cell_type"] == "markdown"
    ]
    text = "\n".join(markdown)
    fenced = re.sub(r"```.*?```", "", text, flags=re.S)  # headings inside code blocks don't count
    titles = re.findall(r"^# \S", fenced, flags=re.M)
    assert len(titles) == 1, f"{chapter.name}: expected one '# ' title, found {len(titles)}"
    assert re.search(r"^## Exercises", fenced, flags=re.M), f"{chapter.name} has no exercises"
    assert re.search(r":::\{admonition\} Solutions\s*\n:class: dropdown", text), (
        f"{chapter.name}: the solutions must be in a collapsed (dropdown) admonition"
    )


def first_cell_calls(chapter: Path, installed: bool) -> list[tuple[str, str]]:
    """Run a chapter's first cell with IPython's magics recorded instead of executed."""
    from IPython.core.inputtransformer2 import TransformerManager

    cell = load_notebook(chapter)["cells"][0]
    assert cell["cell_type"] == "code"
    python = TransformerManager().transform_cell(cell_text(cell))
    calls: list[tuple[str, str]] = []
    shell = types.SimpleNamespace(
        run_line_magic=lambda name, line: calls.append((name, line)),
        run_cell_magic=lambda name, line, body: calls.append((name, line)),
        system=lambda command: calls.append(("system", command)),
    )
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args):
        if name == "gancourse" and not installed:
            return None
        return real_find_spec(name, *args)

    importlib.util.find_spec = find_spec
    try:
        exec(compile(python, str(chapter), "exec"), {"get_ipython": lambda: shell})
    finally:
        importlib.util.find_spec = real_find_spec
    return calls


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_the_first_cell_installs_gancourse_only_where_it_is_missing(chapter):
    assert first_cell_calls(chapter, installed=True) == []
    calls = first_cell_calls(chapter, installed=False)
    assert len(calls) == 1 and calls[0][0] == "pip"
    assert f"git+{REPO_URL}@{BRANCH}" in calls[0][1]


def test_the_glossary_gives_the_slides_korean_terms():
    glossary = (BOOK / "glossary.md").read_text(encoding="utf-8")
    for english, korean in [
        ("Generator", "생성기"),
        ("Generator", "생성자"),
        ("Discriminator", "판별기"),
        ("Discriminator", "판별자"),
        ("Generative adversarial network", "생성적 적대 신경망"),
        ("Mode collapse", "모드 붕괴"),
    ]:
        block = glossary.split(f"\n{english}", 1)
        assert len(block) == 2, f"the glossary has no entry {english!r}"
        assert korean in block[1].split("\n\n", 1)[0], f"{english}: expected {korean}"


# ------------------------------------------------------------------ the executed build


@pytest.mark.book
def test_every_toc_entry_is_a_built_page(built_book):
    for entry in toc_files():
        page = built_book / f"{entry}.html"
        assert page.is_file(), f"{page} was not built"


@pytest.mark.book
def test_pages_load_mathjax_from_the_books_own_copy(built_book):
    """Built or opened offline, the maths must still render: no page points at a CDN."""
    assert (built_book / "_static" / "mathjax" / "tex-mml-chtml.js").is_file(), (
        "the local MathJax was not copied: run `make mathjax` before building"
    )
    page = (built_book / "book" / "02_minimax_and_bce.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-mml-chtml.js" in page
    assert "cdn.jsdelivr.net" not in page


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_colab_links_open_a_tracked_notebook_on_the_configured_branch(built_book, chapter):
    page = (built_book / "book" / f"{chapter.stem}.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', page))
    assert links, f"{chapter.stem}.html has no 'open in Colab' link"
    tracked = set(
        subprocess.run(
            ["git", "ls-files", "book"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    )
    for link in links:
        prefix = f"{COLAB}/blob/{BRANCH}/"
        assert link.startswith(prefix), f"unexpected Colab link {link}"
        target = link.removeprefix(prefix)
        assert (ROOT / target).is_file(), f"{link} points at {target}, which does not exist"
        assert target in tracked, f"{link} points at {target}, which git does not track"


@pytest.mark.book
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_page_has_figures_made_by_its_code(built_book, chapter):
    page = (built_book / "book" / f"{chapter.stem}.html").read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]+src="(\.\./_images/[^"]+\.png)"', page)
    assert images, f"{chapter.stem}.html shows no figure produced by its code"
    assert "Traceback (most recent call last)" not in page


@pytest.mark.book
def test_the_built_site_has_no_solutions_hidden_tests_or_grading_references(built_book):
    secrets = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "check_equivalent_to_reference")
    files = [p for p in built_book.rglob("*") if p.suffix in (".html", ".ipynb", ".txt", ".js")]
    assert files
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        for secret in secrets:
            assert secret not in text, f"{file} contains {secret!r}"
