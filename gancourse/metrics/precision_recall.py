"""Improved precision and recall: is G's output realistic, and does it cover the data?

One number such as FID mixes two different failures: samples that look wrong (low quality) and
samples that all look alike (mode collapse). Kynkaanniemi et al. (2019), "Improved Precision and
Recall Metric for Assessing Generative Models" (NeurIPS), separate them by estimating each
distribution's support, its "manifold", in a feature space with k nearest neighbours:

    radius(r) = distance from feature r to its k-th nearest neighbour in the same set (not r)
    manifold(S) = union over s in S of the ball around s of radius(s)

    precision = fraction of fake features that lie in manifold(real)
    recall    = fraction of real features that lie in manifold(fake)

A point q lies in manifold(S) when ||q - s|| <= radius(s) for at least one s in S. Precision
drops when G draws samples no real image resembles (poor quality); recall drops when part of
the data is never produced (mode collapse), even if every single sample looks perfect.

The paper uses k = 3 and 50,000 VGG-16 features per set; more samples make the manifolds
tighter, so compare numbers only at the same k, the same set sizes and the same extractor.

A known weakness: an outlier in the real set has a large radius, and its ball can swallow
unrealistic samples. With the course's MNIST classifier, degenerate images (pixel-shuffled or
heavily blurred digits) have small features near the origin, inside the balls of a dozen
low-norm real digits, so their precision stays high (0.85 for shuffled digits against 0.87 for
real ones) while their recall collapses to 0. Look at the samples too; Naeem et al. (2020),
"Reliable Fidelity and Diversity Metrics for Generative Models", propose density and coverage
as outlier-robust replacements.
Distances are computed in float64 by `torch.cdist`, `batch_size` rows at a time, so two sets of
10,000 features need about batch_size * 10,000 * 8 bytes (80 MB at the default), not 800 MB.
"""

from __future__ import annotations

import torch

from gancourse.checks import check_tensor, describe

DEFAULT_BATCH_SIZE = 1000  # rows of the distance matrix held at once


def precision_recall(
    real_features: torch.Tensor,
    fake_features: torch.Tensor,
    k: int = 3,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> dict[str, float]:
    """Improved precision and recall of fake features against real ones, each in [0, 1].

    Both inputs are (N, d) feature matrices from the same extractor (N may differ).
    Returns {"precision": ..., "recall": ...}.
    """
    real = _check_features(real_features, "real_features")
    fake = _check_features(fake_features, "fake_features")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"real_features and fake_features: expected the same feature length, received "
            f"{real.shape[1]} and {fake.shape[1]} (were they made by different extractors?)"
        )
    _check_k(k, real, "real_features")
    _check_k(k, fake, "fake_features")
    real_radii = knn_radii(real, k, batch_size)
    fake_radii = knn_radii(fake, k, batch_size)
    precision = in_manifold(fake, real, real_radii, batch_size).double().mean().item()
    recall = in_manifold(real, fake, fake_radii, batch_size).double().mean().item()
    return {"precision": precision, "recall": recall}


def knn_radii(
    features: torch.Tensor, k: int = 3, batch_size: int = DEFAULT_BATCH_SIZE
) -> torch.Tensor:
    """(N,) float64 distance from each feature to its k-th nearest other feature of the set."""
    features = _check_features(features, "features")
    _check_k(k, features, "features")
    _check_batch_size(batch_size)
    radii = []
    for start in range(0, len(features), batch_size):
        rows = features[start : start + batch_size]
        dist = torch.cdist(rows, features)  # (B, N)
        own = torch.arange(len(rows), device=dist.device)
        dist[own, own + start] = float("inf")  # a point is not its own neighbour
        radii.append(dist.topk(k, dim=1, largest=False).values[:, -1])
    return torch.cat(radii)


def in_manifold(
    queries: torch.Tensor,
    features: torch.Tensor,
    radii: torch.Tensor,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> torch.Tensor:
    """(M,) bool: does each query lie within radii[j] of at least one features[j]?"""
    queries = _check_features(queries, "queries")
    features = _check_features(features, "features")
    radii = check_tensor(radii, "radii").to(features.device, torch.float64)
    if queries.shape[1] != features.shape[1]:
        raise ValueError(
            f"queries and features: expected the same feature length, received "
            f"{queries.shape[1]} and {features.shape[1]}"
        )
    if radii.shape != (len(features),):
        raise ValueError(
            f"radii: expected one radius per feature, shape ({len(features)},), received "
            f"{describe(radii)}"
        )
    _check_batch_size(batch_size)
    inside = []
    for start in range(0, len(queries), batch_size):
        dist = torch.cdist(queries[start : start + batch_size], features)  # (B, N)
        inside.append((dist <= radii).any(dim=1))
    return torch.cat(inside)


def _check_features(x: object, name: str) -> torch.Tensor:
    x = check_tensor(x, name)
    if x.dim() != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(
            f"{name}: expected a feature matrix of shape (N, d), received {describe(x)}; "
            "turn images into features with extractor.features(images) first"
        )
    x = x.detach().to(torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f"{name}: expected finite features, received NaN or infinite values")
    return x


def _check_k(k: object, features: torch.Tensor, name: str) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k: expected a positive int (the paper uses 3), received {k!r}")
    if k >= len(features):
        raise ValueError(
            f"k: expected k < the number of samples in {name} (each sample needs k other "
            f"neighbours), received k={k} with {len(features)} samples"
        )


def _check_batch_size(batch_size: object) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, received {batch_size!r}")
