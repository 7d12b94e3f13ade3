"""Where the code is running: a live notebook, or the book build that turns notebooks into pages.

A static HTML page can show neither an ipywidgets progress bar nor a slider, so the build
(`make book`) sets ``GANCOURSE_BOOK_BUILD=1``: progress bars then print as text, and each
interactive widget is replaced by a figure of what it would show.
"""

from __future__ import annotations

import os
import sys
from typing import Any

BUILD_ENV_VAR = "GANCOURSE_BOOK_BUILD"


def in_book_build() -> bool:
    """True while the book's pages are being built (GANCOURSE_BOOK_BUILD=1)."""
    return os.environ.get(BUILD_ENV_VAR, "").strip().lower() in ("1", "true", "yes")


def progress_bar(iterable: Any = None, **kwargs: Any):
    """A tqdm bar: a widget in a live notebook, text in a terminal and in the book build."""
    if in_book_build():
        from tqdm.std import tqdm

        kwargs.setdefault("file", sys.stdout)
    else:
        from tqdm.auto import tqdm
    return tqdm(iterable, **kwargs)
