"""Progress bars, and where the code runs: a live notebook, or the book build that makes pages.

A static HTML page can show neither an ipywidgets progress bar nor a slider, so the build
(`make book`) sets ``GANCOURSE_BOOK_BUILD=1``: progress bars then print their final state as one
line of text, and each interactive widget is replaced by a figure of what it would show. It sits
below the core (training, data and metrics import it), so `gancourse.book` keeps to the chapters.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

BUILD_ENV_VAR = "GANCOURSE_BOOK_BUILD"


def in_book_build() -> bool:
    """True while the book's pages are being built (GANCOURSE_BOOK_BUILD=1)."""
    return os.environ.get(BUILD_ENV_VAR, "").strip().lower() in ("1", "true", "yes")


def progress_bar(iterable: Any = None, **kwargs: Any):
    """A tqdm bar: a widget in a live notebook, text in a terminal, one final line in the book."""
    if in_book_build():
        return _final_line_bar()(iterable, **kwargs)
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def _final_line_bar():
    from tqdm.std import tqdm

    class FinalLineBar(tqdm):
        """Draws nowhere while running; prints its last state (count, time, rate) once."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["file"] = io.StringIO()
            self._printed = False
            super().__init__(*args, **kwargs)

        def close(self) -> None:
            if not self.disable and not self._printed:
                self._printed = True
                print(str(self), file=sys.stdout, flush=True)
            super().close()

    return FinalLineBar
