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


def test_sample_grids_figure_puts_titled_grids_side_by_side(monkeypatch):
    import IPython.display
    import pytest

    from gancourse.plots import sample_grids_figure, show_sample_grids

    grey = torch.rand(16, 1, 8, 8) * 2 - 1
    colour = torch.rand(4, 3, 8, 8) * 2 - 1
    fig = sample_grids_figure({"this run": grey, "pretrained": colour})
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["this run", "pretrained"]
    assert [len(ax.get_images()) for ax in axes] == [1, 1]
    assert axes[0].get_images()[0].get_array().shape[:2] == (4 * 10 + 2, 4 * 10 + 2)  # 4x4 tiles
    with pytest.raises(ValueError, match="at least one"):
        sample_grids_figure({})
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    assert show_sample_grids({"a": grey}) is None
    assert [type(obj).__name__ for obj in shown] == ["Image"]
