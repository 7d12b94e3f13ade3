"""The two updates of Algorithm 1 (Goodfellow et al. 2014): one step of D, one step of G.

`gancourse.training.train` runs them in its loop, `gancourse.precision` times them to choose a
number format, and the chapters call them directly to show one update at a time; keeping them
here, below both, lets each import them without importing the other.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from gancourse.objectives import (
    CustomObjective,
    clip_weights,
    critic_gap,
    critic_loss,
    generator_objective,
    gradient_penalty,
    r1_penalty,
)
from gancourse.tricks import add_instance_noise


def discriminator_step(
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    X: torch.Tensor,
    fake: torch.Tensor,
    *,
    real_target: torch.Tensor | float = 1.0,
    fake_target: torch.Tensor | float = 0.0,
    noise_std: float = 0.0,
    generator: torch.Generator | None = None,
    amp_dtype: torch.dtype | None = None,
    labels: torch.Tensor | None = None,
    loss: str | CustomObjective = "gan",
    gp_weight: float = 0.0,
    r1_gamma: float = 0.0,
    clip_value: float | None = None,
) -> dict[str, torch.Tensor]:
    """One update of D: ascend log D(x) + log(1 - D(G(z))), i.e. descend its BCE, or descend
    another critic loss (`loss`, see `gancourse.objectives`).

    `fake` is detached, so no gradient reaches G. `noise_std` adds instance noise to both
    batches. `labels` (conditional GANs only) are the class labels of both X and fake, passed
    to D as D(X, labels). `gp_weight` adds WGAN-GP's gradient penalty, `r1_gamma` the R1
    penalty; `clip_value` clips D's weights after the update (WGAN). Returns 0-dim tensors (no
    device sync): loss_d (with its penalties), d_real, d_fake, grad_norm_d, critic_gap and
    penalty.
    """
    fake = fake.detach()
    X = add_instance_noise(X, noise_std, generator)
    fake = add_instance_noise(fake, noise_std, generator)
    with autocast(X.device, amp_dtype):
        real_out, fake_out = judge(D, X, labels), judge(D, fake, labels)
    value = critic_loss(loss, real_out, fake_out, D.outputs, real_target, fake_target)
    penalty = torch.zeros((), device=X.device)
    if gp_weight:
        if isinstance(loss, CustomObjective) and loss.penalty is not None:
            gp = loss.gradient_penalty(D, X, fake)
        else:
            gp = gradient_penalty(D, X, fake, labels, generator)
        penalty = penalty + gp_weight * gp
    if r1_gamma:
        penalty = penalty + r1_gamma / 2 * r1_penalty(D, X, labels)
    total = value + penalty
    opt_d.zero_grad(set_to_none=True)
    total.backward()
    grad_norm = _grad_norm(opt_d)
    opt_d.step()
    if clip_value is not None:
        clip_weights(D, clip_value)
    return {
        "loss_d": total.detach(),
        "d_real": _probability(real_out, D.outputs).mean(),
        "d_fake": _probability(fake_out, D.outputs).mean(),
        "grad_norm_d": grad_norm,
        "critic_gap": critic_gap(real_out, fake_out),
        "penalty": penalty.detach(),
    }


def generator_step(
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    fake: torch.Tensor,
    *,
    form: str = "non-saturating",
    noise_std: float = 0.0,
    generator: torch.Generator | None = None,
    amp_dtype: torch.dtype | None = None,
    labels: torch.Tensor | None = None,
    loss: str | CustomObjective = "gan",
) -> dict[str, torch.Tensor]:
    """One update of G through a frozen D: descend its loss on D(G(z)) (`loss`: see
    `gancourse.objectives`; `form` applies to 'gan').

    `fake` = G(Z) must still carry G's graph (for a conditional GAN, G(Z, labels), and the same
    `labels` go to D). D's parameters are frozen for the step (as the slides'
    `discriminator.trainable = False`): the gradient flows through D to G, but D's own weights
    get no gradient and are not changed. Returns loss_g and grad_norm_g.
    """
    if not fake.requires_grad:
        raise ValueError(
            "generator_step: expected fake = G(Z) computed with gradients "
            "(not under torch.no_grad() and not detached)"
        )
    frozen = [p for p in D.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        with autocast(fake.device, amp_dtype):
            fake_out = judge(D, add_instance_noise(fake, noise_std, generator), labels)
        value = generator_objective(loss, fake_out, D.outputs, form)
        opt_g.zero_grad(set_to_none=True)
        value.backward()
    finally:
        for p in frozen:
            p.requires_grad_(True)
    grad_norm = _grad_norm(opt_g)
    opt_g.step()
    return {"loss_g": value.detach(), "grad_norm_g": grad_norm}


def judge(D: nn.Module, X: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """D(X), or D(X, labels) for a conditional discriminator."""
    return D(X) if labels is None else D(X, labels)


def _probability(out: torch.Tensor, outputs: str) -> torch.Tensor:
    out = out.detach().float()
    return torch.sigmoid(out) if outputs == "logits" else out


def _grad_norm(opt: torch.optim.Optimizer) -> torch.Tensor:
    grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
    if not grads:
        return torch.zeros(())
    total_norm = getattr(torch.nn.utils, "get_total_norm", None)  # fused, torch >= 2.6
    if total_norm is not None:
        return total_norm(grads)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
