"""Semi-supervised helpers: D's features, the labelled subset, the linear probe, the data split."""

from __future__ import annotations

import pytest
import torch

import gancourse as gc
from gancourse.book.semi_supervised import (
    discriminator_features,
    labelled_subset,
    linear_probe,
    load_train_test,
)
from gancourse.models import ConditionalDiscriminator


def test_features_are_the_input_of_the_last_linear_layer():
    D = gc.build_discriminator("vanilla")
    D.train()
    X = torch.rand(7, 1, 28, 28) * 2 - 1
    feats = discriminator_features(D, X, batch_size=3)
    assert feats.shape == (7, 256) and D.training  # mode restored
    with torch.no_grad():
        D.eval()
        expected = D.net[:-1](X)
    assert torch.allclose(feats, expected, atol=1e-5)
    assert not D.net[-1]._forward_pre_hooks  # the hook was removed


def test_features_of_all_hidden_layers():
    D = gc.build_discriminator("vanilla").eval()
    X = torch.rand(5, 1, 28, 28) * 2 - 1
    feats = discriminator_features(D, X, layers="all")
    assert feats.shape == (5, 512 + 256)
    with torch.no_grad():
        assert torch.allclose(feats[:, :512], D.net[:4](X), atol=1e-5)
        assert torch.allclose(feats[:, 512:], D.net[:-1](X), atol=1e-5)
    with pytest.raises(ValueError, match="at least two nn.Linear"):
        discriminator_features(
            gc.build_discriminator("dcgan32"), torch.zeros(2, 1, 32, 32), layers="all"
        )
    with pytest.raises(ValueError, match="'last' or 'all'"):
        discriminator_features(D, X, layers="first")


def test_features_of_conv_and_conditional_discriminators():
    D = gc.build_discriminator("dcgan32")
    assert discriminator_features(D, torch.zeros(3, 1, 32, 32)).shape == (3, 512)
    cD = ConditionalDiscriminator()
    feats = discriminator_features(cD, torch.zeros(4, 1, 28, 28), labels=torch.arange(4))
    assert feats.shape == (4, 256)


def test_features_bad_input():
    D = gc.build_discriminator("vanilla")
    with pytest.raises(TypeError, match="torch.Tensor"):
        discriminator_features(D, [[0.0]])
    with pytest.raises(ValueError, match="batch_size"):
        discriminator_features(D, torch.zeros(2, 1, 28, 28), batch_size=0)
    with pytest.raises(ValueError, match="nn.Linear"):
        discriminator_features(torch.nn.Conv2d(1, 1, 3), torch.zeros(2, 1, 28, 28))


def test_labelled_subset_is_balanced_and_seeded():
    labels = torch.arange(100) % 10
    idx = labelled_subset(labels, per_class=3, seed=1)
    assert len(idx) == 30 and torch.equal(idx, idx.sort().values)
    assert torch.bincount(labels[idx]).tolist() == [3] * 10
    assert torch.equal(idx, labelled_subset(labels, per_class=3, seed=1))
    assert not torch.equal(idx, labelled_subset(labels, per_class=3, seed=2))
    with pytest.raises(ValueError, match="at least per_class=20"):
        labelled_subset(labels, per_class=20)
    with pytest.raises(ValueError, match="per_class"):
        labelled_subset(labels, per_class=0)
    with pytest.raises(ValueError, match="integer class labels"):
        labelled_subset(labels.float())


def test_linear_probe_separates_separable_classes():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 5, generator=g) * 4
    y = torch.arange(300) % 3
    x = centres[y] + torch.randn(300, 5, generator=g)
    result = linear_probe(x[:60], y[:60], x[60:], y[60:])
    assert result.train_accuracy > 0.95 and result.test_accuracy > 0.9
    assert torch.equal(
        result.predict(x[:5]), result.classifier((x[:5] - result.mean) / result.std).argmax(1)
    )


def test_linear_probe_on_pixels_beats_chance(mnist_digits):
    from gancourse.data import mnist_sample

    _, labels = mnist_sample()
    labels = torch.from_numpy(labels)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    train_idx = order[:4000][labelled_subset(labels[order[:4000]], per_class=10)]
    test_idx = order[4000:4500]
    result = linear_probe(
        mnist_digits[train_idx], labels[train_idx], mnist_digits[test_idx], labels[test_idx]
    )
    assert result.test_accuracy > 0.5  # chance is 0.1


def test_linear_probe_bad_input():
    x, y = torch.randn(10, 4), torch.arange(10) % 2
    with pytest.raises(ValueError, match="same feature length"):
        linear_probe(x, y, torch.randn(5, 3), y[:5])
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        linear_probe(x, y[:9], x, y)
    with pytest.raises(ValueError, match="integer class labels"):
        linear_probe(x, y.float(), x, y)
    with pytest.raises(ValueError, match="weight_decay"):
        linear_probe(x, y, x, y, weight_decay=-1.0)


def test_load_train_test_never_shares_images(tmp_path):
    offline = {"root": tmp_path, "download": False}  # the MNIST sample, as on an offline machine
    with pytest.warns(UserWarning):
        train, test = load_train_test(
            "mnist", held_out=500, value_range="sigmoid", limit=1000, **offline
        )
    assert len(train) == 1000 and len(test) == 500
    assert train.labels.shape == (1000,) and test.labels.shape == (500,)
    assert train.value_range == (0.0, 1.0)
    assert "held-out" in test.source
    flat_train = {tuple(x.flatten()[::7].tolist()) for x in train.images}
    assert not any(tuple(x.flatten()[::7].tolist()) in flat_train for x in test.images[:50])
    with pytest.raises(ValueError, match="held_out"):
        load_train_test("mnist", held_out=0, **offline)
