"""Training on 1-D and 2-D toy distributions, fast enough to rerun while a lecture goes on.

The image loop (`gancourse.train`) needs image tensors and epochs; the playground chapters need
something else: thousands of tiny steps on samples drawn fresh from a known density, and
snapshots of where G's samples and D's output are as training goes (the panels of Goodfellow
et al.'s Figure 1, the ring of Gaussians that collapses). This module reuses the same
`discriminator_step` / `generator_step` as the image loop, so every trick behaves the same here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import torch
from torch import nn

from gancourse.checks import check_tensor, describe
from gancourse.history import History
from gancourse.objectives import (
    CustomObjective,
    is_spectrally_normalised,
    loss_name,
    spectral_normalise,
)
from gancourse.steps import discriminator_step, generator_step
from gancourse.training import (
    TrainConfig,
    TrainingDiverged,
    make_optimizer,
    objective_settings,
    sample_noise,
)
from gancourse.tricks import discriminator_targets, instance_noise_std

__all__ = [
    "ToyConfig",
    "ToyRun",
    "ToyScore",
    "ToySnapshot",
    "discriminator_on",
    "score_toy",
    "train_toy",
]


class Distribution(Protocol):
    data_dim: int

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor: ...


@dataclass
class ToyConfig:
    """A toy run: the same knobs as `TrainConfig`, counted in steps instead of epochs."""

    steps: int = 2000  # generator steps (each after k discriminator steps)
    batch_size: int = 128  # m: real samples (and fakes) per D step
    k: int = 1  # discriminator steps per generator step
    optimizer: str = "adam"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    generator_loss: str = "non-saturating"  # or 'saturating'
    # or 'lsgan', 'hinge', 'wgan', 'wgan-gp' (gancourse.objectives), or your own functions
    # (a CustomObjective)
    loss: str | CustomObjective = "gan"
    gp_weight: float = 10.0  # WGAN-GP's lambda
    clip_value: float = 0.01  # WGAN's weight clipping
    r1_gamma: float = 0.0  # R1 penalty on real data; 0: off
    spectral_norm: bool = False  # spectral normalisation of D's layers
    latent_dist: str = "uniform"  # p(z): 'uniform' U(-1, 1) as in Goodfellow et al., or 'normal'
    label_smoothing: float = 0.0
    noisy_labels: bool = False
    instance_noise: float = 0.0  # std of the noise on D's inputs at step 0
    instance_noise_schedule: str = "linear"
    snapshot_every: int = 100  # steps between snapshots (the first and last are always kept)
    num_snapshot_samples: int = 2000  # G's samples per snapshot, from one fixed noise
    seed: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "snapshot_every", "num_snapshot_samples"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"ToyConfig.{name}: expected an integer >= 1, received {value!r}")
        # The fields shared with TrainConfig are checked by its own validation.
        TrainConfig(**self._shared())

    def _shared(self) -> dict[str, Any]:
        """The fields TrainConfig also has (your own losses as the objective they follow)."""
        return {
            name: loss_name(self.loss) if name == "loss" else getattr(self, name)
            for name in (
                "batch_size",
                "k",
                "optimizer",
                "lr_g",
                "lr_d",
                "betas",
                "generator_loss",
                "loss",
                "gp_weight",
                "clip_value",
                "r1_gamma",
                "spectral_norm",
                "latent_dist",
                "label_smoothing",
                "noisy_labels",
                "instance_noise",
                "instance_noise_schedule",
                "seed",
            )
        }


@dataclass
class ToySnapshot:
    """Where training stood after `step` generator steps."""

    step: int
    fake: torch.Tensor  # (num_snapshot_samples, data_dim): G applied to the fixed noise
    d_grid: torch.Tensor | None  # D's probability on the run's grid, (M,), if a grid was given


@dataclass
class ToyRun:
    """What `train_toy` returns. G and D are the trained networks (on the CPU)."""

    G: nn.Module
    D: nn.Module
    config: ToyConfig
    history: History
    grid: torch.Tensor | None
    fixed_noise: torch.Tensor | None = None  # the z behind every snapshot's samples
    snapshots: list[ToySnapshot] = field(default_factory=list)

    def at(self, step: int) -> ToySnapshot:
        """The snapshot taken at `step` (or the last one before it)."""
        before = [s for s in self.snapshots if s.step <= step]
        if not before:
            raise ValueError(f"no snapshot at or before step {step}; the first is at step 0")
        return before[-1]


@dataclass(frozen=True)
class ToyScore:
    """How well a set of 2-D samples matches a mixture: the numbers that expose mode collapse.

    A collapsed generator covers few modes and has a low recall, even when the samples it does
    make sit on a mode (high precision, many of them near a mode).
    """

    modes: int  # modes holding their minimum share of high-quality samples (mode_coverage)
    num_modes: int  # modes in the mixture
    near: float  # fraction of samples within 3 standard deviations of some mode (quality)
    precision: float  # fraction of samples inside the real points' k-NN manifold (quality)
    recall: float  # fraction of real points inside the samples' k-NN manifold (coverage)


def score_toy(target: Any, fake: torch.Tensor, real: torch.Tensor, k: int = 3) -> ToyScore:
    """Score samples `fake` (n, 2) of a mixture `target` (e.g. `ring()`) against real points.

    Modes covered and "near a mode" come from `target.mode_coverage`; precision and recall are
    the improved metric of Kynkaanniemi et al. (2019) with the points themselves as features,
    so compare them only at the same k and the same numbers of real and fake points.
    """
    from gancourse.metrics import precision_recall

    if not hasattr(target, "mode_coverage"):
        raise ValueError(
            f"target: expected a mixture with modes (e.g. distributions.ring()), received "
            f"{describe(target)}"
        )
    fake = check_tensor(fake, "fake").detach().float().cpu()
    real = check_tensor(real, "real").detach().float().cpu()
    for name, points in (("fake", fake), ("real", real)):
        if points.dim() != 2 or points.shape[1] != target.data_dim:
            raise ValueError(
                f"{name}: expected points of shape (n, {target.data_dim}), received "
                f"{describe(points)}"
            )
    modes, near = target.mode_coverage(fake)
    pr = precision_recall(real, fake, k=k)
    return ToyScore(modes, target.num_modes, near, pr["precision"], pr["recall"])


def discriminator_on(D: nn.Module, points: torch.Tensor) -> torch.Tensor:
    """D's probability that each point is real, as a flat tensor (D in eval mode, no grad)."""
    was_training = D.training
    D.eval()
    try:
        with torch.no_grad():
            out = D(points).squeeze(1)
    finally:
        D.train(was_training)
    return torch.sigmoid(out) if D.outputs == "logits" else out


