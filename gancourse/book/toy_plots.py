"""Pictures of toy GAN runs: Goodfellow et al.'s Figure 1 in 1-D, and G's samples over the modes
of a 2-D mixture.

Figure 1 of Goodfellow et al. (2014) shows, on one line, the data density p_data (black,
dotted), the generator's density p_g (green, solid) and the discriminator D (blue, dashed), with
arrows from the noise line z below to x = G(z) above. As training goes, p_g moves onto p_data
and D flattens to 1/2. `figure1_panels` draws those four panels from a `ToyRun`:

- p_g is not known in closed form (G is a network), so it is estimated from G's snapshot samples
  with a Gaussian kernel density estimate (`kernel_density`);
- D is the snapshot's `d_grid`, D's probability on the run's grid;
- the arrows join a few fixed noise values z to G(z) at that step.

`optimal_discriminator` is the closed form D*(x) = p_data(x) / (p_data(x) + p_g(x)) that the
chapter derives, so D can be checked against it numerically.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from matplotlib.figure import Figure

from gancourse.checks import check_tensor, describe

__all__ = [
    "figure1_panels",
    "kernel_density",
    "optimal_discriminator",
    "pick_snapshots",
    "points_figure",
    "variants_figure",
]

SAFE_TOTAL = 1e-12  # p_data + p_g below this: no evidence either way, D* = 1/2
NUM_ARROWS = 15  # noise values drawn as arrows z -> G(z) in figure1_panels


# --------------------------------------------------------------------------- densities


def kernel_density(
    samples: torch.Tensor, x: torch.Tensor, bandwidth: float | None = None
) -> torch.Tensor:
    """A Gaussian kernel density estimate of the samples' density, evaluated at the points x.

    Why: G defines p_g only implicitly (we can sample it, not evaluate it), so to draw p_g or
    compute D* we estimate it from G's samples. `samples` is (n,) or (n, d), `x` is (M,) or
    (M, d); the result is (M,) in x's dtype. Each dimension gets its own bandwidth, by Scott's
    rule h_j = std_j * n^(-1 / (d + 4)), unless `bandwidth` (a positive number, the same in
    every dimension) is given. The estimate is computed in float64.
    """
    samples = check_tensor(samples, "samples").detach()
    x = check_tensor(x, "x").detach()
    if samples.dim() == 1:
        samples = samples[:, None]
    if x.dim() == 1:
        x = x[:, None]
    if samples.dim() != 2 or samples.shape[0] < 2:
        raise ValueError(
            f"samples: expected at least 2 points, shape (n,) or (n, d), received "
            f"{describe(samples)}"
        )
    if x.dim() != 2 or x.shape[1] != samples.shape[1]:
        raise ValueError(
            f"x: expected points of shape (M,) or (M, {samples.shape[1]}) like the samples, "
            f"received {describe(x)}"
        )
    if not torch.isfinite(samples).all():
        raise ValueError("samples: expected finite values, received NaN or infinite values")
    n, d = samples.shape
    s = samples.double().cpu()
    if bandwidth is None:
        h = s.std(dim=0) * n ** (-1.0 / (d + 4))
        # All samples equal (a fully collapsed G): keep a tiny kernel instead of dividing by 0.
        h = h.clamp_min(1e-6 * max(1.0, float(s.abs().max())))
    else:
        if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float) or bandwidth <= 0:
            raise ValueError(
                f"bandwidth: expected a positive number or None, received {bandwidth!r}"
            )
        h = torch.full((d,), float(bandwidth), dtype=torch.float64)
    points = x.double().cpu()
    out = torch.empty(points.shape[0], dtype=torch.float64)
    norm = n * torch.prod(h) * (2 * math.pi) ** (d / 2)
    chunk = max(1, 2_000_000 // n)  # bound the (chunk, n, d) work array
    for start in range(0, points.shape[0], chunk):
        u = (points[start : start + chunk, None, :] - s[None]) / h  # (chunk, n, d)
        out[start : start + chunk] = torch.exp(-0.5 * (u**2).sum(-1)).sum(1) / norm
    return out.to(x.dtype)


def optimal_discriminator(p_data: torch.Tensor, p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), the best D for a fixed G (Goodfellow et al.,
    Proposition 1).

    Why: it tells what a well-trained D should output, so the learnt D can be checked against
    it. Where both densities are ~0 (below 1e-12) there is no evidence either way and D* = 1/2.
    """
    p_data = check_tensor(p_data, "p_data")
    p_g = check_tensor(p_g, "p_g")
    if p_data.shape != p_g.shape:
        raise ValueError(
            f"p_data and p_g: expected the same shape, received {tuple(p_data.shape)} and "
            f"{tuple(p_g.shape)}"
        )
    if (p_data < 0).any() or (p_g < 0).any():
        raise ValueError("p_data and p_g: expected densities >= 0, received negative values")
    total = p_data + p_g
    safe = total > SAFE_TOTAL
    ratio = p_data / torch.where(safe, total, torch.ones_like(total))
    return torch.where(safe, ratio, torch.full_like(total, 0.5))


