"""The shipped MNIST feature network: loads, has the documented shape, and still reads digits."""

from __future__ import annotations

import hashlib

import pytest
import torch
import torch.nn.functional as F

from gancourse.metrics import mnist_net
from gancourse.metrics.mnist_net import MNISTFeatureNet, load_mnist_extractor, sample_split

# Written out on purpose (conv 320 + conv 18,496 + linear 401,536 + linear 1,290), so a change of
# architecture has to change this test too, and the cache key `name` with it.
PARAMETERS = 421_642
# Measured with the shipped weights: 0.988 on the 1,000 held-out digits, 0.985 when they are
# zero-padded to 32x32, 0.989 when upsampled to 32x32.
MIN_ACCURACY = 0.95
MIN_ACCURACY_32 = 0.90


@pytest.fixture(scope="module")
def net() -> MNISTFeatureNet:
    return load_mnist_extractor("cpu")


@pytest.fixture(scope="module")
def held_out() -> tuple[torch.Tensor, torch.Tensor]:
    _, _, images, labels = sample_split()
    return images, labels


def accuracy(net: MNISTFeatureNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    return (net.class_probabilities(images).argmax(1) == labels).float().mean().item()


def test_shipped_weights_load_in_eval_mode(net):
    assert isinstance(net, MNISTFeatureNet)
    assert not net.training
    assert net.name == "mnist-cnn-v1"
    assert (net.feature_dim, net.num_classes, net.channels) == (128, 10, 1)
    assert all(p.device.type == "cpu" and p.dtype == torch.float32 for p in net.parameters())
    assert not any(p.requires_grad for p in net.parameters())


def test_weights_file_is_a_small_float32_state_dict():
    state = torch.load(mnist_net.WEIGHTS_PATH, map_location="cpu", weights_only=True)
    assert set(state) == set(MNISTFeatureNet().state_dict())
    assert all(value.dtype == torch.float32 for value in state.values())
    assert mnist_net.WEIGHTS_PATH.stat().st_size < 2_500_000


def test_weights_readme_describes_the_shipped_file():
    card = (mnist_net.WEIGHTS_PATH.parent / "README.md").read_text()
    assert hashlib.sha256(mnist_net.WEIGHTS_PATH.read_bytes()).hexdigest() in card
    assert MNISTFeatureNet.name in card and "Not Inception FID" in card


def test_parameter_count(net):
    assert sum(p.numel() for p in net.parameters()) == PARAMETERS


def test_features_shape_and_dtype(net, held_out):
    images, _ = held_out
    features = net.features(images[:37])
    assert features.shape == (37, 128)
    assert features.dtype == torch.float32
    assert torch.isfinite(features).all() and (features >= 0).all()  # after a ReLU


def test_features_do_not_depend_on_the_batch(net, held_out):
    images, _ = held_out
    together = net.features(images[:8])
    in_parts = torch.cat([net.features(images[:3]), net.features(images[3:8])])
    torch.testing.assert_close(in_parts, together, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(net.features(images[5:6]), together[5:6], rtol=1e-4, atol=1e-5)


def test_class_probabilities_sum_to_one(net, held_out):
    images, _ = held_out
    p = net.class_probabilities(images[:50])
    assert p.shape == (50, 10)
    assert (p >= 0).all()
    torch.testing.assert_close(p.sum(1), torch.ones(50, dtype=p.dtype))


def test_sample_split_is_stratified_disjoint_and_fixed():
    train_x, train_y, test_x, test_y = sample_split()
    assert train_x.shape == (4000, 1, 28, 28) and test_x.shape == (1000, 1, 28, 28)
    assert train_x.dtype == torch.float32 and 0 <= train_x.min() and train_x.max() <= 1
    assert torch.bincount(test_y, minlength=10).tolist() == [100] * 10
    assert torch.bincount(train_y, minlength=10).tolist() == [400] * 10
    # No held-out digit is also a training digit (compare images, not indices).
    train_keys = {bytes(image.mul(255).round().byte().numpy()) for image in train_x}
    assert not any(bytes(image.mul(255).round().byte().numpy()) in train_keys for image in test_x)
    again = sample_split()
    assert torch.equal(again[2], test_x) and torch.equal(again[3], test_y)


def test_held_out_accuracy(net, held_out):
    assert accuracy(net, *held_out) >= MIN_ACCURACY


def test_32x32_digits_are_resized_and_still_classified(net, held_out):
    images, labels = held_out
    padded = F.pad(images, (2, 2, 2, 2))  # zero border: the digit shrinks to 28/32 after resizing
    assert padded.shape[-2:] == (32, 32)
    assert accuracy(net, padded, labels) >= MIN_ACCURACY_32
    # load_images(image_size=32) instead upsamples MNIST; resizing back to 28 nearly undoes it.
    upsampled = F.interpolate(images, size=(32, 32), mode="bilinear", antialias=True).clamp(0, 1)
    assert accuracy(net, upsampled, labels) >= MIN_ACCURACY


def test_three_channel_input_is_converted(net, held_out):
    images, _ = held_out
    grey = images[:16]
    torch.testing.assert_close(net.features(grey.repeat(1, 3, 1, 1)), net.features(grey))


def test_tanh_range_input_is_refused_with_a_value_range_hint(net, held_out):
    images, _ = held_out
    with pytest.raises(ValueError, match="value_range"):
        net.features(images[:4] * 2 - 1)


def test_missing_weights_file_says_which_file_and_how_to_make_it(monkeypatch, tmp_path):
    missing = tmp_path / "weights" / "mnist_net.pt"
    monkeypatch.setattr(mnist_net, "WEIGHTS_PATH", missing)
    with pytest.raises(FileNotFoundError, match="train_mnist_net.py") as err:
        load_mnist_extractor("cpu")
    assert str(missing) in str(err.value)


def test_read_digits_reads_real_digits_and_not_noise(mnist_digits):
    """Real digits read confidently and in about equal shares; uniform noise does not read;
    the same images in [0, 1] or in [-1, 1] read the same once value_range says which."""
    from gancourse.metrics import read_digits

    digits = mnist_digits[::10]  # the sample is sorted by class: every tenth, all classes
    real = read_digits(digits)
    assert real.share_confident > 0.9 and real.mean_confidence > 0.9
    assert len(real.class_shares) == 10 and abs(sum(real.class_shares) - 1) < 1e-9
    assert max(real.class_shares) < 0.2 and real.digits.shape == (500,)
    same = read_digits((digits + 1) / 2, value_range=(0.0, 1.0))
    assert torch.equal(same.digits, real.digits)
    noise = read_digits(torch.rand(500, 1, 28, 28) * 2 - 1)
    assert noise.share_confident < 0.5 * real.share_confident
    with pytest.raises(ValueError, match=r"high > low.*\(1, 0\)"):
        read_digits(mnist_digits[:4], value_range=(1, 0))
