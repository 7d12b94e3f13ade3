"""Toy data distributions for the 1-D and 2-D playground chapters.

A 1-D Gaussian reproduces the picture of Goodfellow et al.'s Figure 1 (p_data, p_g and D on a
line); a ring or grid of Gaussians (Metz et al. 2017) makes mode collapse visible: a collapsed
generator covers one or a few of the modes. Each distribution samples and, where the chapter
needs it, evaluates its density exactly, so D can be compared with D* = p_data / (p_data + p_g).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

MIN_MODE_SHARE = 20 / 2500  # share of all samples a covered mode needs (Lin et al. 2018)


@dataclass(frozen=True)
class Gaussian1D:
    """N(mean, std^2) on the real line."""

    mean: float = 4.0  # centre of the data
    std: float = 0.5  # spread of the data

    data_dim = 1

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples, shape (n, 1)."""
        return self.mean + self.std * torch.randn(n, 1, generator=generator)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) at the points x (any shape)."""
        z = (x - self.mean) / self.std
        return torch.exp(-0.5 * z**2) / (self.std * math.sqrt(2 * math.pi))


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of isotropic 2-D Gaussians at `centers`."""

    centers: tuple[tuple[float, float], ...]  # the modes
    std: float = 0.05  # spread of each mode

    data_dim = 2

    @property
    def num_modes(self) -> int:
        return len(self.centers)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples, shape (n, 2), modes drawn uniformly."""
        centers = torch.tensor(self.centers, dtype=torch.float32)
        which = torch.randint(len(centers), (n,), generator=generator)
        return centers[which] + self.std * torch.randn(n, 2, generator=generator)

    def density(self, x: torch.Tensor) -> torch.Tensor:
        """p(x) for points x of shape (n, 2)."""
        centers = torch.tensor(self.centers, dtype=x.dtype, device=x.device)
        sq = ((x[:, None, :] - centers[None]) ** 2).sum(-1)  # (n, modes)
        norm = 2 * math.pi * self.std**2
        return torch.exp(-0.5 * sq / self.std**2).mean(1) / norm

    def nearest_mode(self, x: torch.Tensor) -> torch.Tensor:
        """Index of the closest mode for each point, shape (n,)."""
        centers = torch.tensor(self.centers, dtype=x.dtype, device=x.device)
        return torch.cdist(x, centers).argmin(1)

    def mode_coverage(
        self, x: torch.Tensor, max_std: float = 3.0, min_share: float = MIN_MODE_SHARE
    ) -> tuple[int, float]:
        """(modes covered, share of high-quality samples).

        A sample is high quality when it lies within `max_std` standard deviations of its
        nearest mode (Srivastava et al. 2017). A mode counts as covered when at least
        `min_share` of all samples are high-quality samples of it (Lin et al. 2018 call a mode
        lost below 20 of 2,500 samples), so a scatter that grazes a mode with one stray sample
        does not cover it.
        """
        centers = torch.tensor(self.centers, dtype=x.dtype, device=x.device)
        dist = torch.cdist(x, centers)
        close = dist.min(1).values <= max_std * self.std
        counts = torch.bincount(dist.argmin(1)[close], minlength=len(centers))
        needed = max(1, math.ceil(min_share * len(x)))
        covered = int((counts >= needed).sum())
        return covered, float(close.float().mean()) if len(x) else 0.0


def ring(num_modes: int = 8, radius: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """`num_modes` Gaussians evenly spaced on a circle (the classic mode-collapse test)."""
    angles = [2 * math.pi * i / num_modes for i in range(num_modes)]
    centers = tuple((radius * math.cos(a), radius * math.sin(a)) for a in angles)
    return GaussianMixture2D(centers, std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """side x side Gaussians on a square grid centred at the origin."""
    offset = spacing * (side - 1) / 2
    centers = tuple(
        (i * spacing - offset, j * spacing - offset) for i in range(side) for j in range(side)
    )
    return GaussianMixture2D(centers, std)