# --------------------------------------------------------------------------- snapshots


def pick_snapshots(run, steps: Sequence[int] | None = None, count: int = 4) -> list:
    """The snapshots to draw: those at (or just before) `steps`, or by default `count` of them
    spread evenly from the first to the last (first, middle ones, last)."""
    snapshots = list(getattr(run, "snapshots", None) or [])
    if not snapshots:
        raise ValueError(f"run: expected a ToyRun with snapshots, received {describe(run)}")
    if steps is None:
        n = len(snapshots)
        if n <= count:
            return snapshots
        idx = sorted({round(i * (n - 1) / (count - 1)) for i in range(count)})
        return [snapshots[i] for i in idx]
    if isinstance(steps, int) or not len(steps):
        raise ValueError(f"steps: expected a non-empty list of step numbers, received {steps!r}")
    return [run.at(int(s)) for s in steps]


def _fixed_noise(run) -> torch.Tensor | None:
    """The noise behind every snapshot's samples (stored by `train_toy`), or None."""
    stored = getattr(run, "fixed_noise", None)
    return stored.detach().cpu() if isinstance(stored, torch.Tensor) else None


def figure1_panels(run, target, steps: Sequence[int] | None = None) -> Figure:
    """Goodfellow et al.'s Figure 1 for a 1-D `ToyRun` trained with a grid: one panel per
    snapshot with p_data (black dotted), p_g (green, a KDE of G's samples), D (blue dashed)
    and, for a 1-D latent, arrows from the noise line z up to x = G(z).

    `steps` picks the snapshots (default: 4, from the first to the last).
    """
    grid = getattr(run, "grid", None)
    if grid is None or grid.dim() != 2 or grid.shape[1] != 1:
        raise ValueError(
            "run: expected a 1-D ToyRun trained with grid=... of shape (M, 1), received "
            f"grid {describe(grid)}"
        )
    if getattr(target, "data_dim", None) != 1 or not hasattr(target, "density"):
        raise ValueError(
            f"target: expected a 1-D distribution with a density (e.g. Gaussian1D), received "
            f"{describe(target)}"
        )
    chosen = pick_snapshots(run, steps)
    x = grid[:, 0].detach().double().cpu()
    spacing = float((x.max() - x.min()) / max(1, len(x) - 1))
    p_data = target.density(x)
    p_gs = [
        kernel_density(s.fake[:, 0], x, bandwidth=_plot_bandwidth(s.fake[:, 0], spacing))
        for s in chosen
    ]
    peak = max(1.0, float(p_data.max()))
    top = 1.08 * min(max([peak, *(float(p.max()) for p in p_gs)]), 2.0 * peak)
    z = _fixed_noise(run)
    arrows = z is not None and z.shape[1] == 1
    bottom = -0.45 * top if arrows else 0.0
    x_lo, x_hi = float(x.min()), float(x.max())

    fig = Figure(figsize=(3.2 * len(chosen), 3.3))
    axes = fig.subplots(1, len(chosen), sharey=True, squeeze=False)[0]
    for i, (ax, snap, p_g) in enumerate(zip(axes, chosen, p_gs, strict=True)):
        ax.plot(x, p_data, color="black", ls=":", lw=2, label=r"$p_{data}$")
        ax.plot(x, p_g, color="green", ls="-", lw=1.5, label=r"$p_g$")
        if snap.d_grid is not None:
            ax.plot(x, snap.d_grid.detach().cpu(), color="blue", ls="--", lw=1.5, label="$D$")
        ax.axhline(0.5, color="grey", lw=0.5)
        if arrows:
            _draw_arrows(ax, z[:, 0], snap.fake[:, 0], top, x_lo, x_hi)
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(bottom, top)
        ax.set_title(f"({'abcdefghij'[i % 10]}) step {snap.step}")
        ax.set_xlabel("x")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def _plot_bandwidth(samples: torch.Tensor, spacing: float) -> float:
    """Scott's bandwidth, but never narrower than the grid spacing (a narrower bump would fall
    between grid points and vanish from the curve)."""
    n = samples.shape[0]
    scott = float(samples.double().std()) * n ** (-0.2)
    return max(scott, spacing, 1e-6)


