"""Functional equivalence: copy the reference's weights into the student's network and compare.

A correct network written differently (its own class names, attributes instead of
nn.Sequential, F.leaky_relu instead of nn.LeakyReLU) has the same parameter shapes in the same
order of use, so the reference's weights fit it one to one; after that, equal outputs on fixed
inputs mean equal functions. Tensors are matched in the order the layers run (not the order
they were defined), then any parameters outside layers in the order they were registered.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from gancourse.grading.failures import GradingFailure, probe_inputs, run
from gancourse.models.summary import trace_layers

RUNNING = ("running_mean", "running_var")


Group = tuple[str, list[tuple[str, torch.Tensor]]]  # (layer description, its named tensors)


def _tensors_in_use_order(model: nn.Module, input_shape: tuple[int, ...]) -> list[Group]:
    """Each layer's trainable parameters and batchnorm running statistics, layers in the order
    they run; then parameters used outside layers (e.g. with F.linear), one group each."""
    groups: list[Group] = []
    seen: set[int] = set()
    for i, rec in enumerate(trace_layers(model, input_shape), start=1):
        tensors = [
            (name, t)
            for name, t in [
                *rec.module.named_parameters(recurse=False),
                *((n, b) for n, b in rec.module.named_buffers(recurse=False) if n in RUNNING),
            ]
            if id(t) not in seen
        ]
        seen.update(id(t) for _, t in tensors)
        if tensors:
            groups.append((f"{rec.kind} (layer {i})", tensors))
    for name, p in model.named_parameters():
        if id(p) not in seen:
            seen.add(id(p))
            groups.append((name, [(name, p)]))
    return groups


def _shapes(group: Group) -> str:
    return ", ".join(f"{name} {tuple(t.shape)}" for name, t in group[1])


def transplant_weights(
    reference: nn.Module, student: nn.Module, input_shape: tuple[int, ...], what: str = "model"
) -> None:
    """Copy the reference's parameters and running statistics into `student`, matched by order
    of use; raise GradingFailure at the first layer whose tensors do not line up."""
    theirs = _tensors_in_use_order(reference, input_shape)
    try:
        mine = _tensors_in_use_order(student, input_shape)
    except Exception as error:
        raise GradingFailure(f"your {what} could not run a forward pass: {error}") from error
    flat_theirs = [t for _, group in theirs for _, t in group]
    flat_mine = [t for _, group in mine for _, t in group]
    same_flat = [t.shape for t in flat_theirs] == [t.shape for t in flat_mine]
    if not same_flat:  # point at the first layer that differs, in the student's terms
        for i, (their_group, my_group) in enumerate(zip(theirs, mine, strict=False), start=1):
            if [t.shape for _, t in their_group[1]] != [t.shape for _, t in my_group[1]]:
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
    with torch.no_grad():
        for t, s in zip(flat_theirs, flat_mine, strict=True):
            s.copy_(t.to(s.device, s.dtype))


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


def check_equivalent_to_reference(
    student: nn.Module,
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
    available). Works on copies: the student's own weights are not changed."""
    if devices is None:
        devices = ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)
    try:
        mine = copy.deepcopy(student)
    except Exception as error:
        raise GradingFailure(f"your {what} cannot be copied (copy.deepcopy): {error}") from error
    theirs = copy.deepcopy(reference)
    _randomise_batchnorm(theirs)
    transplant_weights(theirs, mine, input_shape, what)
    inputs = probe_inputs(input_shape, n=16, seed=3)
    for device in devices:
        mine.to(device).eval()
        theirs.to(device).eval()
        with torch.no_grad():
            want = theirs(inputs.to(device)).float()
            got = run(mine, inputs.to(device), what).float()
        if got.shape != want.shape:
            raise GradingFailure(
                f"with the specification's weights, your {what} returns shape "
                f"{tuple(got.shape)}; the specification returns {tuple(want.shape)}"
            )
        if not torch.allclose(got, want, atol=atol, rtol=rtol):
            worst = (got - want).abs().max().item()
            raise GradingFailure(
                f"with the specification's weights copied in, your {what}'s outputs differ from "
                f"the specification's by up to {worst:.3g} on {device} (tolerance {atol:g}). The "
                f"layers have the right sizes, so check what happens between them: the order "
                f"of activation and batchnorm, activation slopes (LeakyReLU 0.2), batchnorm eps "
                f"and momentum, padding, and the final activation"
            )
