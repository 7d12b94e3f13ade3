"""The generators the package ships: they load as data, and they draw digits a classifier reads."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

import gancourse as gc
from gancourse.metrics import load_mnist_extractor
from gancourse.models import pretrained

N = 500


@pytest.fixture(scope="module")
def classifier():
    return load_mnist_extractor(device="cpu")


def readings(G, classifier, labels=None):
    with torch.no_grad():
        Z = torch.randn(N, G.latent_dim, generator=torch.Generator().manual_seed(7))
        images = G(Z, labels) if labels is not None else G(Z)
        probs = classifier.class_probabilities((images + 1) / 2)
    return images, *probs.max(dim=1)


@pytest.mark.parametrize("name", pretrained.PRETRAINED)
def test_each_shipped_generator_draws_every_digit_recognisably(name, classifier):
    G = gc.load_pretrained(name, device="cpu")
    assert not G.training and next(G.parameters()).dtype == torch.float32
    labels = torch.arange(N) % 10 if name == "conditional" else None
    images, confidence, read = readings(G, classifier, labels)
    assert images.shape == (N, *G.image_shape)
    assert images.min() >= -1 and images.max() <= 1
    assert confidence.mean() > 0.75, f"{name}: mean confidence {confidence.mean():.3f}"
    shares = torch.bincount(read, minlength=10).float() / N
    assert shares.min() > 0.02, f"{name}: a digit is (almost) never drawn: {shares.tolist()}"
    if name == "conditional":
        assert (read == labels).float().mean() > 0.8  # it draws the digit it is asked for


def test_the_conditional_generator_uses_its_noise(classifier):
    G = gc.load_pretrained("conditional", device="cpu")
    with torch.no_grad():
        threes = G(torch.randn(64, G.latent_dim, generator=torch.Generator().manual_seed(3)), 3)
    real = gc.load_images("mnist", value_range="tanh")
    real_threes = real.images[real.labels == 3][:64].float()
    # different z, different threes: a spread comparable to real threes, not one fixed drawing
    assert threes.std(dim=0).mean() > 0.5 * real_threes.std(dim=0).mean()


def test_weights_are_small_and_described_by_a_model_card():
    files = [pretrained.weights_path(name) for name in pretrained.PRETRAINED]
    assert sum(f.stat().st_size for f in files) < 10 * 2**20
    card = (pretrained.WEIGHTS_DIR / "README.md").read_text()
    for name in pretrained.PRETRAINED:
        assert f"## `{name}`" in card
    assert "scripts/train_pretrained.py" in card and "classifier mean confidence" in card


def test_bad_names_missing_files_and_hostile_files_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"expected one of \['vanilla', 'dcgan32'"):
        gc.load_pretrained("dcgan64")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="train_pretrained.py --model vanilla"):
        gc.load_pretrained("vanilla")
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    pretrained.weights_path("vanilla").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(pickle.UnpicklingError):
        gc.load_pretrained("vanilla")
    assert not marker.exists()
