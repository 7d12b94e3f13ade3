"""What every feature extractor used by the metrics looks like.

FID, precision/recall and the memorisation check compare images through a network's features;
the Inception Score uses its class probabilities. Extractors take images in [0, 1] (any size,
1 or 3 channels; each extractor resizes and converts channels itself) and are identified by a
`name` that keys cached reference statistics, so numbers from different networks never mix.
"""

from __future__ import annotations

import torch
from torch import nn

from gancourse.checks import check_tensor, describe

RANGE_TOLERANCE = 1e-3  # how far outside [0, 1] an input may stray (resampling overshoot)


class FeatureExtractor(nn.Module):
    """Base class. Subclasses set `name`, `feature_dim`, `num_classes` and implement
    `forward_features(x)` and `forward_logits(x)` on prepared inputs."""

    name: str = "extractor"  # cache key: change it whenever the weights or the resize change
    feature_dim: int = 0  # length of a feature vector
    num_classes: int = 0  # length of the class-logit vector (for the Inception Score)
    channels: int = 3  # channels the network wants: grey is repeated, colour averaged

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(N, feature_dim) float features of images in [0, 1]."""
        return self.forward_features(self.prepare(images)).float()

    @torch.no_grad()
    def class_probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """(N, num_classes) softmax class probabilities p(y | x) of images in [0, 1]."""
        return torch.softmax(self.forward_logits(self.prepare(images)).double(), dim=1)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Check a batch and convert it to the network's channels, device and dtype."""
        images = check_images(images, f"{type(self).__name__} input")
        if images.shape[1] != self.channels:
            images = (
                images.repeat(1, 3, 1, 1) if self.channels == 3 else images.mean(1, keepdim=True)
            )
        param = next(self.parameters(), None)
        if param is not None:
            images = images.to(param.device, param.dtype)
        return images

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


def check_images(images: object, name: str = "images") -> torch.Tensor:
    """A float batch (N, 1 or 3, H, W) with values in [0, 1], or a clear error saying why not."""
    images = check_tensor(images, name, floating=False)
    if images.dtype == torch.uint8:
        raise TypeError(
            f"{name}: expected float images in [0, 1], received {describe(images)}; "
            "divide uint8 images by 255"
        )
    check_tensor(images, name)
    if images.dim() != 4 or images.shape[1] not in (1, 3) or images.shape[0] < 1:
        raise ValueError(
            f"{name}: expected a batch of shape (N, 1 or 3, H, W), received {describe(images)}"
        )
    lo, hi = images.min().item(), images.max().item()
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        hint = (
            " (these look like Tanh outputs in [-1, 1]: pass value_range=(-1, 1))"
            if (lo < -0.05 and hi <= 1 + RANGE_TOLERANCE)
            else ""
        )
        raise ValueError(
            f"{name}: expected values in [0, 1], received values in [{lo:.3g}, {hi:.3g}]{hint}"
        )
    return images
