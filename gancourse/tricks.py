"""Training tricks for the discriminator, each a small piece the training loop composes.

- Label flips: with probability p, a real image is labelled fake and vice versa (ganhacks).
- One-sided label smoothing (Salimans et al. 2016): real labels 1 -> 0.9, fake labels stay 0.
- Noisy labels (Shusen Wang's slides): real ~ U(0.7, 1.2), fake ~ U(0.0, 0.3). Note that a
  target above 1 makes BCE unbounded below (the term +0.2 log(1 - p) -> -inf as p -> 1); it
  works in practice because D never gets that confident, but it is worth knowing.
- Instance noise (Sonderby et al. 2016, Arjovsky & Bottou 2017): Gaussian noise added to D's
  real and fake inputs, its standard deviation decayed to zero over training.

Labels are built in two stages, bits first (1 real, 0 fake, possibly flipped) and values second
(smoothed or noisy), so the tricks combine in any way without special cases.
"""

from __future__ import annotations

import torch

from gancourse.checks import check_choice

NOISY_REAL = (0.7, 1.2)  # U(0.7, 1.2) for real labels, from the slides
NOISY_FAKE = (0.0, 0.3)  # U(0.0, 0.3) for fake labels, from the slides
NOISE_SCHEDULES = ("linear", "exponential", "constant")


def label_bits(n: int, real: bool, device: torch.device | str = "cpu") -> torch.Tensor:
    """n labels, all 1 (real) or all 0 (fake), shape (n, 1) like D's output."""
    return torch.full((n, 1), 1.0 if real else 0.0, device=device)


def flip_labels(
    bits: torch.Tensor, prob: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Swap each 0/1 label with probability `prob`."""
    _check_probability(prob, "flip probability")
    if prob == 0:
        return bits
    flip = _uniform_like(bits, generator) < prob
    return torch.where(flip, 1 - bits, bits)


def smooth_labels(bits: torch.Tensor, real_value: float = 0.9) -> torch.Tensor:
    """One-sided label smoothing: 1 -> real_value, 0 stays 0 (smoothing fakes would reward
    the generator for staying where it is, Salimans et al. 2016)."""
    return bits * real_value


def noisy_labels(
    bits: torch.Tensor,
    real_range: tuple[float, float] = NOISY_REAL,
    fake_range: tuple[float, float] = NOISY_FAKE,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Replace each 1 by a draw from U(real_range) and each 0 by a draw from U(fake_range)."""
    u = _uniform_like(bits, generator)
    real = real_range[0] + (real_range[1] - real_range[0]) * u
    fake = fake_range[0] + (fake_range[1] - fake_range[0]) * u
    return torch.where(bits > 0.5, real, fake)


def discriminator_targets(
    n: int,
    real: bool,
    *,
    smoothing: float = 0.0,
    noisy: bool = False,
    flip_prob: float = 0.0,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor | float:
    """The targets for a batch of n real (or fake) images with the chosen tricks applied.

    Plain labels come back as the float 1.0 or 0.0 (no tensor needed); otherwise a tensor of
    shape (n, 1). `smoothing` is the one-sided amount: real labels become 1 - smoothing.
    """
    _check_probability(smoothing, "label smoothing")
    if not (smoothing or noisy or flip_prob):
        return 1.0 if real else 0.0
    bits = flip_labels(label_bits(n, real, device), flip_prob, generator)
    if noisy:
        return noisy_labels(bits, generator=generator)
    return smooth_labels(bits, 1.0 - smoothing)


def instance_noise_std(
    step: int, total_steps: int, start: float, schedule: str = "linear"
) -> float:
    """Standard deviation of the instance noise at `step` of `total_steps`.

    linear: start -> 0 at the last step; exponential: halves every 10% of the run;
    constant: start throughout.
    """
    check_choice(schedule, NOISE_SCHEDULES, "instance noise schedule")
    if start < 0:
        raise ValueError(f"instance noise: expected a standard deviation >= 0, received {start}")
    if start == 0 or schedule == "constant":
        return float(start)
    frac = min(max(step / max(total_steps, 1), 0.0), 1.0)
    if schedule == "linear":
        return float(start * (1.0 - frac))
    return float(start * 0.5 ** (10.0 * frac))


def add_instance_noise(
    X: torch.Tensor, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """X + N(0, std^2) noise, elementwise; X itself is returned when std is 0."""
    if std == 0:
        return X
    noise = torch.randn(X.shape, device=X.device, dtype=X.dtype, generator=generator)
    return X + std * noise


def _uniform_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.rand(x.shape, device=x.device, generator=generator)


def _check_probability(p: float, name: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: expected a value in [0, 1], received {p}")
