"""Frechet Inception Distance (Heusel et al. 2017, https://arxiv.org/abs/1706.08500).

FID = the Frechet distance between Gaussians fitted to the features of real and of generated
images. With the standard Inception-v3 (`load_inception()`) the numbers are comparable to
papers that use the same weights, resize and sample count. Offline, the default extractor is the
course's small MNIST classifier (`load_mnist_extractor()`): its FID ranks MNIST generators but
is NOT comparable to any Inception FID. FID is biased by the sample count: compare numbers
computed with the same number of samples only.

Either side of `fid` can be a generator (sampled `num_samples` times), a tensor of images, an
`ImageSet`, an iterable of image batches, ready `FeatureStatistics`, or a data set name whose
statistics are computed once and cached on disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from gancourse.checks import check_tensor, describe
from gancourse.metrics.extractor import FeatureExtractor
from gancourse.metrics.frechet import frechet_distance
from gancourse.metrics.statistics import (
    FeatureStatistics,
    StatisticsAccumulator,
    cache_dir,
    cache_key,
)
from gancourse.models.base import OUTPUT_RANGES

Source = Any  # Generator | Tensor | ImageSet | Iterable[Tensor] | FeatureStatistics | str


def fid(
    generated: Source,
    reference: Source,
    *,
    extractor: FeatureExtractor | None = None,
    num_samples: int = 10_000,
    batch_size: int = 250,
    value_range: tuple[float, float] | None = None,
    reference_range: tuple[float, float] | None = None,
    latent_dist: str = "normal",
    seed: int = 0,
    progress: bool = True,
) -> float:
    """FID between `generated` and `reference` (see the module docstring for what each can be).

    `value_range` and `reference_range` are the pixel ranges of the two sides when they are
    tensors or batches (default (0, 1)); generators and ImageSets carry their own. Generators
    are sampled `num_samples` times with noise from `latent_dist`, seeded by `seed`, in eval
    mode.
    """
    extractor = extractor if extractor is not None else _default_extractor()
    options = dict(
        extractor=extractor,
        num_samples=num_samples,
        batch_size=batch_size,
        latent_dist=latent_dist,
        seed=seed,
        progress=progress,
    )
    ref = compute_statistics(reference, value_range=reference_range, **options).with_factor()
    gen = compute_statistics(generated, value_range=value_range, **options)
    if ref.extractor != gen.extractor:
        raise ValueError(
            f"statistics from different extractors: {ref.extractor!r} and "
            f"{gen.extractor!r}; compute both with the same network"
        )
    return frechet_distance(ref.mu, ref.sigma, gen.mu, gen.sigma, factor1=ref.factor)


def compute_statistics(
    source: Source,
    *,
    extractor: FeatureExtractor,
    num_samples: int = 10_000,
    batch_size: int = 250,
    value_range: tuple[float, float] | None = None,
    latent_dist: str = "normal",
    seed: int = 0,
    progress: bool = True,
) -> FeatureStatistics:
    """Feature statistics of one side of an FID computation, accumulated batch by batch."""
    if isinstance(source, FeatureStatistics):
        return source
    if isinstance(source, str):
        return reference_statistics(source, extractor, batch_size=batch_size, progress=progress)
    batches, total, lo_hi = _batches(
        source, num_samples, batch_size, value_range, latent_dist, seed
    )
    lo, hi = lo_hi
    acc = StatisticsAccumulator(extractor.name)
    for batch in tqdm(batches, total=total, desc="features", disable=not progress, leave=False):
        # uint8 images are 0..255 whatever the value range; float ones are mapped to [0, 1]
        if isinstance(batch, torch.Tensor) and batch.dtype == torch.uint8:
            x = batch.float() / 255
        else:
            x = (check_tensor(batch, "images") - lo) / (hi - lo)
        acc.update(extractor.features(x))
    return acc.compute()


def reference_statistics(
    dataset: str,
    extractor: FeatureExtractor,
    *,
    split: str = "train",
    image_size: int | None = None,
    num_images: int | None = None,
    root: str = "data",
    batch_size: int = 250,
    recompute: bool = False,
    progress: bool = True,
) -> FeatureStatistics:
    """Statistics of a data set's images, computed once and cached in `cache_dir()`."""
    from gancourse.data import load_images

    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test', received {split!r}")
    path = cache_dir() / cache_key(dataset, split, extractor.name, image_size, num_images)
    if path.is_file() and not recompute:
        return FeatureStatistics.load(path)
    data = load_images(
        dataset,
        root=root,
        train=split == "train",
        image_size=image_size,
        value_range="sigmoid",
        limit=num_images,
        progress=progress,
    )
    stats = compute_statistics(
        data.images,
        extractor=extractor,
        batch_size=batch_size,
        value_range=(0.0, 1.0),
        progress=progress,
    )
    stats.save(path)
    return stats


def _batches(
    source: Source,
    num_samples: int,
    batch_size: int,
    value_range: tuple[float, float] | None,
    latent_dist: str,
    seed: int,
) -> tuple[Iterable[torch.Tensor], int | None, tuple[float, float]]:
    if batch_size < 1 or num_samples < 1:
        raise ValueError(
            f"expected batch_size >= 1 and num_samples >= 1, received "
            f"{batch_size} and {num_samples}"
        )
    if isinstance(source, nn.Module) and hasattr(source, "latent_dim"):
        rng = OUTPUT_RANGES.get(getattr(source, "output_range", ""), None)
        total = -(-num_samples // batch_size)
        return (
            _sample(source, num_samples, batch_size, latent_dist, seed),
            total,
            value_range or rng or (-1.0, 1.0),
        )
    if hasattr(source, "images") and hasattr(source, "value_range"):  # an ImageSet
        return _batches(
            source.images,
            num_samples,
            batch_size,
            value_range or tuple(source.value_range),
            latent_dist,
            seed,
        )
    if isinstance(source, torch.Tensor):
        if source.dim() != 4:
            raise ValueError(f"images: expected a batch (N, C, H, W), received {describe(source)}")
        total = -(-source.shape[0] // batch_size)
        return source.split(batch_size), total, value_range or (0.0, 1.0)
    if isinstance(source, Iterable):
        total = len(source) if hasattr(source, "__len__") else None
        return _first_items(source), total, value_range or (0.0, 1.0)
    raise TypeError(
        f"expected a generator, a tensor of images, an ImageSet, an iterable of "
        f"batches, FeatureStatistics or a data set name, received {describe(source)}"
    )


def _first_items(batches: Iterable[Any]) -> Iterator[torch.Tensor]:
    """Batches from e.g. a DataLoader yielding (images, labels) tuples."""
    for batch in batches:
        yield batch[0] if isinstance(batch, tuple | list) else batch


@torch.no_grad()
def _sample(
    G: nn.Module, num_samples: int, batch_size: int, latent_dist: str, seed: int
) -> Iterator[torch.Tensor]:
    from gancourse.training import sample_noise

    device = next(G.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    was_training = G.training
    G.eval()
    try:
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            yield G(sample_noise(n, G.latent_dim, latent_dist, device, generator))
    finally:
        G.train(was_training)


def _default_extractor() -> FeatureExtractor:
    from gancourse.metrics.mnist_net import load_mnist_extractor

    return load_mnist_extractor()
