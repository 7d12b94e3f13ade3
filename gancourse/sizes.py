"""One switch between a "smoke" size and the full size of a run.

The test suite and the book's CI build run every chapter on a 2-core CPU, so each chapter has
a smoke size (tiny data, a few steps) next to its full size, chosen by the environment variable
``GANCOURSE_SIZE`` (``smoke`` or ``full``, default ``full``) instead of by editing cells::

    num_epochs = gc.by_size(smoke=1, full=20)
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")
SIZES = ("smoke", "full")
ENV_VAR = "GANCOURSE_SIZE"


def run_size() -> str:
    """'smoke' or 'full', from GANCOURSE_SIZE (default 'full')."""
    size = os.environ.get(ENV_VAR, "full").strip().lower() or "full"
    if size not in SIZES:
        raise ValueError(f"{ENV_VAR}: expected one of {list(SIZES)}, received {size!r}")
    return size


def is_smoke() -> bool:
    """True when running at the smoke size."""
    return run_size() == "smoke"


def by_size(*, smoke: T, full: T) -> T:
    """The value for the current size."""
    return smoke if is_smoke() else full
