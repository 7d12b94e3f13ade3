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
