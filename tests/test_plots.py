"""Figures shown in notebooks."""

import torch

from gancourse.history import History


def test_show_samples_displays_a_png_and_returns_nothing(monkeypatch):
    """Under any backend (the book build's too) a notebook gets an image, once."""
    import IPython.display

    from gancourse.plots import show_history, show_samples

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    assert show_samples(torch.rand(4, 1, 8, 8) * 2 - 1, title="x") is None
    history = History()
    for step in range(3):
        history.append(step, 0, {name: 0.5 for name in History.STATS})
    assert show_history(history, smooth=1) is None
    assert [type(obj).__name__ for obj in shown] == ["Image", "Image"]
    assert all(obj.data[:8] == b"\x89PNG\r\n\x1a\n" for obj in shown)
