"""The smoke/full switch."""

from __future__ import annotations

import pytest

from gancourse.sizes import by_size, is_smoke, run_size


def test_default_is_full(monkeypatch):
    monkeypatch.delenv("GANCOURSE_SIZE", raising=False)
    assert run_size() == "full" and not is_smoke() and by_size(smoke=1, full=20) == 20


def test_smoke(monkeypatch):
    monkeypatch.setenv("GANCOURSE_SIZE", " Smoke ")
    assert is_smoke() and by_size(smoke=1, full=20) == 1


def test_unknown_size_is_an_error(monkeypatch):
    monkeypatch.setenv("GANCOURSE_SIZE", "medium")
    with pytest.raises(ValueError, match="GANCOURSE_SIZE.*'medium'"):
        run_size()
