"""Deep convolutional GANs (Radford et al. 2015, https://arxiv.org/abs/1511.06434).

Three reference pairs, each exactly as the course's slides give it:

- `DCGAN32Generator` / `DCGAN32Discriminator`: the 1x32x32 PyTorch DCGAN of the POSTECH slides
  (Practice 2), 1,049,985 and 98,113 parameters. Upsampling + 3x3 convolutions in G (run as
  one transposed convolution each, same output, see `UpsampleConv`), stride-2 convolutions with
  Dropout2d in D. The slides' source uses BatchNorm2d(C, 0.8), which sets eps=0.8 by position;
  we keep PyTorch's default eps=1e-5.
- `DCGAN28Generator` / `DCGAN28Discriminator`: the 28x28 Keras DCGAN of Shusen Wang's slides,
  written in PyTorch: 2,368,705 and 4,311,553 trainable parameters. Keras' BatchNormalization
  (momentum=0.9, epsilon=1e-3) is PyTorch's BatchNorm with momentum=0.1, eps=1e-3.
- `DCGAN64Generator` / `DCGAN64Discriminator`: a 3x64x64 colour pair for CelebA in the form of
  Radford et al.'s paper (fractionally strided 4x4 convolutions, batchnorm, ReLU/Tanh in G,
  LeakyReLU(0.2) in D, no fully connected hidden layers), 3,576,704 and 2,765,568 parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gancourse.models.base import Discriminator, Generator
from gancourse.models.layers import UpsampleConv


class DCGAN32Generator(Generator):
    """z (100) -> 128x8x8 -> upsample to 16 and 32 with 3x3 convolutions -> 1x32x32 (Tanh)."""

    def __init__(
        self,
        latent_dim: int = 100,
        channels: int = 1,  # output image channels
        negative_slope: float = 0.2,  # LeakyReLU slope
        fast: bool = True,  # compute upsample + conv as one transposed conv (same output)
    ) -> None:
        super().__init__(latent_dim, (channels, 32, 32), "tanh")
        self.project = nn.Linear(latent_dim, 128 * 8 * 8)  # (N, 8192), viewed as (N, 128, 8, 8)
        self.net = nn.Sequential(
            nn.BatchNorm2d(128),  # (N, 128, 8, 8)
            # Upsample(x2) then Conv2d(128, 128, 3, p=1), computed as one layer (see UpsampleConv)
            UpsampleConv(128, 128, fast=fast),  # (N, 128, 16, 16)
            nn.BatchNorm2d(128),  # (N, 128, 16, 16)
            nn.LeakyReLU(negative_slope),  # (N, 128, 16, 16)
            UpsampleConv(128, 64, fast=fast),  # (N, 64, 32, 32)
            nn.BatchNorm2d(64),  # (N, 64, 32, 32)
            nn.LeakyReLU(negative_slope),  # (N, 64, 32, 32)
            nn.Conv2d(64, channels, 3, stride=1, padding=1),  # (N, C, 32, 32)
            nn.Tanh(),  # (N, C, 32, 32) in [-1, 1]
        )

    def generate(self, Z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(Z).view(-1, 128, 8, 8))


class DCGAN32Discriminator(Discriminator):
    """1x32x32 -> four stride-2 3x3 convolution blocks (16, 32, 64, 128 channels) -> 1 score."""

    def __init__(
        self,
        channels: int = 1,  # input image channels
        outputs: str = "logits",  # 'probs' adds the slide's final Sigmoid
        negative_slope: float = 0.2,  # LeakyReLU slope
        dropout: float = 0.25,  # Dropout2d after every block (PyTorch-GAN's rate, as in 001)
        batch_norm: bool = True,  # False: a critic for penalties per sample (WGAN-GP, R1)
    ) -> None:
        super().__init__((channels, 32, 32), outputs)
        slope, p = negative_slope, dropout
        norm = nn.BatchNorm2d if batch_norm else (lambda n: nn.Identity())  # same layer indices
        self.features = nn.Sequential(
            nn.Conv2d(channels, 16, 3, stride=2, padding=1),  # (N, 16, 16, 16)
            nn.LeakyReLU(slope),  # (N, 16, 16, 16)
            nn.Dropout2d(p),  # (N, 16, 16, 16)
            nn.Conv2d(16, 32, 3, stride=2, padding=1),  # (N, 32, 8, 8)
            nn.LeakyReLU(slope),  # (N, 32, 8, 8)
            nn.Dropout2d(p),  # (N, 32, 8, 8)
            norm(32),  # (N, 32, 8, 8)
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # (N, 64, 4, 4)
            nn.LeakyReLU(slope),  # (N, 64, 4, 4)
            nn.Dropout2d(p),  # (N, 64, 4, 4)
            norm(64),  # (N, 64, 4, 4)
            nn.Conv2d(64, 128, 3, stride=2, padding=1),  # (N, 128, 2, 2)
            nn.LeakyReLU(slope),  # (N, 128, 2, 2)
            nn.Dropout2d(p),  # (N, 128, 2, 2)
            norm(128),  # (N, 128, 2, 2)
            nn.Flatten(),  # (N, 512)
        )
        self.classifier = nn.Linear(128 * 2 * 2, 1)  # (N, 1) logit

    def score(self, X: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(X))


def _keras_bn(num_features: int, dims: int = 2) -> nn.Module:
    """Keras' BatchNormalization(momentum=0.9) defaults, in PyTorch's convention."""
    cls = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    return cls(num_features, eps=1e-3, momentum=0.1)


class DCGAN28Generator(Generator):
    """z (100) -> 256x7x7 -> 14x14 -> 28x28 by 5x5 transposed convolutions -> 1x28x28, Sigmoid."""

    def __init__(
        self,
        latent_dim: int = 100,
        depth: int = 256,  # channels after the dense layer ('depth' on the slide)
        dropout: float = 0.4,  # after the dense layer, as on the slide
    ) -> None:
        super().__init__(latent_dim, (1, 28, 28), "sigmoid")
        self.depth = depth
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 7 * 7 * depth),  # (N, 12544)
            _keras_bn(7 * 7 * depth, dims=1),  # (N, 12544)
            nn.ReLU(),  # (N, 12544)
            nn.Dropout(dropout),  # (N, 12544), viewed as (N, 256, 7, 7)
        )
        d = depth
        self.net = nn.Sequential(
            nn.Upsample(scale_factor=2),  # (N, 256, 14, 14)
            nn.ConvTranspose2d(d, d // 2, 5, padding=2),  # (N, 128, 14, 14)
            _keras_bn(d // 2),  # (N, 128, 14, 14)
            nn.ReLU(),  # (N, 128, 14, 14)
            nn.Upsample(scale_factor=2),  # (N, 128, 28, 28)
            nn.ConvTranspose2d(d // 2, d // 4, 5, padding=2),  # (N, 64, 28, 28)
            _keras_bn(d // 4),  # (N, 64, 28, 28)
            nn.ReLU(),  # (N, 64, 28, 28)
            nn.ConvTranspose2d(d // 4, d // 8, 5, padding=2),  # (N, 32, 28, 28)
            _keras_bn(d // 8),  # (N, 32, 28, 28)
            nn.ReLU(),  # (N, 32, 28, 28)
            nn.ConvTranspose2d(d // 8, 1, 5, padding=2),  # (N, 1, 28, 28)
            nn.Sigmoid(),  # (N, 1, 28, 28) in [0, 1]
        )

    def generate(self, Z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(Z).view(-1, self.depth, 7, 7))


class DCGAN28Discriminator(Discriminator):
    """1x28x28 -> 5x5 convolutions 64 (s2), 128 (s2), 256 (s2), 512 (s1) -> 1 score."""

    def __init__(
        self,
        depth: int = 64,  # channels of the first convolution ('depth' on the slide)
        outputs: str = "logits",  # 'probs' adds the slide's final Sigmoid
        negative_slope: float = 0.2,  # LeakyReLU alpha, as on the slide
        dropout: float = 0.4,  # after every block, as on the slide
    ) -> None:
        super().__init__((1, 28, 28), outputs)
        d, slope, p = depth, negative_slope, dropout
        self.features = nn.Sequential(
            nn.Conv2d(1, d, 5, stride=2, padding=2),  # (N, 64, 14, 14)
            nn.LeakyReLU(slope),  # (N, 64, 14, 14)
            nn.Dropout(p),  # (N, 64, 14, 14)
            nn.Conv2d(d, d * 2, 5, stride=2, padding=2),  # (N, 128, 7, 7)
            nn.LeakyReLU(slope),  # (N, 128, 7, 7)
            nn.Dropout(p),  # (N, 128, 7, 7)
            nn.Conv2d(d * 2, d * 4, 5, stride=2, padding=2),  # (N, 256, 4, 4)
            nn.LeakyReLU(slope),  # (N, 256, 4, 4)
            nn.Dropout(p),  # (N, 256, 4, 4)
            nn.Conv2d(d * 4, d * 8, 5, stride=1, padding=2),  # (N, 512, 4, 4)
            nn.LeakyReLU(slope),  # (N, 512, 4, 4)
            nn.Dropout(p),  # (N, 512, 4, 4)
            nn.Flatten(),  # (N, 8192)
        )
        self.classifier = nn.Linear(d * 8 * 4 * 4, 1)  # (N, 1) logit

    def score(self, X: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(X))


class DCGAN64Generator(Generator):
    """z (100) -> 512x4x4 -> 8 -> 16 -> 32 -> 3x64x64 with 4x4 stride-2 transposed convolutions."""

    def __init__(
        self,
        latent_dim: int = 100,
        channels: int = 3,  # output image channels (3 for colour)
        width: int = 64,  # channels of the last hidden layer; the first has 8x this
    ) -> None:
        super().__init__(latent_dim, (channels, 64, 64), "tanh")
        w = width
        self.net = nn.Sequential(
            nn.Unflatten(1, (latent_dim, 1, 1)),  # (N, 100, 1, 1)
            nn.ConvTranspose2d(latent_dim, w * 8, 4, 1, 0, bias=False),  # (N, 512, 4, 4)
            nn.BatchNorm2d(w * 8),  # (N, 512, 4, 4)
            nn.ReLU(),  # (N, 512, 4, 4)
            nn.ConvTranspose2d(w * 8, w * 4, 4, 2, 1, bias=False),  # (N, 256, 8, 8)
            nn.BatchNorm2d(w * 4),  # (N, 256, 8, 8)
            nn.ReLU(),  # (N, 256, 8, 8)
            nn.ConvTranspose2d(w * 4, w * 2, 4, 2, 1, bias=False),  # (N, 128, 16, 16)
            nn.BatchNorm2d(w * 2),  # (N, 128, 16, 16)
            nn.ReLU(),  # (N, 128, 16, 16)
            nn.ConvTranspose2d(w * 2, w, 4, 2, 1, bias=False),  # (N, 64, 32, 32)
            nn.BatchNorm2d(w),  # (N, 64, 32, 32)
            nn.ReLU(),  # (N, 64, 32, 32)
            nn.ConvTranspose2d(w, channels, 4, 2, 1, bias=False),  # (N, 3, 64, 64)
            nn.Tanh(),  # (N, 3, 64, 64) in [-1, 1]
        )

    def generate(self, Z: torch.Tensor) -> torch.Tensor:
        return self.net(Z)


class DCGAN64Discriminator(Discriminator):
    """3x64x64 -> 4x4 stride-2 convolutions 64, 128, 256, 512 -> a 4x4 convolution to 1 score."""

    def __init__(
        self,
        channels: int = 3,  # input image channels
        outputs: str = "logits",  # 'probs' adds a final Sigmoid
        width: int = 64,  # channels of the first convolution
        negative_slope: float = 0.2,  # LeakyReLU slope, as in Radford et al.
    ) -> None:
        super().__init__((channels, 64, 64), outputs)
        w, slope = width, negative_slope
        self.net = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1, bias=False),  # (N, 64, 32, 32)
            nn.LeakyReLU(slope),  # (N, 64, 32, 32)
            nn.Conv2d(w, w * 2, 4, 2, 1, bias=False),  # (N, 128, 16, 16)
            nn.BatchNorm2d(w * 2),  # (N, 128, 16, 16)
            nn.LeakyReLU(slope),  # (N, 128, 16, 16)
            nn.Conv2d(w * 2, w * 4, 4, 2, 1, bias=False),  # (N, 256, 8, 8)
            nn.BatchNorm2d(w * 4),  # (N, 256, 8, 8)
            nn.LeakyReLU(slope),  # (N, 256, 8, 8)
            nn.Conv2d(w * 4, w * 8, 4, 2, 1, bias=False),  # (N, 512, 4, 4)
            nn.BatchNorm2d(w * 8),  # (N, 512, 4, 4)
            nn.LeakyReLU(slope),  # (N, 512, 4, 4)
            nn.Conv2d(w * 8, 1, 4, 1, 0, bias=False),  # (N, 1, 1, 1)
            nn.Flatten(),  # (N, 1) logit
        )

    def score(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)


__all__: Sequence[str] = [
    "DCGAN32Generator",
    "DCGAN32Discriminator",
    "DCGAN28Generator",
    "DCGAN28Discriminator",
    "DCGAN64Generator",
    "DCGAN64Discriminator",
]