def _draw_arrows(ax, z: torch.Tensor, fake: torch.Tensor, top: float, x_lo, x_hi) -> None:
    """The noise line (z, drawn over the middle of the x range) and arrows z -> G(z)."""
    y_x, y_z = -0.08 * top, -0.38 * top
    z = z.double()
    order = torch.argsort(z)
    picks = order[torch.linspace(0, len(z) - 1, NUM_ARROWS).round().long()]
    z_lo, z_hi = float(z.min()), float(z.max())
    width = x_hi - x_lo
    a, b = x_lo + 0.2 * width, x_hi - 0.2 * width  # where the z segment is drawn

    def place(value: float) -> float:
        return a + (value - z_lo) / max(z_hi - z_lo, 1e-12) * (b - a)

    ax.plot([x_lo, x_hi], [y_x, y_x], color="black", lw=0.8)
    ax.plot([a, b], [y_z, y_z], color="black", lw=0.8)
    ax.text(x_lo, y_x, " x", va="bottom", fontsize=8)
    ax.text(a, y_z, "z ", va="center", ha="right", fontsize=8)
    for i in picks.tolist():
        start, end = place(float(z[i])), float(fake[i])
        end = min(max(end, x_lo), x_hi)
        ax.annotate(
            "",
            xy=(end, y_x),
            xytext=(start, y_z),
            arrowprops={"arrowstyle": "->", "color": "0.35", "lw": 0.7},
        )


def points_figure(
    run, target, steps: Sequence[int] | None = None, max_points: int = 1000
) -> Figure:
    """G's samples (dots) over the modes of a 2-D mixture (red crosses), one panel per snapshot,
    each titled with the step and `target.mode_coverage`: how many modes G reaches and the
    fraction of its samples that land near some mode (within 3 standard deviations)."""
    if getattr(target, "data_dim", None) != 2 or not hasattr(target, "centers"):
        raise ValueError(
            "target: expected a 2-D mixture with mode centres (e.g. distributions.ring()), "
            f"received {describe(target)}"
        )
    chosen = pick_snapshots(run, steps)
    if chosen[0].fake.dim() != 2 or chosen[0].fake.shape[1] != 2:
        raise ValueError(
            f"run: expected 2-D snapshots of shape (n, 2), received {describe(chosen[0].fake)}"
        )
    centers = torch.tensor(target.centers, dtype=torch.float32)
    margin = 0.25 * float((centers.max(0).values - centers.min(0).values).max()) + 0.5
    lo = centers.min(0).values - margin
    hi = centers.max(0).values + margin
    fig = Figure(figsize=(3.0 * len(chosen), 3.6))
    axes = fig.subplots(1, len(chosen), squeeze=False)[0]
    for ax, snap in zip(axes, chosen, strict=True):
        fake = snap.fake.detach().float().cpu()
        covered, quality = target.mode_coverage(fake)
        shown = fake[:max_points]
        ax.scatter(shown[:, 0], shown[:, 1], s=3, alpha=0.4, color="green", label="G(z)")
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=40, color="red", label="modes")
        ax.set_xlim(float(lo[0]), float(hi[0]))
        ax.set_ylim(float(lo[1]), float(hi[1]))
        ax.set_aspect("equal")
        ax.set_title(
            f"step {snap.step}\n{covered}/{len(centers)} modes, {quality:.0%} near a mode",
            fontsize=9,
        )
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(loc="lower left", fontsize=7, markerscale=2)
    fig.tight_layout()
    return fig


def variants_figure(rows: Sequence[Any], target: Any, seed: int | None = None) -> Figure:
    """The final samples of each variant of a toy ablation (`run_toy_ablation`'s rows) for one
    seed (default: the first), one panel per variant over the mixture's modes (red crosses),
    each titled with its modes covered and recall."""
    if not rows:
        raise ValueError("rows: expected at least one ToyAblationRow, received none")
    if not hasattr(target, "centers"):
        raise ValueError(
            f"target: expected a 2-D mixture with mode centres, received {describe(target)}"
        )
    seed = rows[0].seed if seed is None else seed
    chosen = [r for r in rows if r.seed == seed]
    if not chosen:
        raise ValueError(
            f"seed: no rows for seed {seed}; seeds run: {sorted({r.seed for r in rows})}"
        )
    centers = torch.tensor(target.centers, dtype=torch.float32)
    reach = float(centers.abs().max()) * 1.6
    columns = min(len(chosen), 5)
    lines = -(-len(chosen) // columns)
    height = 2.7 * lines + 0.3  # 0.3 in. for the suptitle above the panels' titles
    fig = Figure(figsize=(2.4 * columns, height))
    axes = fig.subplots(lines, columns, squeeze=False).ravel()
    for ax, row in zip(axes, chosen, strict=False):
        points = row.samples.detach().float().cpu()
        ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.4, color="green")
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=30, color="red")
        ax.set_xlim(-reach, reach)
        ax.set_ylim(-reach, reach)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(
            f"{row.variant}\n{row.modes}/{row.num_modes} modes, recall {row.recall:.2f}",
            fontsize=8,
        )
    for ax in axes[len(chosen) :]:
        ax.axis("off")
    fig.suptitle(f"final samples, seed {seed}", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / height))
    return fig
