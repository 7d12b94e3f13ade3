"""The smoke/cpu/full switch, and its default from the device."""

from __future__ import annotations

import pytest
import torch

from gancourse.sizes import by_size, is_smoke, run_size


def test_default_follows_the_device(monkeypatch):
    monkeypatch.delenv("GANCOURSE_SIZE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run_size() == "cpu" and not is_smoke() and by_size(smoke=1, cpu=5, full=20) == 5
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert run_size() == "full" and by_size(smoke=1, cpu=5, full=20) == 20


@pytest.mark.parametrize(("value", "expected"), [(" Smoke ", 1), ("cpu", 5), ("FULL", 20)])
def test_the_variable_wins_over_the_device(monkeypatch, value, expected):
    monkeypatch.setenv("GANCOURSE_SIZE", value)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert by_size(smoke=1, cpu=5, full=20) == expected
    assert is_smoke() == (expected == 1)


def test_an_empty_variable_means_unset(monkeypatch):
    monkeypatch.setenv("GANCOURSE_SIZE", "  ")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert run_size() == "cpu"


def test_unknown_size_is_an_error(monkeypatch):
    monkeypatch.setenv("GANCOURSE_SIZE", "medium")
    with pytest.raises(ValueError, match=r"GANCOURSE_SIZE.*'smoke', 'cpu', 'full'.*'medium'"):
        run_size()
