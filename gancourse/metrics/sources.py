"""What the metrics can evaluate, turned into batches of images in [0, 1].

A metric may be given a generator (sampled in eval mode with seeded noise), a tensor of
images, an `ImageSet`, or any iterable of image batches (a DataLoader yielding (images, labels)
works too). Float pixels are mapped from `value_range` to [0, 1]; uint8 pixels are read as
0..255. Generators and ImageSets carry their own range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

from gancourse.checks import VALUE_RANGES, check_tensor, check_value_range, describe
from gancourse.models.base import eval_mode


def image_batches(
    source: Any,
    *,
    batch_size: int = 250,
    value_range: tuple[float, float] | str | None = None,
    num_samples: int = 10_000,
    latent_dist: str = "normal",
    seed: int = 0,
) -> tuple[Iterator[torch.Tensor], int | None]:
    """(batches of float images in [0, 1], number of batches or None when unknown)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, received {batch_size!r}")
    if isinstance(source, nn.Module) and hasattr(source, "latent_dim"):
        if num_samples < 1:
            raise ValueError(f"num_samples: expected a positive int, received {num_samples!r}")
        own = VALUE_RANGES.get(getattr(source, "output_range", ""), (-1.0, 1.0))
        raw = _sample(source, num_samples, batch_size, latent_dist, seed)
        return _scaled(raw, value_range or own), math.ceil(num_samples / batch_size)
    if hasattr(source, "images") and hasattr(source, "value_range"):  # an ImageSet
        source, value_range = source.images, value_range or tuple(source.value_range)
    if isinstance(source, torch.Tensor):
        if source.dim() != 4:
            raise ValueError(f"images: expected a batch (N, C, H, W), received {describe(source)}")
        total = math.ceil(source.shape[0] / batch_size)
        return _scaled(iter(source.split(batch_size)), value_range or (0.0, 1.0)), total
    if isinstance(source, Iterable) and not isinstance(source, str | bytes):
        total = len(source) if hasattr(source, "__len__") else None
        return _scaled(_first_items(source), value_range or (0.0, 1.0)), total
    raise TypeError(
        "expected a generator, a tensor of images (N, C, H, W), an ImageSet or an iterable of "
        f"image batches, received {describe(source)}"
    )


def _scaled(
    batches: Iterator[Any], value_range: tuple[float, float] | str
) -> Iterator[torch.Tensor]:
    lo, hi = check_value_range(value_range)
    for batch in batches:
        if isinstance(batch, torch.Tensor) and batch.dtype == torch.uint8:
            yield batch.float() / 255
        else:
            yield (check_tensor(batch, "images").detach() - lo) / (hi - lo)


def _first_items(batches: Iterable[Any]) -> Iterator[Any]:
    """Images from batches that may be (images, labels) pairs."""
    for batch in batches:
        yield batch[0] if isinstance(batch, tuple | list) else batch


@torch.no_grad()
def _sample(
    G: nn.Module, num_samples: int, batch_size: int, latent_dist: str, seed: int
) -> Iterator[torch.Tensor]:
    from gancourse.training import sample_noise

    device = next(G.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    with eval_mode(G):
        for start in range(0, num_samples, batch_size):
            n = min(batch_size, num_samples - start)
            yield G(sample_noise(n, G.latent_dim, latent_dist, device, generator))
