"""Did the generator memorise its training set? Nearest neighbours and a data-copying test.

A GAN that reproduces its training images scores well on FID and precision, yet it has learnt
nothing beyond a lookup table. The classic check (Goodfellow et al. 2014, Fig. 2; Radford et al.
2015) shows each generated sample next to its nearest training images: copies are obvious.

`nearest_neighbours` finds them, in pixel space (L2 distance between flattened images, which
flags near-exact copies but calls a digit shifted by one pixel "far") or in an extractor's
feature space (which also catches copies that differ in small details).
`memorisation_figure` draws them.

Looking at pictures does not scale, so `data_copying_test` turns the distances into numbers.
Meehan, Chaudhuri and Dasgupta (2020), "A Non-Parametric Test to Detect Data-Copying in
Generative Models" (AISTATS), compare two sets of distances to the training set:

    d_gen(i)  = distance from generated sample i to its nearest training image
    d_real(j) = distance from held-out real image j (never trained on) to its nearest training
                image

    closer_probability = P(d_gen < d_real) + 1/2 P(d_gen = d_real)     (over all pairs i, j)

This is the Mann-Whitney U statistic divided by the number of pairs; it needs no threshold.
How to read it:

* about 0.5: generated samples are as close to the training set as new real images are, which
  is what a generator that learnt the distribution (rather than the samples) does;
* well above 0.5 (towards 1): samples sit closer to training images than real data does, i.e.
  G copies (memorises) its training set; `z` (the normal approximation of U, positive for
  copying) says whether the difference is more than chance: |z| > 3 is hard to explain by luck;
* well below 0.5: samples are farther from the data than real images: underfitting or poor
  quality, not memorisation.

The paper applies the test within cells of a partition of feature space so that copying in one
region is not averaged out by underfitting in another; this is the simpler global version.
`copy_fraction` is the thresholded companion: the share of samples closer to a training image
than (say) 99% of held-out real images are (about the quantile itself, 0.01, for a non-copying
G). Without held-out data, leave-one-out distances within the training set,
`nearest_neighbours(train, train, exclude_self=True)`, are a slightly pessimistic stand-in.
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from gancourse.checks import check_tensor, check_value_range, describe
from gancourse.metrics.extractor import FeatureExtractor
from gancourse.metrics.sources import image_batches
from gancourse.plots import draw_image

DEFAULT_BATCH_SIZE = 500  # query rows whose distances are held at once
REFERENCE_ELEMENTS = 2**24  # float64 values of references converted at once (128 MB)


def nearest_neighbours(
    queries: torch.Tensor,
    references: torch.Tensor,
    k: int = 1,
    extractor: FeatureExtractor | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    value_range: tuple[float, float] = (0.0, 1.0),
    exclude_self: bool = False,
    progress: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k closest references to each query: distances (N, k) float64 and indices (N, k)
    int64 into `references`, on the CPU.

    Rows are sorted, closest first. Without an extractor the distance is L2 between flattened
    images (or any (N, ...) arrays of equal trailing shape, e.g. precomputed features) after
    mapping `value_range` to [0, 1]; with one, it is L2 between `extractor.features` of the
    images (pass value_range=(-1, 1) for Tanh generators). `exclude_self=True` (queries and
    references the same set) skips each query's own index: leave-one-out distances within a
    training set.
    """
    queries = check_tensor(queries, "queries").detach()
    references = check_tensor(references, "references").detach()
    if queries.dim() < 2 or references.dim() < 2 or len(queries) < 1 or len(references) < 1:
        raise ValueError(
            "queries and references: expected batches (N, ...) such as images (N, C, H, W), "
            f"received {describe(queries)} and {describe(references)}"
        )
    if queries.shape[1:] != references.shape[1:]:
        raise ValueError(
            f"queries and references: expected the same shape per sample, received "
            f"{tuple(queries.shape[1:])} and {tuple(references.shape[1:])}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, received {batch_size!r}")
    if exclude_self and len(queries) != len(references):
        raise ValueError(
            f"exclude_self=True: expected queries and references to be the same set, received "
            f"{len(queries)} queries and {len(references)} references"
        )
    available = len(references) - int(exclude_self)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= available:
        raise ValueError(
            f"k: expected an int from 1 to {available} (the number of references"
            f"{' other than the query' if exclude_self else ''}), received {k!r}"
        )
    lo, hi = check_value_range(value_range)
    if extractor is None:  # pixels: converted a chunk at a time, never the whole set in float64
        q_src, r_src = queries, references
    else:
        q_src = _features(queries, extractor, lo, hi, batch_size, progress)
        r_src = _features(references, extractor, lo, hi, batch_size, progress)

    def vectors(x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        if extractor is not None:
            return x[start:stop]
        return ((x[start:stop].to(torch.float64) - lo) / (hi - lo)).flatten(1)

    dim = max(1, references[0].numel() if extractor is None else r_src.shape[1])
    chunk = max(1, min(len(references), REFERENCE_ELEMENTS // dim))  # references per cdist
    from gancourse.progress import progress_bar as tqdm

    distances, indices = [], []
    starts = range(0, len(queries), batch_size)
    for start in tqdm(
        starts, disable=not progress, desc="nearest neighbours", unit="batch", dynamic_ncols=True
    ):
        q = vectors(q_src, start, start + batch_size)
        best_d = torch.empty(len(q), 0, dtype=torch.float64, device=q.device)
        best_i = torch.empty(len(q), 0, dtype=torch.int64, device=q.device)
        for ref_start in range(0, len(references), chunk):
            dist = torch.cdist(q, vectors(r_src, ref_start, ref_start + chunk))  # (B, chunk)
            ids = torch.arange(ref_start, ref_start + dist.shape[1], device=dist.device)
            if exclude_self:  # a query is not its own neighbour
                own = torch.arange(start, start + len(q), device=dist.device)
                dist = dist.masked_fill(own[:, None] == ids[None, :], float("inf"))
            # Merge this chunk's candidates with the best so far; keep the k closest, sorted.
            cand_d = torch.cat([best_d, dist], dim=1)
            cand_i = torch.cat([best_i, ids.expand(len(q), -1)], dim=1)
            best = cand_d.topk(min(k, cand_d.shape[1]), dim=1, largest=False)
            best_d, best_i = best.values, cand_i.gather(1, best.indices)
        distances.append(best_d.cpu())
        indices.append(best_i.cpu())
    return torch.cat(distances), torch.cat(indices)


def memorisation_figure(
    generated: torch.Tensor,
    training: torch.Tensor,
    indices: torch.Tensor,
    value_range: tuple[float, float] = (-1.0, 1.0),
    distances: torch.Tensor | None = None,
    size: float = 1.2,
) -> Figure:
    """One row per generated sample: the sample, then its k nearest training images.

    `indices` (N, k) comes from `nearest_neighbours(generated, training, k)`; pass its
    `distances` too to print them under the neighbours.
    """
    generated = _check_images(generated, "generated")
    training = _check_images(training, "training")
    indices = check_tensor(indices, "indices", floating=False)
    if indices.dim() != 2 or len(indices) != len(generated) or indices.shape[1] < 1:
        raise ValueError(
            f"indices: expected shape (N, k) with N = {len(generated)} generated samples, "
            f"received {describe(indices)}"
        )
    if indices.is_floating_point() or indices.min() < 0 or indices.max() >= len(training):
        raise ValueError(
            f"indices: expected integer indices into the {len(training)} training images, "
            f"received {describe(indices)} with values in "
            f"[{indices.min().item()}, {indices.max().item()}]"
        )
    if distances is not None and tuple(distances.shape) != tuple(indices.shape):
        raise ValueError(
            f"distances: expected the shape of indices {tuple(indices.shape)}, received "
            f"{describe(distances)}"
        )
    lo, hi = check_value_range(value_range)
    n, k = indices.shape
    fig = Figure(figsize=(size * (k + 1), size * n + 0.4))
    axes = fig.subplots(n, k + 1, squeeze=False)
    for i in range(n):
        draw_image(axes[i, 0], generated[i], lo, hi)
        for j in range(k):
            draw_image(axes[i, j + 1], training[indices[i, j]], lo, hi)
            if distances is not None:
                axes[i, j + 1].set_xlabel(f"d={distances[i, j].item():.3g}", fontsize=8)
    axes[0, 0].set_title("generated", fontsize=9)
    for j in range(k):
        axes[0, j + 1].set_title(f"neighbour {j + 1}", fontsize=9)
    fig.tight_layout()
    return fig


def data_copying_test(gen_to_train: torch.Tensor, real_to_train: torch.Tensor) -> dict[str, float]:
    """Threshold-free data-copying test on nearest-training-image distances (see module doc).

    `gen_to_train` (N,) and `real_to_train` (M,) are distances from generated samples and from
    held-out real images to their nearest training image (column 0 of `nearest_neighbours`).
    Returns {"closer_probability": P(d_gen < d_real) with ties counting 1/2 (0.5: no copying,
    towards 1: copying, towards 0: underfitting), "z": its normal-approximation z score
    (positive = copying), "median_ratio": median d_gen / median d_real (below 1: closer)}.
    """
    gen = _check_distances(gen_to_train, "gen_to_train")
    real = _check_distances(real_to_train, "real_to_train")
    n, m = len(gen), len(real)
    real_sorted = real.sort().values
    below = torch.searchsorted(real_sorted, gen, right=False)  # real distances < each gen one
    upto = torch.searchsorted(real_sorted, gen, right=True)  # real distances <= each gen one
    u = ((m - upto) + 0.5 * (upto - below)).sum().item()  # pairs where the sample is closer
    mean_u, var_u = n * m / 2, n * m * (n + m + 1) / 12
    real_median = real.median().item()
    return {
        "closer_probability": u / (n * m),
        "z": (u - mean_u) / math.sqrt(var_u),
        "median_ratio": gen.median().item() / real_median if real_median > 0 else math.inf,
    }


def copy_fraction(
    gen_to_train: torch.Tensor, real_to_train: torch.Tensor, quantile: float = 0.01
) -> float:
    """Share of generated samples closer to the training set than the `quantile` quantile of
    held-out real images' distances. A generator that does not copy gives about `quantile`;
    much more means many samples are suspiciously close to training images."""
    gen = _check_distances(gen_to_train, "gen_to_train")
    real = _check_distances(real_to_train, "real_to_train")
    if not isinstance(quantile, float | int) or not 0 < quantile < 1:
        raise ValueError(f"quantile: expected a number in (0, 1), e.g. 0.01, received {quantile!r}")
    threshold = torch.quantile(real, float(quantile)).item()
    return (gen < threshold).double().mean().item()


def _features(
    x: torch.Tensor,
    extractor: FeatureExtractor,
    lo: float,
    hi: float,
    batch_size: int,
    progress: bool,
) -> torch.Tensor:
    """(N, feature_dim) float64 features of images with values in [lo, hi], on the CPU."""
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(
            f"extractor: expected a gancourse FeatureExtractor or None, received "
            f"{describe(extractor)}"
        )
    from gancourse.progress import progress_bar as tqdm

    batches, total = image_batches(x, batch_size=batch_size, value_range=(lo, hi))
    batches = tqdm(batches, total=total, disable=not progress, desc="features", unit="batch")
    return torch.cat([extractor.features(b).cpu().double() for b in batches])


def _check_images(x: object, name: str) -> torch.Tensor:
    x = check_tensor(x, name)
    if x.dim() != 4 or x.shape[1] not in (1, 3) or len(x) < 1:
        raise ValueError(
            f"{name}: expected images of shape (N, 1 or 3, H, W), received {describe(x)}"
        )
    return x.detach().float().cpu()


def _check_distances(x: object, name: str) -> torch.Tensor:
    x = check_tensor(x, name)
    if x.dim() == 2 and x.shape[1] >= 1:
        x = x[:, 0]  # the distances of nearest_neighbours: keep the nearest
    if x.dim() != 1 or len(x) < 1:
        raise ValueError(
            f"{name}: expected nearest-neighbour distances of shape (N,) or (N, k), received "
            f"{describe(x)}"
        )
    x = x.detach().cpu().double()
    if not torch.isfinite(x).all() or (x < 0).any():
        raise ValueError(f"{name}: expected finite distances >= 0, received other values")
    return x
