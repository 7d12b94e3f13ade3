"""What a student's network returns, what it is made of, and how it behaves while training.

Every check asks its questions through a probe (`probe.as_probe`) and decides from the answers,
so the same check grades a network in the student's notebook and one inside the sandbox."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from gancourse.checks import describe
from gancourse.grading.failures import GradingFailure, ask, output_of, probe_inputs
from gancourse.grading.probe import as_probe, is_remote

LayerKinds = type | tuple[type, ...]
RANGES = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "probs": (0.0, 1.0)}
_TOLERANCE = 1e-6  # float32 rounding at the ends of Tanh/Sigmoid


def check_is_module(obj: object, what: str = "model"):
    """The object must be an instance of a torch.nn.Module subclass (not the class itself)."""
    if is_remote(obj):
        if getattr(obj, "is_module", False):
            return obj
        kind = getattr(obj, "type_name", "object")
        if kind == "type":
            raise GradingFailure(f"your {what} is a class, not a network: create one, e.g. Cls()")
        raise GradingFailure(
            f"your {what} must be a torch.nn.Module (a class that subclasses nn.Module and "
            f"calls super().__init__()); received a {kind}"
        )
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


def _output(model, inputs: torch.Tensor, what: str, **options) -> torch.Tensor:
    answer = ask(what, as_probe(model).forward, inputs, shape=inputs.shape, **options)
    return output_of(answer, what, inputs.shape)


def check_output_shape(
    model, input_shape: tuple[int, ...], expected: tuple[int, ...], what: str = "model"
) -> None:
    """A batch of inputs (N, *input_shape) must give outputs (N, *expected), for N = 4 in eval
    mode and for an odd N = 7 in training mode (a batch size written into a reshape shows)."""
    for n, train in ((4, False), (7, True)):
        inputs = probe_inputs(input_shape, n=n, seed=n)
        out = _output(model, inputs, what, train=train)
        want = (n, *expected)
        if tuple(out.shape) != want:
            hint = ""
            if out.numel() == n * math.prod(expected):
                sizes = ", ".join(map(str, expected))
                hint = f": the numbers are all there, reshape them with .view(-1, {sizes})"
            elif len(expected) == 3 and out.dim() == 4 and tuple(out.shape[2:]) != expected[1:]:
                hint = (
                    f": the images are {out.shape[2]}x{out.shape[3]} instead of "
                    f"{expected[1]}x{expected[2]}; check each convolution's padding (padding=1 "
                    f"keeps a 3x3 convolution from shrinking the image), stride and upsampling"
                )
            elif out.dim() >= 1 and out.shape[0] != n:
                hint = (
                    ": the first dimension must stay the batch size (do not write it as a number)"
                )
            raise GradingFailure(
                f"your {what} maps inputs of shape {tuple(inputs.shape)} to shape "
                f"{tuple(out.shape)}; expected {want}{hint}"
            )


def check_output_range(model, input_shape: tuple[int, ...], kind: str, what: str = "model") -> None:
    """Outputs must lie in the range of the final activation the specification asks for:
    'tanh' (-1, 1), 'sigmoid' (0, 1) for images, 'probs' (0, 1) for a discriminator."""
    if kind not in RANGES:
        raise ValueError(f"kind: expected one of {list(RANGES)}, received {kind!r}")
    lo, hi = RANGES[kind]
    # large inputs too: an untrained network's outputs are small, so only large ones show
    # whether a final Tanh or Sigmoid bounds them (in eval mode the layers before are linear
    # or piecewise linear, so the output grows with the input unless the last layer bounds it)
    inputs = torch.cat(
        [
            probe_inputs(input_shape, n=32),
            probe_inputs(input_shape, 32, 1) * 4,
            probe_inputs(input_shape, 32, 2) * 1000,
        ]
    )
    out = _output(model, inputs, what, train=False)
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
    model,
    expected: int,
    what: str = "model",
    reference: nn.Module | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> None:
    """The number of trainable parameters must be `expected`. With a `reference` (and the
    input shape), the message points at the first layer whose size differs."""
    params = ask(what, as_probe(model).parameter_list)
    found = sum(p["value"].numel() for p in params if p["requires_grad"])
    if found == expected:
        return
    message = f"your {what} has {found:,} trainable parameters; the specification has {expected:,}"
    if reference is not None and input_shape is not None:
        message += _first_layer_difference(model, reference, input_shape)
    raise GradingFailure(message)


def _weighted(model, input_shape) -> list[tuple[str, int]]:
    layers = as_probe(model).layers(tuple(input_shape))["layers"]
    return [(layer["kind"], layer["parameters"]) for layer in layers if layer["parameters"]]


def _first_layer_difference(model, reference: nn.Module, input_shape: tuple[int, ...]) -> str:
    try:
        mine = _weighted(model, input_shape)
    except Exception:  # the forward itself is broken; the count message is enough
        return ""
    theirs = _weighted(reference, input_shape)
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


def _ran(model, input_shape, what: str) -> list[dict]:
    try:
        return as_probe(model).layers(tuple(input_shape))["layers"]
    except Exception as error:
        message = getattr(error, "evalue", None) or str(error)
        raise GradingFailure(f"your {what} could not run a forward pass: {message}") from None


def _matches(layer: dict, kinds: LayerKinds) -> bool:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    for kind in kinds:
        if layer["class"] == f"{kind.__module__}.{kind.__qualname__}":
            return True
        # torch layers are often used through their public alias (torch.nn.Linear)
        if layer["kind"] == kind.__name__ and layer["class"].startswith("torch.nn."):
            return True
    return False


def check_layer_kinds(
    model,
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
    ran = _ran(model, input_shape, what)
    for kinds, reason in (required or {}).items():
        if not any(_matches(layer, kinds) for layer in ran):
            raise GradingFailure(f"no {_names(kinds)} layer runs in your {what}: {reason}")
    for kinds, reason in (forbidden or {}).items():
        found = sorted({layer["kind"] for layer in ran if _matches(layer, kinds)})
        if found:
            raise GradingFailure(f"your {what} uses {', '.join(found)}: {reason}")


def _names(kinds: LayerKinds) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(k.__name__ for k in kinds)


def check_gradients_reach_every_parameter(
    model, input_shape: tuple[int, ...], what: str = "model"
) -> None:
    """One backward pass in training mode must give every trainable parameter a gradient
    (a parameter without one is not used, is detached, or is updated through .data)."""
    probe = as_probe(model)
    params = [p["name"] for p in ask(what, probe.parameter_list) if p["requires_grad"]]
    if not params:
        raise GradingFailure(f"your {what} has no trainable parameters")
    reached = dict.fromkeys(params, False)
    for seed in (0, 1):  # two batches: a ReLU that happens to be off once is not a failure
        inputs = probe_inputs(input_shape, n=8, seed=seed)
        answer = ask(what, probe.gradients, inputs, seed=seed, shape=inputs.shape)
        if answer["returned"] != "Tensor":
            raise GradingFailure(f"your {what} returned {answer['returned']}; expected a tensor")
        if not answer["carries_grad"]:
            raise GradingFailure(
                f"your {what}'s output does not depend on its parameters through autograd: "
                f"did you compute it under torch.no_grad(), or with .detach() or .data?"
            )
        for name, grad in answer["grads"].items():
            if name in reached and grad is not None and bool(grad.abs().sum() > 0):
                reached[name] = True
    missing = [name for name, ok in reached.items() if not ok]
    if missing:
        raise GradingFailure(
            f"no gradient reaches {len(missing)} parameter(s) of your {what}: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}. Is every layer used "
            f"in forward(), and nothing detached?"
        )


def check_train_eval_behaviour(
    model, input_shape: tuple[int, ...], what: str = "model", reference: nn.Module | None = None
) -> None:
    """model.eval() must switch every layer to evaluation (deterministic dropout, batchnorm on
    its running statistics) and model.train() back. With a `reference`, the training-mode
    settings must match it too: each dropout rate and batchnorm momentum, in the order the
    layers run. Only these: they change nothing in eval mode, so no other check sees them
    (batchnorm eps does change eval outputs, and the equivalence check judges it), and only
    for a kind of layer the student runs as often as the reference (a missing or an extra
    layer is the layer check's to judge), so one mistake costs one check."""
    probe = as_probe(model)
    stuck = ask(what, probe.set_mode, False)["stuck"]
    if stuck:
        raise GradingFailure(
            f"after {what}.eval(), these parts are still in training mode: "
            f"{', '.join(stuck[:5])}; keep layers as attributes (or in nn.ModuleList), not "
            f"in plain Python lists"
        )
    try:
        inputs = probe_inputs(input_shape, n=8)
        a = _output(model, inputs, what, train=False, seed=1)
        b = _output(model, inputs, what, train=False, seed=2)
        if not torch.equal(a, b):
            raise GradingFailure(
                f"your {what} gives different outputs for the same input in eval mode: use "
                f"nn.Dropout (or F.dropout(..., training=self.training)) so that dropout "
                f"switches off"
            )
        single = _output(model, inputs[:2], what, train=False)
        if single.shape == a[:2].shape and not torch.allclose(single, a[:2], atol=1e-5, rtol=1e-4):
            raise GradingFailure(
                f"in eval mode your {what}'s output for one input depends on the rest of the "
                f"batch: batch normalisation must use its running statistics there "
                f"(nn.BatchNorm does, when the model is in eval mode)"
            )
        layers = _ran(model, input_shape, what)
        has_dropout = any("Dropout" in layer["kind"] for layer in layers)
        if has_dropout:
            a = _output(model, inputs, what, train=True, seed=0)
            b = _output(model, inputs, what, train=True, seed=1)
            if torch.equal(a, b):
                raise GradingFailure(
                    f"your {what} has dropout, but in training mode it gives the same output "
                    f"twice: is the dropout layer used in forward()?"
                )
        if reference is not None:
            _check_training_settings(layers, as_probe(reference).layers(tuple(input_shape)), what)
    finally:
        ask(what, probe.set_mode, True)


_SETTINGS = (  # what only training mode shows
    ("Dropout", "p", "dropout rate"),
    ("BatchNorm", "momentum", "batchnorm momentum"),
)


def _check_training_settings(mine: list[dict], theirs: dict, what: str) -> None:
    for family, attribute, described in _SETTINGS:
        ours = [lay["attributes"].get(attribute) for lay in mine if family in lay["kind"]]
        spec = [
            lay["attributes"].get(attribute) for lay in theirs["layers"] if family in lay["kind"]
        ]
        if len(ours) != len(spec):
            continue  # a missing or extra layer: the layer check's failure, not this one's
        for i, (a, b) in enumerate(zip(ours, spec, strict=True), start=1):
            if a is None or b is None or not math.isclose(float(a), float(b), rel_tol=1e-6):
                raise GradingFailure(
                    f"{family} layer {i} of your {what} has {described} {a}; the specification "
                    f"uses {b} (it matters in training mode only)"
                )
