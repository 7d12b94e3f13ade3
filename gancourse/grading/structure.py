"""What a student's network returns, what it is made of, and how it behaves while training."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from gancourse.checks import describe
from gancourse.grading.failures import GradingFailure, probe_inputs, run
from gancourse.models.base import eval_mode
from gancourse.models.summary import trace_layers

LayerKinds = type | tuple[type, ...]
RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "probs": (0.0, 1.0)}
_TOLERANCE = 1e-6  # float32 rounding at the ends of Tanh/Sigmoid


def check_is_module(obj: object, what: str = "model") -> nn.Module:
    """The object must be an instance of a torch.nn.Module subclass (not the class itself)."""
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        raise GradingFailure(
            f"your {what} is the class {obj.__name__}, not a network: create one, e.g. "
            f"{obj.__name__}()"
        )
    if not isinstance(obj, nn.Module):
        raise GradingFailure(
            f"your {what} must be a torch.nn.Module (a class that subclasses nn.Module and "
            f"calls super().__init__()); received {describe(obj)}"
        )
    return obj


def check_output_shape(
    model: nn.Module, input_shape: tuple[int, ...], expected: tuple[int, ...], what: str = "model"
) -> None:
    """A batch of inputs (N, *input_shape) must give outputs (N, *expected)."""
    inputs = probe_inputs(input_shape, n=4)
    with eval_mode(model), torch.no_grad():
        out = run(model, inputs, what)
    want = (4, *expected)
    if tuple(out.shape) != want:
        hint = ""
        if out.numel() == 4 * torch.Size(expected).numel():
            sizes = ", ".join(map(str, expected))
            hint = f": the numbers are all there, reshape them with .view(-1, {sizes})"
        elif out.dim() >= 1 and out.shape[0] != 4:
            hint = ": the first dimension must stay the batch size"
        raise GradingFailure(
            f"your {what} maps inputs of shape {tuple(inputs.shape)} to shape "
            f"{tuple(out.shape)}; expected {want}{hint}"
        )


def check_output_range(
    model: nn.Module, input_shape: tuple[int, ...], kind: str, what: str = "model"
) -> None:
    """Outputs must lie in the range of the final activation the specification asks for:
    'tanh' (-1, 1), 'sigmoid' (0, 1) for images, 'probs' (0, 1) for a discriminator."""
    if kind not in RANGES:
        raise ValueError(f"kind: expected one of {list(RANGES)}, received {kind!r}")
    lo, hi = RANGES[kind]
    inputs = torch.cat([probe_inputs(input_shape, n=32), probe_inputs(input_shape, 32, 1) * 4])
    with eval_mode(model), torch.no_grad():
        out = run(model, inputs, what).float()
    if not torch.isfinite(out).all():
        raise GradingFailure(f"your {what} returns NaN or infinite values")
    mn, mx = out.min().item(), out.max().item()
    if kind == "probs" and not (mn >= lo - _TOLERANCE and mx <= hi + _TOLERANCE):
        raise GradingFailure(
            f"your {what} returns values outside [0, 1] (from {mn:.3g} to {mx:.3g}): did you "
            f"forget the Sigmoid at the end?"
        )
    if kind == "tanh":
        if mn < lo - _TOLERANCE or mx > hi + _TOLERANCE:
            raise GradingFailure(
                f"your {what} returns values outside [-1, 1] (from {mn:.3g} to {mx:.3g}): did "
                f"you forget the Tanh at the end?"
            )
        if mn >= 0.0:
            raise GradingFailure(
                f"your {what} never returns negative values (from {mn:.3g} to {mx:.3g}), but "
                f"the images are scaled to [-1, 1]: did you use Sigmoid (or ReLU) instead of "
                f"Tanh at the end?"
            )
    if kind == "sigmoid" and not (mn >= lo - _TOLERANCE and mx <= hi + _TOLERANCE):
        raise GradingFailure(
            f"your {what} returns values outside [0, 1] (from {mn:.3g} to {mx:.3g}), but the "
            f"images are scaled to [0, 1]: end with a Sigmoid"
        )


def check_parameter_count(
    model: nn.Module,
    expected: int,
    what: str = "model",
    reference: nn.Module | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> None:
    """The number of trainable parameters must be `expected`. With a `reference` (and the
    input shape), the message points at the first layer whose size differs."""
    found = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if found == expected:
        return
    message = f"your {what} has {found:,} trainable parameters; the specification has {expected:,}"
    if reference is not None and input_shape is not None:
        message += _first_layer_difference(model, reference, input_shape)
    raise GradingFailure(message)


def _first_layer_difference(
    model: nn.Module, reference: nn.Module, input_shape: tuple[int, ...]
) -> str:
    try:
        mine = [(r.kind, r.parameters) for r in trace_layers(model, input_shape) if r.parameters]
    except Exception:  # the forward itself is broken; the count message is enough
        return ""
    theirs = [(r.kind, r.parameters) for r in trace_layers(reference, input_shape) if r.parameters]
    for i, (a, b) in enumerate(zip(mine, theirs, strict=False), start=1):
        if a != b:
            return (
                f". The first difference is weighted layer {i}: yours is {a[0]} with {a[1]:,} "
                f"parameters, the specification's is {b[0]} with {b[1]:,}"
            )
    if len(mine) != len(theirs):
        return (
            f". Your forward runs {len(mine)} layers with parameters; the specification "
            f"has {len(theirs)}"
        )
    return ""


def check_layer_kinds(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    required: Mapping[LayerKinds, str] | None = None,
    forbidden: Mapping[LayerKinds, str] | None = None,
    what: str = "model",
) -> None:
    """Layers that must (or must not) run in the forward pass, each with the reason a student
    reads when it fails, e.g. ``required={nn.LeakyReLU: "the DCGAN discriminator uses
    LeakyReLU"}``, ``forbidden={(nn.MaxPool2d, nn.AvgPool2d): "downsample with strided
    convolutions, not pooling"}``. Layers defined but never called do not count."""
    try:
        ran = [r.module for r in trace_layers(model, input_shape)]
    except Exception as error:
        raise GradingFailure(f"your {what} could not run a forward pass: {error}") from error
    for kinds, reason in (required or {}).items():
        if not any(isinstance(m, kinds) for m in ran):
            raise GradingFailure(f"no {_names(kinds)} layer runs in your {what}: {reason}")
    for kinds, reason in (forbidden or {}).items():
        found = sorted({type(m).__name__ for m in ran if isinstance(m, kinds)})
        if found:
            raise GradingFailure(f"your {what} uses {', '.join(found)}: {reason}")


def _names(kinds: LayerKinds) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(k.__name__ for k in kinds)


def check_gradients_reach_every_parameter(
    model: nn.Module, input_shape: tuple[int, ...], what: str = "model"
) -> None:
    """One backward pass in training mode must give every trainable parameter a gradient
    (a parameter without one is not used, is detached, or is updated through .data)."""
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise GradingFailure(f"your {what} has no trainable parameters")
    reached: dict[str, bool] = {name: False for name in params}
    was_training = model.training
    model.train()
    try:
        for seed in (0, 1):  # two batches: a ReLU that happens to be off once is not a failure
            model.zero_grad(set_to_none=True)
            out = run(model, probe_inputs(input_shape, n=8, seed=seed), what)
            if not out.requires_grad:
                raise GradingFailure(
                    f"your {what}'s output does not depend on its parameters through autograd: "
                    f"did you compute it under torch.no_grad(), or with .detach() or .data?"
                )
            weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
            (out.float() * weights.to(out.device)).sum().backward()
            for name, p in params.items():
                reached[name] |= p.grad is not None and bool(p.grad.abs().sum() > 0)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    missing = [name for name, ok in reached.items() if not ok]
    if missing:
        raise GradingFailure(
            f"no gradient reaches {len(missing)} parameter(s) of your {what}: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}. Is every layer used "
            f"in forward(), and nothing detached?"
        )


def check_train_eval_behaviour(
    model: nn.Module, input_shape: tuple[int, ...], what: str = "model"
) -> None:
    """model.eval() must switch every layer to evaluation (deterministic dropout, batchnorm on
    its running statistics) and model.train() back; the mode the model was in is restored."""
    was_training = model.training
    try:
        model.eval()
        stuck = [name or "(the model)" for name, m in model.named_modules() if m.training]
        if stuck:
            raise GradingFailure(
                f"after {what}.eval(), these parts are still in training mode: "
                f"{', '.join(stuck[:5])}; keep layers as attributes (or in nn.ModuleList), not "
                f"in plain Python lists"
            )
        inputs = probe_inputs(input_shape, n=8)
        with torch.no_grad():
            a, b = run(model, inputs, what), run(model, inputs, what)
            if not torch.equal(a, b):
                raise GradingFailure(
                    f"your {what} gives different outputs for the same input in eval mode: use "
                    f"nn.Dropout (or F.dropout(..., training=self.training)) so that dropout "
                    f"switches off"
                )
            single = run(model, inputs[:2], what)
            if not torch.allclose(single, a[:2], atol=1e-5, rtol=1e-4):
                raise GradingFailure(
                    f"in eval mode your {what}'s output for one input depends on the rest of the "
                    f"batch: batch normalisation must use its running statistics there "
                    f"(nn.BatchNorm does, when the model is in eval mode)"
                )
        kinds = {type(m) for m in model.modules()}
        if any(issubclass(k, nn.modules.dropout._DropoutNd) for k in kinds):
            model.train()
            torch.manual_seed(0)
            with torch.no_grad():
                a, b = run(model, inputs, what), run(model, inputs, what)
            if torch.equal(a, b):
                raise GradingFailure(
                    f"your {what} has dropout, but in training mode it gives the same output "
                    f"twice: is the dropout layer used in forward()?"
                )
    finally:
        model.train(was_training)