def train_toy(
    G: nn.Module,
    D: nn.Module,
    target: Distribution,
    config: ToyConfig | None = None,
    *,
    grid: torch.Tensor | None = None,
    **overrides: Any,
) -> ToyRun:
    """Train a toy G and D (e.g. `ToyGenerator`, `ToyDiscriminator`) against `target`.

    `target` samples fresh data every step (`Gaussian1D`, `ring()`...). Every `snapshot_every`
    steps, G's samples from one fixed noise batch are kept, and D's probability on `grid`
    (points of shape (M, data_dim)) when given. Stops with `TrainingDiverged` on NaN/inf.
    """
    config = replace(config or ToyConfig(), **overrides)
    data_dim = int(getattr(target, "data_dim", 0))
    if getattr(G, "data_dim", None) != data_dim or getattr(D, "data_dim", None) != data_dim:
        raise ValueError(
            f"target samples points in R^{data_dim}, but G makes R^{getattr(G, 'data_dim', '?')} "
            f"and D reads R^{getattr(D, 'data_dim', '?')}: build them with data_dim={data_dim}"
        )
    if grid is not None:
        grid = check_tensor(grid, "grid")
        if grid.dim() != 2 or grid.shape[1] != data_dim:
            raise ValueError(
                f"grid: expected points of shape (M, {data_dim}), received {describe(grid)}"
            )

    objective = objective_settings(TrainConfig(**config._shared()), D)
    if isinstance(config.loss, CustomObjective):
        objective["loss"] = config.loss
    if config.spectral_norm and not is_spectrally_normalised(D):
        spectral_normalise(D)
    torch.manual_seed(config.seed)
    rng = torch.Generator().manual_seed(config.seed)
    noise_rng = torch.Generator().manual_seed(config.seed + 1)
    fixed_noise = sample_noise(config.num_snapshot_samples, G.latent_dim, config.latent_dist)
    opt_g = make_optimizer(G.parameters(), config.optimizer, config.lr_g, config.betas)
    opt_d = make_optimizer(D.parameters(), config.optimizer, config.lr_d, config.betas)
    run = ToyRun(G=G, D=D, config=config, history=History(), grid=grid, fixed_noise=fixed_noise)

    def snapshot(step: int) -> None:
        with torch.no_grad():
            fake = G(fixed_noise).detach().clone()
        d_grid = discriminator_on(D, grid) if grid is not None else None
        run.snapshots.append(ToySnapshot(step=step, fake=fake, d_grid=d_grid))

    # Networks this small run fastest on one CPU thread: more threads only add synchronisation,
    # and on a busy machine the threads wait for each other (measured 10x slower with two).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _loop(run, target, config, opt_g, opt_d, rng, noise_rng, snapshot, objective)
    finally:
        torch.set_num_threads(threads)
    return run


def _loop(run, target, config, opt_g, opt_d, rng, noise_rng, snapshot, objective) -> None:
    """Algorithm 1 on fresh samples of `target`, with a snapshot every `snapshot_every` steps."""
    from gancourse.progress import progress_bar

    G, D, m = run.G, run.D, config.batch_size
    label_tricks = {
        "smoothing": config.label_smoothing,
        "noisy": config.noisy_labels,
        "generator": rng,
    }
    snapshot(0)
    for step in progress_bar(
        range(1, config.steps + 1), desc="toy GAN", disable=not config.progress
    ):
        std = instance_noise_std(
            step - 1, config.steps, config.instance_noise, config.instance_noise_schedule
        )
        for _ in range(config.k):
            X = target.sample(m, generator=rng)
            with torch.no_grad():
                fake = G(sample_noise(m, G.latent_dim, config.latent_dist, generator=noise_rng))
            d_stats = discriminator_step(
                D,
                opt_d,
                X,
                fake,
                real_target=discriminator_targets(m, True, **label_tricks),
                fake_target=discriminator_targets(m, False, **label_tricks),
                noise_std=std,
                generator=rng,
                **objective,
            )
        fake = G(sample_noise(m, G.latent_dim, config.latent_dist, generator=noise_rng))
        g_stats = generator_step(
            D,
            opt_g,
            fake,
            form=config.generator_loss,
            noise_std=std,
            generator=rng,
            loss=config.loss,
        )
        stats = {name: float(v) for name, v in {**d_stats, **g_stats}.items()}
        if not all(map(_finite, stats.values())):
            raise TrainingDiverged(f"toy GAN: a loss or gradient became NaN/inf at step {step}")
        run.history.append(step, 0, stats)
        if step % config.snapshot_every == 0 or step == config.steps:
            snapshot(step)


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")
