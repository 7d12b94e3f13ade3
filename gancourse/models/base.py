"""What every generator and discriminator in the course shares.

A generator maps noise Z of shape (N, latent_dim) to images of shape (N, *image_shape) in
its `output_range`. A discriminator maps images to one score per image, shape (N, 1): either
a logit (use `BCEWithLogits`, numerically stable) or a probability (the slides' Sigmoid form,
use `BCELoss`). Which one is fixed at construction in `outputs` and read by the losses, so the
two are never silently mixed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from gancourse.checks import VALUE_RANGES, check_batch, check_choice

OUTPUT_KINDS = ("logits", "probs")
OUTPUT_RANGES = VALUE_RANGES  # the pixel range each output layer produces


class Generator(nn.Module):
    """Base class: checks Z and reshapes the body's output to images."""

    def __init__(self, latent_dim: int, image_shape: Sequence[int], output_range: str) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)  # length of the noise vector z
        self.image_shape = tuple(int(d) for d in image_shape)  # (C, H, W) of one output image
        self.output_range = check_choice(output_range, tuple(OUTPUT_RANGES), "output_range")

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        check_batch(Z, (self.latent_dim,), f"{type(self).__name__} input Z")
        return self.generate(Z).reshape(Z.shape[0], *self.image_shape)

    def generate(self, Z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class Discriminator(nn.Module):
    """Base class: checks the image batch and applies the chosen output form."""

    def __init__(self, image_shape: Sequence[int], outputs: str) -> None:
        super().__init__()
        self.image_shape = tuple(int(d) for d in image_shape)  # (C, H, W) it judges
        self.outputs = check_choice(outputs, OUTPUT_KINDS, "outputs")  # 'logits' or 'probs'
        # The last layer: Sigmoid for the slides' probabilities, nothing for logits.
        self.output_activation = nn.Sigmoid() if outputs == "probs" else nn.Identity()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        check_batch(X, self.image_shape, f"{type(self).__name__} input X")
        return self.output_activation(self.score(X))

    def score(self, X: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """The logit, shape (N, 1)."""
        raise NotImplementedError


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Run `module` in eval mode (batchnorm running statistics, no dropout) and give every
    submodule back the train/eval flag it had, even if the body raises."""
    modes = {m: m.training for m in module.modules()}
    module.eval()
    try:
        yield module
    finally:
        for m, training in modes.items():
            m.train(training)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; batchnorm running statistics are buffers, not counted."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def init_dcgan_weights(module: nn.Module) -> nn.Module:
    """Radford et al. (2015) initialisation: conv and linear weights ~ N(0, 0.02), biases 0,
    batchnorm scales ~ N(1, 0.02) and shifts 0. Returns the module so it can be chained."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module
