"""The Inception Score: its exact extreme values, agreement with a direct formula, bad input."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from gancourse.metrics.extractor import FeatureExtractor
from gancourse.metrics.inception_score import inception_score, inception_score_of


class TinyClassifier(FeatureExtractor):
    """A random linear classifier on 8x8 pixels: enough to exercise the image path."""

    name = "tiny-test"
    feature_dim = 16
    num_classes = 5
    channels = 1

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.AdaptiveAvgPool2d(8), torch.nn.Flatten(), torch.nn.Linear(64, 16)
        )
        self.head = torch.nn.Linear(16, 5)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def numpy_inception_score(probs: np.ndarray, splits: int) -> tuple[float, float]:
    """The formula written out directly, one split and one sample at a time."""
    n = len(probs)
    scores = []
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]
        marginal = part.mean(axis=0)
        kls = [np.sum(p * (np.log(p) - np.log(marginal))) for p in part]
        scores.append(np.exp(np.mean(kls)))
    return float(np.mean(scores)), float(np.std(scores))


def test_uniform_predictions_score_one():
    mean, std = inception_score(torch.full((2000, 10), 0.1))
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)


def test_confident_balanced_predictions_score_the_number_of_classes():
    for classes in (2, 10, 37):
        per_split = classes * math.ceil(100 / classes)  # >= 100, a multiple of classes
        labels = torch.arange(10 * per_split) % classes  # every split sees each class equally
        probs = torch.nn.functional.one_hot(labels, classes).double()
        mean, std = inception_score(probs, splits=10)
        assert mean == pytest.approx(classes, rel=1e-12) and std == pytest.approx(0, abs=1e-9)


def test_confident_single_class_scores_one():
    probs = torch.zeros(1000, 10)
    probs[:, 3] = 1
    assert inception_score(probs) == pytest.approx((1.0, 0.0), abs=1e-12)


def test_agrees_with_the_direct_formula_on_dirichlet_probabilities():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), size=2345)  # N not a multiple of splits
    for splits in (1, 5, 10):
        expected = numpy_inception_score(probs, splits)
        got = inception_score(torch.from_numpy(probs), splits=splits)
        assert got == pytest.approx(expected, rel=1e-10)
    single = inception_score(torch.from_numpy(probs).float(), splits=1)
    assert single[1] == 0.0 and 1 < single[0] < 10


def test_std_is_zero_when_splits_are_identical():
    part = torch.distributions.Dirichlet(torch.full((10,), 0.5)).sample((200,)).double()
    mean, std = inception_score(part.repeat(5, 1), splits=5)
    assert mean == pytest.approx(inception_score(part, splits=1)[0], rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_small_splits_warn():
    labels = torch.arange(200) % 10
    probs = torch.nn.functional.one_hot(labels, 10).float()
    with pytest.warns(UserWarning, match="per split"):
        inception_score(probs, splits=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inception_score(probs, splits=2)  # 100 per split: no warning


@pytest.mark.parametrize(
    ("probs", "splits", "message"),
    [
        (torch.full((100, 10), 0.2), 1, "sum to 1"),
        (torch.randn(100, 10), 1, r"\[0, 1\]"),
        (torch.full((100,), 0.01), 1, r"shape \(N, classes\)"),
        (torch.full((5, 4), 0.25), 10, "at least splits=10"),
        (torch.full((100, 4), 0.25), 0, "positive int"),
        (torch.full((100, 4), float("nan")), 1, "finite"),
    ],
)
def test_bad_input_raises_a_clear_error(probs, splits, message):
    with pytest.raises(ValueError, match=message):
        inception_score(probs, splits=splits)


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="floating point"):
        inception_score(torch.ones(100, 1, dtype=torch.int64))


def test_inception_score_of_images_matches_probabilities_and_batches():
    torch.manual_seed(0)
    model = TinyClassifier().eval()
    images = torch.rand(300, 1, 12, 12)
    expected = inception_score(model.class_probabilities(images), splits=3)
    as_tensor = inception_score_of(images, model, splits=3, batch_size=64, progress=False)
    as_batches = inception_score_of(
        (b * 2 - 1 for b in images.split(100)),
        model,
        splits=3,
        value_range=(-1, 1),
        progress=False,
    )
    assert as_tensor == pytest.approx(expected, rel=1e-9)
    assert as_batches == pytest.approx(expected, rel=1e-6)
    assert 1 <= expected[0] <= 5 and math.isfinite(expected[1])


def test_inception_score_of_rejects_tanh_images_without_value_range():
    with pytest.raises(ValueError, match="value_range"):
        inception_score_of(torch.rand(300, 1, 8, 8) * 2 - 1, TinyClassifier(), progress=False)
    with pytest.raises(TypeError, match="floating point"):
        inception_score_of(torch.zeros(300, 1, 8, 8, dtype=torch.bool), TinyClassifier())
    with pytest.raises(TypeError, match="FeatureExtractor"):
        inception_score_of(torch.rand(300, 1, 8, 8), torch.nn.Linear(2, 2), progress=False)


def test_mnist_classifier_scores_real_digits_near_ten_unless_sorted_by_class():
    from gancourse.data import mnist_sample
    from gancourse.metrics.mnist_net import load_mnist_extractor

    images, _ = mnist_sample()  # sorted by class: 500 zeros, then 500 ones, ...
    x = torch.from_numpy(images[::5]).float().div(255).unsqueeze(1)  # 100 of each class
    probs = load_mnist_extractor(device="cpu").class_probabilities(x)
    mixed, _ = inception_score(probs[torch.randperm(1000)], splits=5)
    in_file_order, _ = inception_score(probs, splits=10)  # each split holds one class
    assert mixed > 9  # measured 9.60 (maximum 10)
    assert in_file_order < 1.3  # measured 1.06: shuffle before splitting
    assert inception_score(probs[:100], splits=1)[0] < 1.3  # zeros only: measured 1.01
