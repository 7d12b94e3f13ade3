"""Functional equivalence: copy the reference's weights into the student's network and compare.

A correct network written differently (its own class names, attributes instead of
nn.Sequential, F.leaky_relu instead of nn.LeakyReLU) has the same parameter shapes in the same
order of use, so the reference's weights fit it one to one; after that, equal outputs on fixed
inputs mean equal functions. Tensors are matched in the order the layers run (not the order
they were defined), then any parameters outside layers in the order they were registered.

The grader chooses the weights (the reference's, with random batchnorm statistics) and the
inputs; the student's side only loads them and returns outputs. When the outputs differ, the
grader compares them with variants of the reference that make one common mistake each, and
names the mistake that matches.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from gancourse.grading.failures import GradingFailure, ask, output_of, probe_inputs
from gancourse.grading.probe import ModuleProbe, as_probe

Group = tuple[str, list[list]]  # (layer description, its [name, shape] tensors)


def _groups(info: dict) -> list[Group]:
    groups = [
        (f"{layer['kind']} (layer {i})", layer["tensors"])
        for i, layer in enumerate(info["layers"], start=1)
        if layer["tensors"]
    ]
    return groups + [(name, [[name, shape]]) for name, shape in info["extra"]]


def _flat(groups: list[Group]) -> list[tuple]:
    return [tuple(entry[1]) for _, group in groups for entry in group]


def _shapes(group: Group) -> str:
    return ", ".join(f"{entry[0]} {tuple(entry[1])}" for entry in group[1])


def _line_up(theirs: list[Group], mine: list[Group], what: str) -> None:
    if _flat(theirs) == _flat(mine):
        return
    for i, (their_group, my_group) in enumerate(zip(theirs, mine, strict=False), start=1):
        if _flat([their_group]) != _flat([my_group]):
            raise GradingFailure(
                f"the weights of your {what} do not line up with the specification at "
                f"weighted layer {i}: yours is {my_group[0]} with {_shapes(my_group)}; the "
                f"specification's is {their_group[0]} with {_shapes(their_group)}. Check "
                f"the layer sizes, their order and bias=False"
            )
    raise GradingFailure(
        f"your {what} has {len(mine)} layers with weights; the specification has "
        f"{len(theirs)}. Check for missing or extra layers"
    )


def transplant_weights(reference: nn.Module, student, input_shape: tuple[int, ...], what="model"):
    """Copy the reference's parameters and running statistics into `student` (a network or a
    probe), matched by order of use; raise GradingFailure at the first layer whose tensors do
    not line up."""
    probe = as_probe(student)
    theirs = _groups(ModuleProbe(reference).layers(tuple(input_shape)))
    try:
        mine = _groups(probe.layers(tuple(input_shape)))
    except Exception as error:
        message = getattr(error, "evalue", None) or str(error)
        raise GradingFailure(f"your {what} could not run a forward pass: {message}") from None
    _line_up(theirs, mine, what)
    tensors = [t.detach().clone() for t in ModuleProbe(reference).tensors_in_use_order(input_shape)]
    ask(what, probe.load, tuple(input_shape), tensors)


def _randomise_batchnorm(model: nn.Module, seed: int = 0) -> None:
    """Give every batchnorm a non-trivial scale, shift and running statistics. A fresh
    batchnorm is the identity in eval mode, so without this a network with its batchnorms in
    the wrong place (before the activation instead of after) would compute the same function."""
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                if module.affine:
                    module.weight.copy_(0.5 + torch.rand(n, generator=rng))
                    module.bias.copy_(0.3 * torch.randn(n, generator=rng))
                if module.track_running_stats:
                    module.running_mean.copy_(0.3 * torch.randn(n, generator=rng))
                    module.running_var.copy_(0.5 + torch.rand(n, generator=rng))


def _variants(reference: nn.Module):
    """Copies of the reference that each make one common mistake, with its description."""

    def changed(kind, attribute, value):
        model = copy.deepcopy(reference)
        hit = False
        for module in model.modules():
            if isinstance(module, kind) and getattr(module, attribute, value) != value:
                setattr(module, attribute, value)
                hit = True
        return model if hit else None

    yield (
        changed(nn.LeakyReLU, "negative_slope", 0.01),
        "LeakyReLU's slope is 0.01 (the default); use 0.2",
    )
    for mode in ("bilinear", "bicubic"):
        yield changed(nn.Upsample, "mode", mode), f"the Upsample mode is {mode!r}; use 'nearest'"
    for eps in (1e-5, 1e-3, 0.8):
        yield (
            changed(nn.modules.batchnorm._BatchNorm, "eps", eps),
            f"batchnorm eps is {eps:g}: check the eps the specification gives",
        )
    without_final = _without_final_activation(reference)
    if without_final is not None:
        yield without_final


def _without_final_activation(reference: nn.Module):
    """A copy of the reference without its last Tanh or Sigmoid, and the mistake's words."""
    model = copy.deepcopy(reference)
    finals = [m for m in model.modules() if isinstance(m, (nn.Tanh, nn.Sigmoid))]
    if not finals:
        return None
    finals[-1].forward = lambda x: x  # type: ignore[method-assign]
    return model, f"the final {type(finals[-1]).__name__} is missing"


