"""Building blocks shared by the reference models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Which low-resolution rows (columns) a 3x3 kernel's taps land on after nearest 2x upsampling,
# for each of the 4 taps of the equivalent 4x4 stride-2 transposed convolution:
# tap 0 <- kernel row 2; tap 1 <- rows 1 + 2; tap 2 <- rows 0 + 1; tap 3 <- row 0.
_TAPS = ((0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (1.0, 1.0, 0.0), (1.0, 0.0, 0.0))


class UpsampleConv(nn.Module):
    """Nearest-neighbour 2x upsampling followed by a 3x3 convolution with padding 1.

    The two layers are kept as they are in the slides (`upsample`, `conv`: same parameters,
    same state dict, same printout), but by default the forward pass computes them as one
    4x4 stride-2 transposed convolution whose kernel is summed from the 3x3 one. The output is
    identical (each output pixel sees a 2x2 patch of the small image, not a 3x3 patch of the
    large one) for 16/36, i.e. 2.25x fewer multiply-adds. `fast=False` runs the literal layers.
    """

    def __init__(self, in_channels: int, out_channels: int, fast: bool = True) -> None:
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=2)  # (N, C_in, 2H, 2W)
        self.conv = nn.Conv2d(
            in_channels, out_channels, 3, stride=1, padding=1
        )  # (N, C_out, 2H, 2W)
        self.fast = fast
        self.register_buffer("taps", torch.tensor(_TAPS), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fast:
            return self.conv(self.upsample(x))
        taps = self.taps.to(self.conv.weight.dtype)
        # (C_out, C_in, 3, 3) -> (C_in, C_out, 4, 4), the layout conv_transpose2d expects
        kernel = torch.einsum("kr,oirs,ls->iokl", taps, self.conv.weight, taps)
        return F.conv_transpose2d(x, kernel.to(x.dtype), self.conv.bias, stride=2, padding=1)


class MinibatchStd(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018): append to every sample's features one
    number, the standard deviation of each feature across the batch, averaged over features.

    A collapsed generator makes batches whose fakes all look alike, so their spread is far below
    that of a real batch; with this layer D sees the spread and can reject such a batch as a
    whole, which pushes G back towards variety. It mixes the samples of a batch, so it does not
    go with per-sample penalties (WGAN-GP, R1)."""

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if h.shape[0] < 2:
            raise ValueError(
                f"MinibatchStd: expected a batch of at least 2 samples, received {h.shape[0]}"
            )
        spread = h.std(dim=0, unbiased=False).mean()  # one number for the whole batch
        return torch.cat([h, spread.expand(h.shape[0], *([1] * (h.dim() - 1)))], dim=1)
