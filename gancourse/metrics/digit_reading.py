"""How well generated digits read: the shipped MNIST classifier's view of a batch of images.

A generator that learned MNIST draws images the classifier reads confidently, and draws every
digit about equally often. Chapters, the pretrained models' card and the benchmarks all report
these same numbers, so they are computed here once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gancourse.metrics.extractor import FeatureExtractor

CONFIDENT = 0.9  # a reading counts as confident above this class probability


@dataclass(frozen=True)
class DigitReading:
    """The classifier's reading of a batch of images."""

    mean_confidence: float  # mean over images of the largest class probability
    share_confident: float  # share of images read with probability above CONFIDENT
    class_shares: list[float]  # share of images read as each digit 0..9 (0.1 each: balanced)
    digits: torch.Tensor  # (N,) the digit read for each image


def as_mnist_digits(
    images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)
) -> torch.Tensor:
    """Images (N, 1 or 3, H, W) with pixels in `value_range` as the classifier reads them: grey
    (the mean of the colour channels, stretched per image), 28x28 (resized with antialiasing),
    pixels in [0, 1]."""
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(
            f"value_range: expected (low, high) with high > low, received {value_range}"
        )
    unit = ((images.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    if unit.shape[1] == 3:
        # colour digits (colour-mnist) have their own stroke and background colours, so grey
        # levels are relative: stretch each image to [0, 1] (real colour-mnist: 97% read with
        # confidence, as real MNIST; the plain channel mean: 41%)
        unit = unit.mean(dim=1, keepdim=True)
        low = unit.amin(dim=(1, 2, 3), keepdim=True)
        high = unit.amax(dim=(1, 2, 3), keepdim=True)
        unit = (unit - low) / (high - low).clamp_min(1e-6)
    if unit.shape[-2:] != (28, 28):
        unit = torch.nn.functional.interpolate(
            unit, size=(28, 28), mode="bilinear", antialias=True, align_corners=False
        ).clamp(0, 1)
    return unit


def read_digits(
    images: torch.Tensor,
    value_range: tuple[float, float] = (-1.0, 1.0),
    classifier: FeatureExtractor | None = None,
) -> DigitReading:
    """Read a batch of digit images (N, 1, H, W) with pixels in `value_range` (G's output
    range: (-1, 1) for tanh generators, (0, 1) for sigmoid ones). `classifier` defaults to the
    shipped MNIST network (`load_mnist_extractor`)."""
    if classifier is None:
        from gancourse.metrics.mnist_net import load_mnist_extractor

        classifier = load_mnist_extractor(device="cpu")
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(
            f"value_range: expected (low, high) with high > low, received {value_range}"
        )
    unit = ((images.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    confidence, digits = classifier.class_probabilities(unit).max(dim=1)
    shares = torch.bincount(digits, minlength=classifier.num_classes).double() / len(digits)
    return DigitReading(
        mean_confidence=confidence.mean().item(),
        share_confident=(confidence > CONFIDENT).double().mean().item(),
        class_shares=shares.tolist(),
        digits=digits,
    )
