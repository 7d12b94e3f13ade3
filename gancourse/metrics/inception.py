"""The standard FID Inception-v3: the network every paper's FID is computed with.

FID as published (Heusel et al., 2017) uses the Inception-v3 graph of TensorFlow's
``inception-2015-12-05`` release: its 2,048 "pool3" activations are the features, its 1,008
logits feed the Inception Score. pytorch-fid ported those weights to PyTorch and patched
torchvision's Inception-v3 where the TF graph differs (average pools that ignore the padding,
a max pool in the last block); torch-fidelity and torchmetrics load the same weights. This module
wraps pytorch-fid's own network (``pytorch_fid.inception.InceptionV3``, tested with
pytorch-fid 0.3.0), so the architecture, the resize and the input scaling are the library's:

* images in [0, 1], grey repeated to RGB (:class:`FeatureExtractor` does that),
* resized to 299x299 with ``F.interpolate(mode="bilinear", align_corners=False)``,
* scaled to [-1, 1], then the network up to the final average pool: (N, 2048) features.

So the numbers are pytorch-fid's. torch-fidelity (and through it torchmetrics) resizes instead
with a re-implementation of TensorFlow 1.x's bilinear resize (no half-pixel centres) on uint8
images, as the original TF code did; for images that are not already 299x299 the two resizes
differ, so FIDs from pytorch-fid and from torch-fidelity can differ slightly for the same
images. Report which one you used.

Logits (for the Inception Score) are ``pool3 @ W.T`` with the weights' ``fc`` layer, without its
bias by default: the original Inception Score code (Salimans et al., OpenAI's ``improved-gan``)
multiplies pool3 by the softmax weights without the bias, and torch-fidelity and torchmetrics
(``feature="logits_unbiased"``) follow it. ``unbiased_logits=False`` adds the bias (the TF graph's
own softmax input).

Weights (:func:`load_inception`), in this order: a path you pass, the torch hub cache
(``torch.hub.get_dir()/checkpoints``, where pytorch-fid and torch-fidelity also keep them), a
download when online. Offline without them you get an error naming the file, its checksum and
the folder to put it in. :func:`inception_architecture` builds the same network with random
weights, for tests and speed measurements, never for numbers you report.

Speed. The default ``fast=True`` folds every BatchNorm into the convolution before it (in eval
mode they are one affine map: the features differ from the unfolded network by float rounding,
about 4e-7 relative) and keeps weights and activations channels_last on CPU and CUDA. Measured
with ``bench/inception_speed.py`` on 2 AVX2 CPU cores shared with other jobs (64 grey 32x32
images upsampled to 299x299, same random weights and inputs, rounds alternated): 1.66x the
images per second of pytorch-fid's bare network (2.55 vs 1.54 img/s under a load average of 5;
on a quieter machine about 9 vs 5.6 img/s, i.e. about 110 s per 1,000 images instead of 180).
channels_last alone gave 1.3-1.4x, BatchNorm folding alone 1.0-1.1x, both together 1.5-1.7x.
bfloat16 is NOT used: on this CPU (AVX2, no AVX-512) it was about 6x slower than float32, and
it moved the features by about 0.5% (relative L2, random weights), so its FID could not be
shown to stay within 0.5% of float32. ``torch.compile`` spent 150 s compiling and was no faster.
The network runs under ``torch.inference_mode`` in chunks of ``batch_size`` images, which bounds
memory (activations of about 10 MB per image at 299x299 in float32).
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.device import pick_device
from gancourse.metrics.extractor import FeatureExtractor

__all__ = [
    "FIDInceptionV3",
    "InceptionWeightsMismatch",
    "InceptionWeightsNotFound",
    "fold_batch_norms",
    "hub_checkpoint_dir",
    "inception_architecture",
    "inception_weights_path",
    "library_network",
    "load_inception",
    "random_inception_weights",
    "FID_WEIGHTS_FILE",
    "FID_WEIGHTS_URL",
    "FID_WEIGHTS_SHA256_PREFIX",
    "FID_WEIGHTS_SHA256",
]

NAME = "inception-v3-fid"
LIBRARY = "pytorch-fid"  # PyPI name of the library whose network this wraps
LIBRARY_TESTED = "0.3.0"
FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_FILE
)
# torch hub names checkpoints "<name>-<first 8 hex digits of the file's sha256>.<ext>".
FID_WEIGHTS_SHA256_PREFIX = "6726825d"
# The full digest, as projects that pin this file record it (95,628,359 bytes). Only the prefix
# above is checked: it is the part the file's own name guarantees.
FID_WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
# torch-fidelity (and so torchmetrics) keeps the same weights under this name in the same folder;
# it is used when found there and its checksum matches.
TORCH_FIDELITY_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
DOWNLOAD_TIMEOUT = 30.0  # seconds a stalled connection may wait before the download gives up
DEFAULT_BATCH_SIZE = 64
FEATURE_BLOCK = 3  # pytorch-fid's block index of the final average pool (2048 features)


class InceptionWeightsNotFound(FileNotFoundError):
    """The FID Inception-v3 weights are neither where you said, nor cached, nor downloadable."""


class InceptionWeightsMismatch(ValueError):
    """A weights file that is not (or not readable as) the FID Inception-v3 state dict."""


class FIDInceptionV3(FeatureExtractor):
    """pytorch-fid's FID Inception-v3 as a :class:`FeatureExtractor`.

    `state_dict` holds the 566 tensors of the FID weights (pytorch-fid's file, see
    :func:`load_inception`; :func:`random_inception_weights` for tests). Features are the
    (N, 2048) pool3 activations of images resized to 299x299 by the library's own forward; logits
    are the (N, 1008) products of pool3 with the ``fc`` weights (plus their bias only with
    ``unbiased_logits=False``).

    `fast` folds the BatchNorms into the convolutions, `channels_last` keeps the convolutions in
    NHWC layout (both faster on CPU; see the module docstring), `batch_size` is how many images
    go through the network at once. The module is frozen: no gradients, always in eval mode.
    Build it from the weights file's state dict: with `fast`, its own ``state_dict()`` has the
    folded convolutions, not the file's layout.
    """

    name = NAME  # instances with other weights get another name (see load_inception)
    feature_dim = 2048
    num_classes = 1008
    channels = 3

    def __init__(
        self,
        state_dict: Mapping[str, torch.Tensor],
        *,
        name: str | None = None,
        fast: bool = True,
        channels_last: bool = True,
        batch_size: int = DEFAULT_BATCH_SIZE,
        unbiased_logits: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected an int >= 1, received {batch_size!r}")
        state_dict = _check_state_dict(state_dict, "state_dict")
        if name is not None:
            self.name = name
        self.batch_size = batch_size
        self.unbiased_logits = unbiased_logits
        self.channels_last = channels_last
        self.fast = fast
        self.network = library_network(state_dict)  # input -> resize -> [-1, 1] -> pool3
        self.fc = nn.Linear(self.feature_dim, self.num_classes)  # pool3 -> the TF graph's logits
        self.fc.load_state_dict({"weight": state_dict["fc.weight"], "bias": state_dict["fc.bias"]})
        self.requires_grad_(False)
        self.eval()
        if fast:
            fold_batch_norms(self.network)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def train(self, mode: bool = True) -> FIDInceptionV3:
        """Stays in eval mode: the extractor is frozen (BatchNorm statistics never change)."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 2048) pool3 features of prepared images (N, 3, H, W) in [0, 1]."""
        with torch.inference_mode():
            pool3 = torch.cat([self._pool3(chunk) for chunk in x.split(self.batch_size)])
        # Cloned outside inference mode: an ordinary tensor, which callers may modify in place.
        return pool3.clone()

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1008) logits of prepared images: pool3 times the fc weights (see the class)."""
        pool3 = self.forward_features(x)
        bias = None if self.unbiased_logits else self.fc.bias
        with torch.no_grad():
            return F.linear(pool3, self.fc.weight, bias)

    def _pool3(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)  # (n, 3, H, W) as NHWC
        return self.network(x)[0].flatten(1)  # (n, 2048, 1, 1) -> (n, 2048)

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, fast={self.fast}, channels_last={self.channels_last}, "
            f"batch_size={self.batch_size}, unbiased_logits={self.unbiased_logits}"
        )


def load_inception(
    weights: str | Path | None = None,
    *,
    device: str | torch.device | None = None,
    download: bool = True,
    check_hash: bool = True,
    progress: bool = True,
    fast: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    unbiased_logits: bool = True,
) -> FIDInceptionV3:
    """The FID Inception-v3 with the standard weights, frozen, on `device` (default: best).

    The weights file (``pt_inception-2015-12-05-6726825d.pth``) is taken from, in this order:
    `weights` (a file, or a folder holding that file) when given; the torch hub cache
    ``torch.hub.get_dir()/checkpoints`` (also under torch-fidelity's name for the same file); a
    download into that cache when `download` is true. If none works,
    :class:`InceptionWeightsNotFound` says what to download and where to put it.

    `check_hash` refuses a file whose sha256 does not begin with ``6726825d``: other weights
    give FIDs that are not comparable with published ones. With ``check_hash=False`` such a file
    is used, and the extractor's `name` becomes ``inception-v3-fid-custom-<sha256[:8]>`` so its
    cached statistics never mix with the standard ones. The other arguments are those of
    :class:`FIDInceptionV3`; channels_last is used on CPU and CUDA.
    """
    path = inception_weights_path(weights, download=download, progress=progress)
    digest = _sha256(path)
    official = digest.startswith(FID_WEIGHTS_SHA256_PREFIX)
    if check_hash and not official:
        raise InceptionWeightsMismatch(
            f"{path} has sha256 {digest}, but the FID Inception-v3 weights ({FID_WEIGHTS_FILE}) "
            f"have a sha256 beginning with {FID_WEIGHTS_SHA256_PREFIX} ({FID_WEIGHTS_SHA256}). "
            f"FIDs computed with other weights are not comparable with published ones. Download "
            f"the right file from {FID_WEIGHTS_URL}, or pass check_hash=False to use this one "
            f"anyway."
        )
    state_dict = _read_state_dict(path)
    device = pick_device(device)
    model = FIDInceptionV3(
        state_dict,
        name=NAME if official else f"{NAME}-custom-{digest[:8]}",
        fast=fast,
        channels_last=device.type in ("cpu", "cuda"),
        batch_size=batch_size,
        unbiased_logits=unbiased_logits,
    )
    return model.to(device)


def inception_architecture(seed: int = 0, **kwargs: object) -> FIDInceptionV3:
    """The FID Inception-v3 with random weights (no file, no download): for tests and timing.

    Its `name` is ``inception-v3-fid-random-<seed>``, so it never shares cached statistics with
    the real network. `kwargs` go to :class:`FIDInceptionV3`. On the CPU.
    """
    return FIDInceptionV3(random_inception_weights(seed), name=f"{NAME}-random-{seed}", **kwargs)


def random_inception_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    """A random state dict with the keys and shapes of the FID weights (566 tensors).

    Convolutions get He-normal weights and the BatchNorms random affine maps near identity, so
    activations keep a scale of order 1 through the 94 layers, as with trained weights. (With
    PyTorch's default initialisation they shrink to about 1e-8 by pool3, and subnormal floats
    then make the CPU several times slower: useless for timing.) Drawn from a generator seeded
    with `seed`; the global RNG is untouched.
    """
    gen = torch.Generator().manual_seed(seed)
    weights = {}
    for key, shape in _expected_shapes().items():
        if key.endswith("num_batches_tracked"):
            value = torch.zeros(shape, dtype=torch.long)
        elif key.endswith("conv.weight"):  # He-normal: std sqrt(2 / fan_in)
            value = torch.randn(shape, generator=gen) * math.sqrt(2.0 / math.prod(shape[1:]))
        elif key.endswith(("bn.weight", "bn.running_var")):
            value = torch.rand(shape, generator=gen) * 0.4 + 0.8
        elif key.endswith(("bn.bias", "bn.running_mean")):
            value = torch.randn(shape, generator=gen) * 0.1
        elif key == "fc.weight":
            value = torch.randn(shape, generator=gen) / math.sqrt(shape[1])
        elif key == "fc.bias":
            value = torch.randn(shape, generator=gen) * 0.1
        else:  # pragma: no cover - only if torchvision's Inception-v3 gains a new tensor
            raise RuntimeError(f"random_inception_weights: no rule for {key} {shape}")
        weights[key] = value
    return weights


def library_network(state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """pytorch-fid's own ``InceptionV3`` (pool3 output, its resize and scaling) with `state_dict`.

    The library's constructor always fetches the weights from its URL; here its fetch function
    is swapped, for the duration of the call, for one that hands it `state_dict`, so the network
    is built exactly as the library builds it, with no download. Returned in eval mode, frozen;
    ``net(x)[0]`` is the (N, 2048, 1, 1) pool3 output of images x in [0, 1].
    """
    state_dict = _check_state_dict(state_dict, "state_dict")
    lib = _library()
    calls: list[str] = []

    def hand_over(url: str, *args: object, **kwargs: object) -> Mapping[str, torch.Tensor]:
        calls.append(url)
        return state_dict

    if not hasattr(lib, "load_state_dict_from_url"):
        raise RuntimeError(_library_changed())
    with _LIBRARY_LOCK:
        original = lib.load_state_dict_from_url
        lib.load_state_dict_from_url = hand_over
        try:
            net = lib.InceptionV3(
                output_blocks=(FEATURE_BLOCK,), resize_input=True, normalize_input=True
            )
        finally:
            lib.load_state_dict_from_url = original
    if len(calls) != 1:
        raise RuntimeError(_library_changed())
    return net.requires_grad_(False).eval()


def fold_batch_norms(module: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm into the convolution before it, in place.

    Applies to every submodule with a ``conv`` (Conv2d) followed by a ``bn`` (BatchNorm2d), as
    torchvision's and pytorch-fid's ``BasicConv2d``: the convolution's weight is scaled by
    ``gamma / sqrt(running_var + eps)`` per output channel, it gets the bias
    ``beta - running_mean * scale`` (plus its own scaled bias, if any), and ``bn`` becomes an
    Identity. Same function as conv-then-BatchNorm in eval mode, up to float rounding.
    """
    with torch.no_grad():
        for sub in list(module.modules()):
            conv, bn = getattr(sub, "conv", None), getattr(sub, "bn", None)
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            if bn.running_mean is None or bn.running_var is None:
                raise ValueError(f"{type(sub).__name__}: a BatchNorm without running statistics")
            scale = torch.rsqrt(bn.running_var + bn.eps)
            if bn.weight is not None:
                scale = scale * bn.weight
            shift = -bn.running_mean * scale
            if bn.bias is not None:
                shift = shift + bn.bias
            if conv.bias is not None:
                shift = shift + conv.bias * scale
            conv.weight.mul_(scale.reshape(-1, 1, 1, 1).to(conv.weight.dtype))
            conv.bias = nn.Parameter(shift.to(conv.weight.dtype), requires_grad=False)
            sub.bn = nn.Identity()
    return module


def hub_checkpoint_dir() -> Path:
    """The folder torch hub (and so pytorch-fid) keeps downloaded weights in on this machine."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def inception_weights_path(
    weights: str | Path | None = None, *, download: bool = True, progress: bool = True
) -> Path:
    """Where the FID weights file is: `weights`, the hub cache, or a fresh download into it.

    Raises :class:`InceptionWeightsNotFound` with instructions when there is none.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        if path.is_dir():
            path = path / FID_WEIGHTS_FILE
        if not path.is_file():
            raise InceptionWeightsNotFound(
                f"weights={str(weights)!r}: {path} is not a file. " + _where_to_get_it()
            )
        return path
    folder = hub_checkpoint_dir()
    for file_name in (FID_WEIGHTS_FILE, TORCH_FIDELITY_WEIGHTS_FILE):
        if (folder / file_name).is_file():
            return folder / file_name
    target = folder / FID_WEIGHTS_FILE
    if not download:
        reason = "download=False"
    else:
        try:
            _download(FID_WEIGHTS_URL, target, progress=progress)
            return target
        except (OSError, ValueError, http.client.HTTPException) as exc:
            reason = f"the download failed: {type(exc).__name__}: {exc}"
    raise InceptionWeightsNotFound(
        f"The FID Inception-v3 weights are not in the torch hub cache ({folder}) and were not "
        f"downloaded ({reason}). " + _where_to_get_it()
    )


def _where_to_get_it() -> str:
    folder = hub_checkpoint_dir()
    return (
        f"FID needs the file {FID_WEIGHTS_FILE} (about 96 MB; sha256 beginning "
        f"{FID_WEIGHTS_SHA256_PREFIX}, in full {FID_WEIGHTS_SHA256}): TensorFlow's "
        f"inception-2015-12-05 weights as ported by pytorch-fid. On a machine with internet, "
        f"download {FID_WEIGHTS_URL} and either put it in the folder {folder}{os.sep} (torch "
        f"hub's checkpoints folder on this machine: torch.hub.get_dir()/checkpoints, moved by "
        f"the TORCH_HOME environment variable) or pass its path: "
        f"load_inception(weights='/path/to/{FID_WEIGHTS_FILE}')."
    )


def _download(url: str, target: Path, *, progress: bool = True) -> None:
    """Download `url` to `target` atomically, checking the sha256 prefix; raises on failure."""
    from gancourse.progress import progress_bar as tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".part")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                size = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(
                    total=size, unit="B", unit_scale=True, desc=target.name, disable=not progress
                ) as bar:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        if not digest.hexdigest().startswith(FID_WEIGHTS_SHA256_PREFIX):
            raise ValueError(
                f"the downloaded file's sha256 is {digest.hexdigest()}, expected one beginning "
                f"with {FID_WEIGHTS_SHA256_PREFIX} (a corrupted or altered download)"
            )
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors come in many types; all mean "not a state dict"
        raise InceptionWeightsMismatch(
            f"{path} could not be read as a PyTorch state dict ({type(exc).__name__}: {exc}). "
            + _where_to_get_it()
        ) from exc
    return _check_state_dict(state_dict, str(path))


