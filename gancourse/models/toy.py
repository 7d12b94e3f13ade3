"""Small MLP generators and discriminators for 1-D and 2-D toy distributions.

The playground chapters (the 1-D picture of Goodfellow et al.'s Figure 1, mode collapse on a
ring of Gaussians) train these in seconds on a CPU, so students can change a learning rate or
k and see the effect at once.
"""

from __future__ import annotations

import torch
from torch import nn

from gancourse.checks import check_batch, check_choice
from gancourse.models.base import OUTPUT_KINDS
from gancourse.models.layers import MinibatchStd


class ToyGenerator(nn.Module):
    """z (latent_dim) -> hidden layers with ReLU -> a point in R^data_dim (no output squashing)."""

    def __init__(
        self,
        latent_dim: int = 1,  # dimension of the noise z
        data_dim: int = 1,  # dimension of a sample (1 for the 1-D picture, 2 for rings)
        hidden: int = 32,  # units per hidden layer
        depth: int = 2,  # number of hidden layers
    ) -> None:
        super().__init__()
        self.latent_dim, self.data_dim = latent_dim, data_dim
        layers: list[nn.Module] = []
        width = latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]  # (N, hidden)
            width = hidden
        layers.append(nn.Linear(width, data_dim))  # (N, data_dim)
        self.net = nn.Sequential(*layers)

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_batch(Z, (self.latent_dim,), "ToyGenerator input Z")
        return self.net(Z)


class ToyDiscriminator(nn.Module):
    """A point in R^data_dim -> hidden layers with LeakyReLU -> one logit or probability."""

    def __init__(
        self,
        data_dim: int = 1,  # dimension of a sample
        hidden: int = 32,  # units per hidden layer
        depth: int = 2,  # number of hidden layers
        outputs: str = "logits",  # 'probs' adds a final Sigmoid
        minibatch_std: bool = False,  # append the batch's feature spread before the last layer
    ) -> None:
        super().__init__()
        self.data_dim = data_dim
        self.outputs = check_choice(outputs, OUTPUT_KINDS, "outputs")
        layers: list[nn.Module] = []
        width = data_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]  # (N, hidden)
            width = hidden
        if minibatch_std:
            layers.append(MinibatchStd())  # (N, hidden + 1)
            width += 1
        layers.append(nn.Linear(width, 1))  # (N, 1) logit
        if outputs == "probs":
            layers.append(nn.Sigmoid())  # (N, 1) probability
        self.net = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_batch(X, (self.data_dim,), "ToyDiscriminator input X")
        return self.net(X)
