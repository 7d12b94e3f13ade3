"""The FID Inception-v3 wrapper: architecture with random weights, loading, offline errors.

Nothing here downloads: the network is built with random weights (the 96 MB FID weights are not
available offline), `urllib.request.urlopen` is replaced for every test, and the torch hub
folder points into tmp_path wherever the cache is involved.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gancourse.metrics import inception as inc
from gancourse.metrics.extractor import FeatureExtractor
from gancourse.metrics.inception import (
    FID_WEIGHTS_FILE,
    FID_WEIGHTS_SHA256_PREFIX,
    FID_WEIGHTS_URL,
    FIDInceptionV3,
    InceptionWeightsMismatch,
    InceptionWeightsNotFound,
    fold_batch_norms,
    hub_checkpoint_dir,
    inception_architecture,
    library_network,
    load_inception,
    random_inception_weights,
)

pytorch_fid_inception = pytest.importorskip("pytorch_fid.inception")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to reach the internet fails at once instead of downloading."""

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """torch hub's folder moved into tmp_path (via TORCH_HOME); returns its checkpoints folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folder = hub_checkpoint_dir()
    assert folder == tmp_path / "torch" / "hub" / "checkpoints", (
        "torch.hub.set_dir() was called elsewhere; the test would not be isolated"
    )
    return folder


@pytest.fixture(scope="module")
def weights() -> dict[str, torch.Tensor]:
    return random_inception_weights(0)


@pytest.fixture(scope="module")
def fast_net() -> FIDInceptionV3:
    return inception_architecture(0)  # random_inception_weights(0); BatchNorms folded, NHWC


@pytest.fixture(scope="module")
def plain_net(weights) -> FIDInceptionV3:
    return FIDInceptionV3(weights, fast=False, channels_last=False)


@pytest.fixture(scope="module")
def library_net(weights) -> nn.Module:
    return library_network(weights)


@pytest.fixture(scope="module")
def grey32() -> torch.Tensor:
    return torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def library_features(library_net, grey32) -> torch.Tensor:
    """pytorch-fid's own forward on the grey images repeated to RGB: the reference."""
    with torch.no_grad():
        return library_net(grey32.repeat(1, 3, 1, 1))[0].flatten(1)


@pytest.fixture(scope="module")
def fast_features(fast_net, grey32) -> torch.Tensor:
    """Our default (fast) pipeline on the same images, one image per chunk."""
    fast_net.batch_size = 1
    try:
        return fast_net.features(grey32)
    finally:
        fast_net.batch_size = inc.DEFAULT_BATCH_SIZE


