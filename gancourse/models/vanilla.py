"""The vanilla (MLP) GAN of the POSTECH slides (Practice 1), for 28x28 MNIST digits.

Generator: 1,489,936 trainable parameters (the slide's 1,493,520 also counts the 3,584
batchnorm running statistics). Discriminator: 533,505 parameters. The slides fix every layer but
not the dropout rates; we use 0.3 in both networks (a common choice for this model).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import torch
from torch import nn

from gancourse.models.base import Discriminator, Generator


def vanilla_generator_body(
    in_features: int, out_features: int, negative_slope: float = 0.2, dropout: float = 0.3
) -> nn.Sequential:
    """The slides' MLP: in -> 256 -> 512 -> 1024 -> out, LeakyReLU then BatchNorm after each
    hidden layer, Dropout before the Tanh output layer. Shared with the conditional GAN."""
    return nn.Sequential(
        nn.Linear(in_features, 256),  # (N, 256)
        nn.LeakyReLU(negative_slope),  # (N, 256)
        nn.BatchNorm1d(256),  # (N, 256)
        nn.Linear(256, 512),  # (N, 512)
        nn.LeakyReLU(negative_slope),  # (N, 512)
        nn.BatchNorm1d(512),  # (N, 512)
        nn.Linear(512, 1024),  # (N, 1024)
        nn.LeakyReLU(negative_slope),  # (N, 1024)
        nn.BatchNorm1d(1024),  # (N, 1024)
        nn.Dropout(dropout),  # (N, 1024)
        nn.Linear(1024, out_features),  # (N, 784)
        nn.Tanh(),  # (N, 784) in [-1, 1]
    )


class VanillaGenerator(Generator):
    """MLP generator: z -> 256 -> 512 -> 1024 -> 784 pixels in [-1, 1] (Tanh)."""

    def __init__(
        self,
        latent_dim: int = 100,
        image_shape: Sequence[int] = (1, 28, 28),
        negative_slope: float = 0.2,  # LeakyReLU slope, as on the slide
        dropout: float = 0.3,  # before the last layer; the slide does not give the rate
    ) -> None:
        super().__init__(latent_dim, image_shape, "tanh")
        # reshaped to (N, 1, 28, 28) by the base class
        self.net = vanilla_generator_body(
            latent_dim, prod(self.image_shape), negative_slope, dropout
        )

    def generate(self, Z: torch.Tensor) -> torch.Tensor:
        return self.net(Z)


class VanillaDiscriminator(Discriminator):
    """MLP discriminator: 784 pixels -> 512 -> 256 -> 1 score."""

    def __init__(
        self,
        image_shape: Sequence[int] = (1, 28, 28),
        outputs: str = "logits",  # 'probs' adds the slide's final Sigmoid
        negative_slope: float = 0.2,  # LeakyReLU slope
        dropout: float = 0.3,  # on the input pixels; the slide does not give the rate
    ) -> None:
        super().__init__(image_shape, outputs)
        self.net = nn.Sequential(
            nn.Flatten(),  # (N, 784)
            nn.Dropout(dropout),  # (N, 784)
            nn.Linear(prod(self.image_shape), 512),  # (N, 512)
            nn.LeakyReLU(negative_slope),  # (N, 512)
            nn.Linear(512, 256),  # (N, 256)
            nn.LeakyReLU(negative_slope),  # (N, 256)
            nn.Linear(256, 1),  # (N, 1) logit; Sigmoid applied by the base class for 'probs'
        )

    def score(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)
