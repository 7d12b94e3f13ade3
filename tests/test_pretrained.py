"""The generators the package ships: they load as data, and they draw digits a classifier reads."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

import gancourse as gc
from gancourse.metrics import load_mnist_extractor
from gancourse.models import OUTPUT_RANGES, pretrained

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
def test_each_shipped_generator_loads_as_its_architecture_in_eval_mode(name):
    G = gc.load_pretrained(name, device="cpu")
    assert not G.training and next(G.parameters()).dtype == torch.float32
    with torch.no_grad():
        images = G(torch.randn(8, G.latent_dim, generator=torch.Generator().manual_seed(7)))
    lo, hi = OUTPUT_RANGES[G.output_range]
    assert images.shape == (8, *G.image_shape)
    assert images.min() >= lo and images.max() <= hi
    # whether each one learned is judged in test_judgement, with the book's own judgement


def test_the_conditional_generator_draws_the_digit_it_is_asked_for(classifier):
    G = gc.load_pretrained("conditional", device="cpu")
    labels = torch.arange(N) % 10
    images, confidence, read = readings(G, classifier, labels)
    assert confidence.mean() > 0.75, f"mean confidence {confidence.mean():.3f}"
    assert (read == labels).float().mean() > 0.8


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
    # float16 weights: 2 bytes a parameter (4 million parameters over the three generators)
    assert sum(f.stat().st_size for f in files) < 10 * 2**20
    card = (pretrained.WEIGHTS_DIR / "README.md").read_text()
    for name in pretrained.PRETRAINED:
        assert f"## `{name}`" in card
    assert "scripts/train_pretrained.py" in card and "classifier mean confidence" in card
    for name in pretrained.PRETRAINED:  # every card shows the classifier's reading and verdict
        info = torch.load(pretrained.weights_path(name), weights_only=True)["info"]
        assert info["verdict"] == "learned", (name, info["verdict"])
        assert len(info["class_shares"]) == 10 and "share_confident_above_0.9" in info


def test_bad_names_missing_files_and_hostile_files_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"expected one of \['vanilla', 'dcgan32'"):
        gc.load_pretrained("dcgan16")
    with pytest.raises(
        ValueError, match=r"no pretrained 'dcgan28' generator ships.*--model dcgan28"
    ):
        gc.load_pretrained("dcgan28")
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