def assert_close_features(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal up to float rounding (folded BatchNorms, another convolution algorithm)."""
    assert a.shape == b.shape
    assert (a - b).abs().max().item() <= 1e-5 * b.abs().max().item() + 1e-6


def test_constants_are_the_librarys():
    assert pytorch_fid_inception.FID_WEIGHTS_URL == FID_WEIGHTS_URL
    assert FID_WEIGHTS_URL.endswith("/" + FID_WEIGHTS_FILE)
    assert FID_WEIGHTS_FILE == "pt_inception-2015-12-05-6726825d.pth"
    assert FID_WEIGHTS_SHA256_PREFIX in FID_WEIGHTS_FILE
    assert inc.FID_WEIGHTS_SHA256.startswith(FID_WEIGHTS_SHA256_PREFIX)


def test_extractor_attributes(fast_net):
    assert issubclass(FIDInceptionV3, FeatureExtractor)
    assert (FIDInceptionV3.name, FIDInceptionV3.feature_dim, FIDInceptionV3.num_classes) == (
        "inception-v3-fid",
        2048,
        1008,
    )
    assert FIDInceptionV3.channels == 3
    assert fast_net.name == "inception-v3-fid-random-0"  # random weights never share a cache key
    assert not fast_net.training
    assert not any(p.requires_grad for p in fast_net.parameters())
    fast_net.train()
    assert not fast_net.training and not fast_net.network.training


def test_random_weights_have_the_fid_keys_and_leave_the_global_rng_alone(weights):
    assert len(weights) == 566
    assert weights["fc.weight"].shape == (1008, 2048)
    assert weights["Conv2d_1a_3x3.conv.weight"].shape == (32, 3, 3, 3)
    state = torch.get_rng_state()
    again = random_inception_weights(0)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(again[key], weights[key]) for key in weights)
    assert not torch.equal(random_inception_weights(1)["fc.weight"], weights["fc.weight"])


def test_plain_wrapper_equals_the_library_network_exactly(plain_net, grey32, library_features):
    """Same weights, same inputs: bit-identical, so the resize and scaling are the library's."""
    ours = plain_net.features(grey32)
    assert ours.shape == (2, 2048) and ours.dtype == torch.float32
    assert torch.equal(ours, library_features)
    assert library_features.abs().mean() > 0.05  # activations of order 1, not vanishing


def test_fast_wrapper_matches_the_library_network(fast_features, library_features):
    assert_close_features(fast_features, library_features)
    assert not fast_features.is_inference()  # an ordinary tensor: in-place updates allowed


def test_grey_input_equals_the_image_repeated_to_rgb(fast_net, grey32):
    grey = grey32[:1]
    assert torch.equal(fast_net.features(grey), fast_net.features(grey.repeat(1, 3, 1, 1)))


def test_resizes_other_sizes_like_the_library(fast_net, library_net):
    image = torch.rand(1, 3, 64, 48, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = library_net(image)[0].flatten(1)
    assert_close_features(fast_net.features(image), expected)


def test_logits_are_pool3_times_fc_weights(fast_net, weights, grey32, fast_features):
    logits = fast_net.forward_logits(fast_net.prepare(grey32[:1]))
    assert logits.shape == (1, 1008)
    assert torch.allclose(logits, fast_features[:1] @ weights["fc.weight"].T, atol=1e-4)


def test_unbiased_and_biased_logits(fast_net, weights, grey32, fast_features, monkeypatch):
    monkeypatch.setattr(fast_net, "forward_features", lambda x: fast_features)  # no forward
    x = fast_net.prepare(grey32)
    unbiased = fast_net.forward_logits(x)  # default, as the original Inception Score code
    assert torch.allclose(unbiased, fast_features @ weights["fc.weight"].T, atol=1e-5)
    monkeypatch.setattr(fast_net, "unbiased_logits", False)  # the TF graph's own logits
    assert torch.allclose(fast_net.forward_logits(x), unbiased + weights["fc.bias"], atol=1e-5)
    probs = fast_net.class_probabilities(grey32)
    assert probs.shape == (2, 1008) and probs.dtype == torch.float64
    assert torch.allclose(probs.sum(1), torch.ones(2, dtype=probs.dtype))


def test_fold_batch_norms_keeps_the_function():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, bias=False)
            self.bn = nn.BatchNorm2d(8, eps=0.001)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x)))

    block = Block()
    with torch.no_grad():
        block.bn.running_mean.normal_()
        block.bn.running_var.uniform_(0.5, 2.0)
        block.bn.weight.uniform_(0.5, 1.5)
        block.bn.bias.normal_()
    block.eval()
    x = torch.randn(2, 3, 10, 10)
    with torch.no_grad():
        expected = block(x)
        fold_batch_norms(block)
        assert isinstance(block.bn, nn.Identity) and block.conv.bias is not None
        assert torch.allclose(block(x), expected, atol=1e-5)


def test_rejects_a_bad_batch_size(weights):
    with pytest.raises(ValueError, match="batch_size"):
        FIDInceptionV3(weights, batch_size=0)


def test_loads_weights_from_a_given_path(tmp_path, weights, fast_net):
    path = tmp_path / "my-inception.pth"
    torch.save(weights, path)
    # Random weights are not the FID weights: refused by the checksum unless asked not to check.
    with pytest.raises(InceptionWeightsMismatch, match=FID_WEIGHTS_SHA256_PREFIX):
        load_inception(path, device="cpu")
    net = load_inception(path, device="cpu", check_hash=False)
    assert net.name.startswith("inception-v3-fid-custom-") and net.name != FIDInceptionV3.name
    ours, reference = net.state_dict(), fast_net.state_dict()  # both folded the same way
    assert ours.keys() == reference.keys()
    assert all(torch.equal(ours[key], reference[key]) for key in reference)
    # A folder that holds the file under its standard name works too.
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / FID_WEIGHTS_FILE).write_bytes(b"")
    assert inc.inception_weights_path(tmp_path / "folder") == tmp_path / "folder" / FID_WEIGHTS_FILE


