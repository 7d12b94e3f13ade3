"""Input checks for the package's public edges.

Every message says what was expected and what was received, so a student who passes a
(64, 28, 28) batch to a model that wants (64, 1, 28, 28) learns exactly what to change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def describe(x: object) -> str:
    """A short description of a value for error messages: shape and dtype for tensors."""
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {tuple(x.shape)} on {x.device}"
    return f"a {type(x).__name__}"


def check_tensor(x: object, name: str, *, floating: bool = True) -> torch.Tensor:
    """Raise a TypeError unless `x` is a (floating point) tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, received {describe(x)}")
    if floating and not x.is_floating_point():
        raise TypeError(
            f"{name}: expected a floating point tensor (e.g. torch.float32), received "
            f"{describe(x)}; convert it with .float()"
        )
    return x


def check_batch(x: object, tail: Sequence[int], name: str) -> torch.Tensor:
    """Check that `x` is a float batch of shape (N, *tail) with N >= 1."""
    x = check_tensor(x, name)
    expected = "(N, " + ", ".join(str(d) for d in tail) + ")"
    if x.dim() != len(tail) + 1 or tuple(x.shape[1:]) != tuple(tail) or x.shape[0] < 1:
        raise ValueError(f"{name}: expected a batch of shape {expected}, received {describe(x)}")
    return x


def check_choice(value: str, choices: Sequence[str], name: str) -> str:
    """Check that `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, received {value!r}")
    return value


def check_probabilities(p: torch.Tensor, name: str) -> torch.Tensor:
    """Check that a tensor holds probabilities in [0, 1] (e.g. a Sigmoid output)."""
    if p.numel() and (torch.any(p < 0) or torch.any(p > 1) or torch.any(torch.isnan(p))):
        raise ValueError(
            f"{name}: expected probabilities in [0, 1], received values in "
            f"[{p.min().item():.4g}, {p.max().item():.4g}]; if these are logits "
            "(no Sigmoid at the end), pass outputs='logits'"
        )
    return p


VALUE_RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}  # pixel range by output layer


def check_value_range(value_range: object, name: str = "value_range") -> tuple[float, float]:
    """A pixel range: 'tanh' -> (-1, 1), 'sigmoid' -> (0, 1), or a (low, high) pair of finite
    numbers with low < high."""
    if isinstance(value_range, str) and value_range.lower() in VALUE_RANGES:
        return VALUE_RANGES[value_range.lower()]
    if (
        isinstance(value_range, tuple | list)
        and len(value_range) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value_range)
        and all(math.isfinite(v) for v in value_range)
        and value_range[0] < value_range[1]
    ):
        return float(value_range[0]), float(value_range[1])
    raise ValueError(
        f"{name}: expected 'tanh', 'sigmoid' or a (low, high) pair of finite numbers with "
        f"low < high, e.g. (-1, 1), received {value_range!r}"
    )
