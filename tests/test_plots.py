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


def test_seeds_figure_draws_every_seed_and_the_interval_of_the_runs_that_learned():
    from gancourse.comparison import mean_interval
    from gancourse.plots import seeds_figure

    groups = {"baseline": {0: 10.0, 1: 12.0, 2: 11.0}, "trick": {0: 8.0, 1: 30.0, 2: 9.0}}
    learned = {"trick": {0: True, 1: False, 2: True}}
    fig = seeds_figure(groups, "FID", learned)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["trick", "baseline"]
    points = [c.get_offsets() for c in ax.collections]
    assert sum(len(p) for p in points) == 6  # every seed is drawn, failed ones too
    bars = [line.get_xdata() for line in ax.lines if len(line.get_xdata()) == 2]
    low, high = mean_interval([8.0, 9.0])  # the failed seed is left out of the interval
    assert any(abs(b[0] - low) < 1e-9 and abs(b[1] - high) < 1e-9 for b in bars)