def test_a_mismatched_file_gives_a_clear_error(tmp_path, weights):
    imagenet_like = dict(weights)
    imagenet_like["fc.weight"] = torch.zeros(1000, 2048)
    imagenet_like["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    torch.save(imagenet_like, tmp_path / "imagenet.pth")
    with pytest.raises(InceptionWeightsMismatch, match="torchvision's ImageNet") as info:
        load_inception(tmp_path / "imagenet.pth", device="cpu", check_hash=False)
    message = str(info.value)
    assert "1 unexpected (AuxLogits.fc.weight)" in message
    assert "fc.weight (1000, 2048) instead of (1008, 2048)" in message

    partial = {k: v for k, v in weights.items() if not k.startswith("Mixed_7c")}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(InceptionWeightsMismatch, match=r"\d+ missing \(Mixed_7c\."):
        load_inception(tmp_path / "partial.pth", device="cpu", check_hash=False)

    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InceptionWeightsMismatch, match="could not be read as a PyTorch state"):
        load_inception(tmp_path / "junk.pth", device="cpu", check_hash=False)


def test_a_missing_given_path_says_where_to_get_the_file(tmp_path):
    with pytest.raises(InceptionWeightsNotFound) as info:
        load_inception(tmp_path / "nowhere.pth", download=False)
    message = str(info.value)
    assert "nowhere.pth" in message and FID_WEIGHTS_FILE in message and FID_WEIGHTS_URL in message


def assert_explains_how_to_get_the_weights(message: str, folder) -> None:
    assert FID_WEIGHTS_FILE in message
    assert FID_WEIGHTS_SHA256_PREFIX in message and inc.FID_WEIGHTS_SHA256 in message
    assert FID_WEIGHTS_URL in message
    assert str(folder) in message
    assert "weights=" in message


def test_offline_without_weights_and_no_download(hub_dir):
    with pytest.raises(InceptionWeightsNotFound) as info:
        load_inception(download=False)
    assert_explains_how_to_get_the_weights(str(info.value), hub_dir)
    assert "download=False" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_offline_download_fails_fast_with_the_same_advice(hub_dir, monkeypatch):
    attempts = []

    def offline(url, target, *, progress=True):
        attempts.append((url, target))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(inc, "_download", offline)
    with pytest.raises(InceptionWeightsNotFound) as info:
        load_inception(download=True)
    assert attempts == [(FID_WEIGHTS_URL, hub_dir / FID_WEIGHTS_FILE)]
    assert_explains_how_to_get_the_weights(str(info.value), hub_dir)
    assert "URLError" in str(info.value) and "name resolution" in str(info.value)


def test_the_download_itself_cleans_up_when_it_fails(hub_dir):
    """The real `_download` against the test's refusing urlopen: error raised, nothing left."""
    with pytest.raises(urllib.error.URLError):
        inc._download(FID_WEIGHTS_URL, hub_dir / FID_WEIGHTS_FILE, progress=False)
    assert list(hub_dir.iterdir()) == []


def test_a_download_with_the_wrong_checksum_is_discarded(hub_dir, monkeypatch):
    class Response(io.BytesIO):
        headers = {"Content-Length": "12"}

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(b"not weights!"))
    with pytest.raises(ValueError, match=FID_WEIGHTS_SHA256_PREFIX):
        inc._download(FID_WEIGHTS_URL, hub_dir / FID_WEIGHTS_FILE, progress=False)
    assert list(hub_dir.iterdir()) == []
    with pytest.raises(InceptionWeightsNotFound, match="ValueError"):
        load_inception(download=True, progress=False)


@pytest.mark.parametrize("file_name", [FID_WEIGHTS_FILE, inc.TORCH_FIDELITY_WEIGHTS_FILE])
def test_uses_the_hub_cache_before_downloading(hub_dir, monkeypatch, file_name, weights):
    hub_dir.mkdir(parents=True)
    torch.save(weights, hub_dir / file_name)

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although the cache holds the file")

    monkeypatch.setattr(inc, "_download", no_download)
    assert inc.inception_weights_path() == hub_dir / file_name
    with pytest.raises(InceptionWeightsMismatch, match="check_hash=False"):
        load_inception(device="cpu")  # the cached file has the wrong checksum


def test_reads_the_legacy_checkpoint_format(tmp_path, weights):
    """pytorch-fid's 2019 file predates the zip format; it must load with weights_only=True."""
    path = tmp_path / "legacy.pth"
    torch.save(weights, path, _use_new_zipfile_serialization=False)
    loaded = inc._read_state_dict(path)
    assert loaded.keys() == weights.keys()
    assert torch.equal(loaded["fc.weight"], weights["fc.weight"])
