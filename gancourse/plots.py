"""Figures of training: sample grids and loss curves, on screen and as files.

File writers build a `matplotlib.figure.Figure` directly (no pyplot state), so they work in a
terminal, a headless CI run and a notebook alike; `show_*` functions display in a notebook.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path

import torch
from matplotlib.figure import Figure

from gancourse.checks import check_tensor
from gancourse.history import History


def image_grid(
    images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0), nrow: int | None = None
) -> torch.Tensor:
    """Tile a batch (N, C, H, W) into one image (C, H', W') with values in [0, 1]."""
    from torchvision.utils import make_grid

    images = check_tensor(images, "images").detach().float().cpu()
    if images.dim() != 4:
        raise ValueError(
            f"images: expected a batch (N, C, H, W), received shape {tuple(images.shape)}"
        )
    lo, hi = value_range
    images = ((images - lo) / (hi - lo)).clamp(0, 1)
    nrow = nrow or max(1, round(images.shape[0] ** 0.5))
    return make_grid(images, nrow=nrow, padding=2, pad_value=1.0)


def draw_image(ax, image: torch.Tensor, lo: float = -1.0, hi: float = 1.0) -> None:
    """Draw one (C, H, W) image with values in [lo, hi] on a matplotlib axes, without ticks."""
    image = ((image.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(image.permute(1, 2, 0).numpy())
    ax.set_xticks([])
    ax.set_yticks([])


def sample_grid_figure(
    images: torch.Tensor,
    value_range: tuple[float, float] = (-1.0, 1.0),
    title: str | None = None,
    nrow: int | None = None,
    size: float = 5.0,
) -> Figure:
    """A figure showing a grid of images (grey or colour)."""
    grid = image_grid(images, value_range, nrow)
    fig = Figure(figsize=(size, size * grid.shape[1] / grid.shape[2]))
    ax = fig.add_subplot()
    if grid.shape[0] == 1:
        ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(grid.permute(1, 2, 0).numpy())
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def sample_grids_figure(
    grids: Mapping[str, torch.Tensor],
    value_range: tuple[float, float] = (-1.0, 1.0),
    nrow: int | None = None,
    size: float = 4.0,
) -> Figure:
    """Several sample grids side by side, each titled by its key (e.g. a run beside a
    pretrained generator). Every batch is (N, C, H, W) in `value_range`."""
    if not grids:
        raise ValueError("grids: expected at least one titled batch of images, received none")
    tiles = {title: image_grid(images, value_range, nrow) for title, images in grids.items()}
    height = max(t.shape[1] / t.shape[2] for t in tiles.values())
    fig = Figure(figsize=(size * len(tiles), size * height + 0.5))
    axes = fig.subplots(1, len(tiles), squeeze=False)[0]
    for ax, (title, grid) in zip(axes, tiles.items(), strict=True):
        if grid.shape[0] == 1:
            ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(grid.permute(1, 2, 0).numpy())
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def loss_curve_figure(history: History, smooth: int = 20) -> Figure:
    """Losses (left) and D's mean output on real and fake images (right) per generator step."""
    fig = Figure(figsize=(10, 3.5))
    ax_loss, ax_d = fig.subplots(1, 2)
    for name, label in (("loss_d", "discriminator loss"), ("loss_g", "generator loss")):
        ax_loss.plot(history.step, _moving_average(getattr(history, name), smooth), label=label)
    for name, label in (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")):
        ax_d.plot(history.step, _moving_average(getattr(history, name), smooth), label=label)
    ax_d.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax_loss.set(xlabel="generator step", ylabel="loss", title="losses")
    ax_d.set(
        xlabel="generator step",
        ylabel="mean probability",
        ylim=(0, 1),
        title="discriminator outputs",
    )
    ax_loss.legend()
    ax_d.legend()
    fig.tight_layout()
    return fig


def save_sample_grid(
    images: torch.Tensor, path: str | Path, value_range: tuple[float, float] = (-1.0, 1.0)
) -> Path:
    """Write a grid of images as a PNG, pixel for pixel (no axes)."""
    from torchvision.utils import save_image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(image_grid(images, value_range), path)
    return path


def save_loss_curves(history: History, path: str | Path) -> Path:
    """Write `loss_curve_figure(history)` as a PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    loss_curve_figure(history).savefig(path, dpi=100)
    return path


def show_samples(
    images: torch.Tensor,
    value_range: tuple[float, float] = (-1.0, 1.0),
    title: str | None = None,
    nrow: int | None = None,
) -> None:
    """Display a grid of images in a notebook (`sample_grid_figure` returns the figure)."""
    display_figure(sample_grid_figure(images, value_range, title, nrow))


def show_sample_grids(
    grids: Mapping[str, torch.Tensor],
    value_range: tuple[float, float] = (-1.0, 1.0),
    nrow: int | None = None,
) -> None:
    """Display titled sample grids side by side (`sample_grids_figure` returns the figure)."""
    display_figure(sample_grids_figure(grids, value_range, nrow))


def show_history(history: History, smooth: int = 20) -> None:
    """Display the loss curves in a notebook (`loss_curve_figure` returns the figure)."""
    display_figure(loss_curve_figure(history, smooth))


def display_figure(fig: Figure) -> None:
    """Show `fig` as a PNG whatever matplotlib backend is active (inline, Agg, or none).

    Returning nothing keeps a notebook from drawing the figure a second time as the cell's
    value."""
    try:
        from IPython.display import Image, display
    except ImportError:  # plain Python: nothing to display on
        return
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    display(Image(data=buffer.getvalue(), format="png"))


def _moving_average(values: list[float], window: int) -> list[float]:
    if window <= 1 or len(values) < window:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    csum = torch.cat([torch.zeros(1, dtype=torch.float64), t.cumsum(0)])
    out = [(csum[i + 1] / (i + 1)).item() for i in range(window - 1)]
    out += ((csum[window:] - csum[:-window]) / window).tolist()
    return out


def seeds_figure(
    groups: Mapping[str, Mapping[int, float]],
    metric: str,
    learned: Mapping[str, Mapping[int, bool]] | None = None,
    level: float = 0.95,
    title: str | None = None,
) -> Figure:
    """Every seed as a dot, one row per setting, with the mean and its t interval over seeds.

    Runs that did not learn (`learned[name][seed]` False) are drawn hollow and left out of the
    mean and the interval, as `gancourse.comparison` leaves them out of every verdict.
    """
    from gancourse.comparison import mean_interval

    if not groups:
        raise ValueError("groups: expected at least one setting, received none")
    learned = learned or {}
    names = list(groups)
    fig = Figure(figsize=(7.0, 0.55 * len(names) + 1.2))
    ax = fig.add_subplot()
    for row, name in enumerate(names):
        y = len(names) - 1 - row
        values = groups[name]
        ok = learned.get(name, {})
        kept = [v for s, v in values.items() if ok.get(s, True)]
        failed = [v for s, v in values.items() if not ok.get(s, True)]
        ax.scatter(kept, [y] * len(kept), color="C0", zorder=3, s=22)
        ax.scatter(failed, [y] * len(failed), facecolors="none", edgecolors="C3", zorder=3, s=22)
        if kept:
            mean = sum(kept) / len(kept)
            ax.plot([mean], [y], marker="|", color="black", markersize=16, zorder=4)
            if len(kept) > 1:
                low, high = mean_interval(kept, level)
                ax.plot([low, high], [y, y], color="black", lw=1.5, zorder=2)
    every = [v for values in groups.values() for v in values.values()]
    span = (max(every) - min(every)) or abs(max(every)) or 1.0
    # An interval from two runs can be huge: keep the axis on the seeds, clip the bars.
    ax.set_xlim(min(every) - 0.15 * span, max(every) + 0.15 * span)
    ax.set_yticks(range(len(names)), list(reversed(names)))
    ax.set_xlabel(
        f"{metric}: dots are seeds (hollow red: did not learn); bar: mean and {level:.0%} interval"
    )
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