def _check_state_dict(state_dict: object, source: str) -> dict[str, torch.Tensor]:
    """`state_dict` as a dict if its keys and shapes are the FID Inception-v3's, else an error."""
    if not isinstance(state_dict, Mapping):
        raise InceptionWeightsMismatch(
            f"{source}: expected a state dict (a mapping of tensor names to tensors), received "
            f"{type(state_dict).__name__}"
        )
    expected = _expected_shapes()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    wrong = [
        f"{key} {_shape(state_dict[key])} instead of {expected[key]}"
        for key in expected
        if key in state_dict and _shape(state_dict[key]) != expected[key]
    ]
    if not (missing or unexpected or wrong):
        return dict(state_dict)
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
        if items:
            shown = ", ".join(str(item) for item in items[:3])
            problems.append(f"{len(items)} {label} ({shown}{', ...' if len(items) > 3 else ''})")
    hint = ""
    fc = state_dict.get("fc.weight")
    if any(key.startswith("AuxLogits.") for key in unexpected) or (
        isinstance(fc, torch.Tensor) and tuple(fc.shape) == (1000, 2048)
    ):
        hint = (
            " These look like torchvision's ImageNet Inception-v3 weights (1,000 classes): FID "
            "uses the TensorFlow FID weights (1,008 classes), which give different numbers."
        )
    raise InceptionWeightsMismatch(
        f"{source} is not a state dict of the FID Inception-v3 ({len(expected)} tensors as in "
        f"{FID_WEIGHTS_FILE}): " + "; ".join(problems) + "." + hint
    )


def _shape(value: object) -> tuple[int, ...] | str:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__


@lru_cache(maxsize=1)
def _expected_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of the FID weights: torchvision's Inception-v3 with 1,008 classes and no
    auxiliary head, whose parameters pytorch-fid's patched blocks share. Built on the meta
    device (no memory, no initialisation cost)."""
    import torchvision

    with torch.device("meta"):
        net = torchvision.models.inception_v3(
            weights=None, aux_logits=False, num_classes=1008, init_weights=False
        )
    return {key: tuple(value.shape) for key, value in net.state_dict().items()}


_LIBRARY_LOCK = threading.Lock()


def _library() -> ModuleType:
    try:
        from pytorch_fid import inception
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the FID Inception-v3 is pytorch-fid's network: install it with "
            f"`pip install {LIBRARY}=={LIBRARY_TESTED}`"
        ) from exc
    return inception


def _library_changed() -> str:
    return (
        f"the installed {LIBRARY} no longer loads its weights through "
        f"pytorch_fid.inception.load_state_dict_from_url; gancourse was tested with {LIBRARY} "
        f"{LIBRARY_TESTED}: install that version (`pip install {LIBRARY}=={LIBRARY_TESTED}`)"
    )
