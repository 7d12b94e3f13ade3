"""Sphinx extension: MathJax from the course's own copy, so a book built offline renders.

Sphinx points every page with maths at MathJax 3 on a CDN (`mathjax_path` in _config.yml). A
book built on a machine without internet, or opened on one, then shows raw TeX. `make book`
installs MathJax 3 from the npm registry into `.cache/npm` (the same copy the browser test
uses); where that copy exists, this extension points `mathjax_path` at it and copies its `es5`
folder (the script, its components and fonts) into the built site's `_static/mathjax/`. A
build without the copy (e.g. `jupyter-book build .` by hand) keeps the CDN.
"""

from __future__ import annotations

import shutil
from pathlib import Path

LOCAL = Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "mathjax" / "es5"
TARGET = "mathjax"  # folder under _static/
SCRIPT = "tex-mml-chtml.js"


def use_local_copy(app, config) -> None:
    if (LOCAL / SCRIPT).is_file():
        config.mathjax_path = f"{TARGET}/{SCRIPT}"  # relative: Sphinx reads it under _static/


def copy_local_copy(app, exception) -> None:
    if exception is None and app.builder.format == "html" and (LOCAL / SCRIPT).is_file():
        shutil.copytree(LOCAL, Path(app.outdir) / "_static" / TARGET, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", use_local_copy)
    app.connect("build-finished", copy_local_copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
