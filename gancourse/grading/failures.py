"""The one exception grading raises, the inputs every check feeds a model, and `ask`, which turns
a crash of the student's code into a failure that names it."""

from __future__ import annotations

import re

import torch


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


def error_name(error: BaseException) -> str:
    """The student's exception type (a crash inside the sandbox arrives as SubmissionError)."""
    return getattr(error, "ename", None) or type(error).__name__


def ask(what: str, question, *args, shape: tuple[int, ...] | None = None, **kwargs):
    """question(*args, **kwargs), with any exception of the student's code turned into a
    GradingFailure that says what crashed (and on what input shape)."""
    try:
        return question(*args, **kwargs)
    except GradingFailure:
        raise
    except Exception as error:  # the student's forward crashed: say where and on what
        on = f" on an input of shape {tuple(shape)}" if shape is not None else ""
        message = getattr(error, "evalue", None) or str(error)
        raise GradingFailure(
            f"your {what} raised {error_name(error)}{on}: {message}{crash_hint(message)}"
        ) from None


_MATMUL = re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
_CHANNELS = re.compile(r"expected input\[[^\]]*\] to have (\d+) channels, but got (\d+) channels")


def crash_hint(message: str) -> str:
    """The likely cause of a forward pass that raised on a shape mismatch, named once for all
    the checks that run it ("" when the message is not one of these)."""
    matmul = _MATMUL.search(message)
    if matmul:
        return (
            f". A Linear layer expects {matmul[3]} input features and received {matmul[2]}: "
            f"compare the layers before it with the table (a convolution's padding or stride, "
            f"a missing Flatten, a reshape that loses the batch dimension)"
        )
    channels = _CHANNELS.search(message)
    if channels:
        return (
            f". A convolution expects {channels[1]} input channels and received {channels[2]}: "
            f"check the out_channels of the layer before it against the table"
        )
    return ""


def output_of(answer: dict, what: str, shape: tuple[int, ...]) -> torch.Tensor:
    """The output tensor in a probe's answer, or a failure saying what came back instead."""
    if answer.get("output") is None:
        raise GradingFailure(
            f"your {what} returned {answer.get('returned', 'nothing')} for an input of shape "
            f"{tuple(shape)}; expected one torch.Tensor"
        )
    return answer["output"]
