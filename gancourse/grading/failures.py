"""The one exception grading raises, and the inputs every check feeds a model."""

from __future__ import annotations

import torch
from torch import nn


class GradingFailure(AssertionError):
    """A behaviour the specification asks for is missing; the message says what to change.

    It is an AssertionError so that an nbgrader test cell that calls a check fails (and loses
    that cell's points) exactly like a failed `assert`.
    """


def probe_inputs(input_shape: tuple[int, ...], n: int = 16, seed: int = 0) -> torch.Tensor:
    """Fixed inputs for a model: N(0, 1) noise vectors, or images in [-1, 1] with a few
    saturated ones (so a missing Sigmoid or Tanh shows in the output range)."""
    rng = torch.Generator().manual_seed(seed)
    if len(input_shape) == 1:
        return torch.randn(n, *input_shape, generator=rng) * 1.5
    images = torch.rand(n, *input_shape, generator=rng) * 2 - 1
    images[: n // 4] = images[: n // 4].sign()  # all-black/all-white pixels
    return images


def model_device(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def run(model: nn.Module, inputs: torch.Tensor, what: str) -> torch.Tensor:
    """model(inputs), with a student's exception turned into a failure that names it."""
    try:
        out = model(inputs.to(model_device(model)))
    except Exception as error:  # the student's forward crashed: say where and on what
        raise GradingFailure(
            f"your {what} raised {type(error).__name__} on an input of shape "
            f"{tuple(inputs.shape)}: {error}"
        ) from error
    if not isinstance(out, torch.Tensor):
        raise GradingFailure(
            f"your {what} returned {type(out).__name__}; expected one torch.Tensor"
        )
    return out