def _only_the_final_activation_is_missing(
    got: torch.Tensor, reference: nn.Module, inputs: torch.Tensor, atol, rtol
) -> bool:
    """Whether `got` is the reference's output without its final Tanh or Sigmoid."""
    found = _without_final_activation(reference)
    if found is None:
        return False
    variant = found[0]
    with torch.no_grad():
        out = variant.eval()(inputs).float()
    return out.shape == got.shape and torch.allclose(got, out, atol=atol, rtol=rtol)


def _diagnose(got: torch.Tensor, reference: nn.Module, inputs: torch.Tensor, atol, rtol) -> str:
    for variant, mistake in _variants(reference):
        if variant is None:
            continue
        with torch.no_grad():
            out = variant.eval()(inputs).float()
        if out.shape == got.shape and torch.allclose(got, out, atol=atol, rtol=rtol):
            return f": it looks like {mistake}"
    return (
        ". The layers have the right sizes, so check what happens between them: the order "
        "of activation and batchnorm, activation slopes (LeakyReLU 0.2), batchnorm eps "
        "and momentum, padding, and the final activation"
    )


def check_equivalent_to_reference(
    student,
    reference: nn.Module,
    input_shape: tuple[int, ...],
    *,
    what: str = "model",
    atol: float = 1e-5,
    rtol: float = 1e-4,
    devices: tuple[str, ...] | None = None,
) -> None:
    """With the reference's weights, the student's network must give the reference's outputs
    (eval mode, fixed inputs) on every device in `devices` (default: the CPU, and CUDA when
    there is a GPU). Works on a copy: the student's own weights are not changed.
    An output of the right size but another shape is compared after reshaping, and an output
    that lacks only the final Tanh or Sigmoid passes (the shape and the output-range checks
    already cost those mistakes their points)."""
    probe = as_probe(student)
    mine = as_probe(ask(what, probe.copy))
    theirs = copy.deepcopy(reference)
    _randomise_batchnorm(theirs)
    transplant_weights(theirs, mine, input_shape, what)
    inputs = probe_inputs(input_shape, n=16, seed=3)
    if devices is None:
        devices = ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)
    theirs.eval()
    for device in devices:
        with torch.no_grad():
            want = theirs.to(device)(inputs.to(device)).float().cpu()
        answer = ask(what, mine.forward, inputs, train=False, device=device, shape=inputs.shape)
        got = output_of(answer, what, inputs.shape)
        if got.numel() != want.numel():
            raise GradingFailure(
                f"with the specification's weights, your {what} returns shape "
                f"{tuple(got.shape)}; the specification returns {tuple(want.shape)}"
            )
        got = got.reshape(want.shape)
        if not torch.allclose(got, want, atol=atol, rtol=rtol):
            if _only_the_final_activation_is_missing(got, theirs.cpu(), inputs, atol, rtol):
                return  # the output-range check judges the final activation: charged once
            worst = (got - want).abs().max().item()
            raise GradingFailure(
                f"with the specification's weights copied in, your {what}'s outputs differ "
                f"from the specification's by up to {worst:.3g} on {device} (tolerance {atol:g})"
                + _diagnose(got, theirs.cpu(), inputs, atol, rtol)
            )
