"""One switch between the three sizes of a run: smoke, cpu and full.

Every chapter trains at the size of the machine it runs on, chosen by the environment variable
``GANCOURSE_SIZE`` instead of by editing cells::

    num_epochs = gc.by_size(smoke=1, cpu=30, full=100)

- ``smoke``: tiny data and a few steps, so the test suite can run every chapter on a 2-core CPU
  in about a minute. Nothing learns at this size.
- ``cpu``: the size for a laptop: each training chapter reaches recognisable digits within a few
  minutes on 2 cores. The published book is built at this size.
- ``full``: the size for a GPU (the numbers a lecture quotes).

Without ``GANCOURSE_SIZE`` the size follows the device: ``full`` where CUDA is available,
``cpu`` otherwise, so a student who opens a notebook on a laptop does not start an hour-long run.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")
SIZES = ("smoke", "cpu", "full")
ENV_VAR = "GANCOURSE_SIZE"


def run_size() -> str:
    """'smoke', 'cpu' or 'full': GANCOURSE_SIZE if set, else 'full' on a GPU and 'cpu' without."""
    size = os.environ.get(ENV_VAR, "").strip().lower()
    if not size:
        return default_size()
    if size not in SIZES:
        raise ValueError(f"{ENV_VAR}: expected one of {list(SIZES)}, received {size!r}")
    return size


def default_size() -> str:
    """The size for this machine when GANCOURSE_SIZE is not set."""
    import torch

    return "full" if torch.cuda.is_available() else "cpu"


def is_smoke() -> bool:
    """True when running at the smoke size (where nothing learns, so prose must not say it did)."""
    return run_size() == "smoke"


def by_size(*, smoke: T, cpu: T, full: T) -> T:
    """The value for the current size."""
    return {"smoke": smoke, "cpu": cpu, "full": full}[run_size()]
