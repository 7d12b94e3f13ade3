"""The GAN losses, written out as in the slides.

Binary cross-entropy for a label y and a predicted probability p (the slides' form)::

    BCE(y, p) = -y log p - (1 - y) log(1 - p)

With label 1 on real images and 0 on generated ones, the discriminator's BCE is exactly minus
Goodfellow et al.'s (2014) value function V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))], so
minimising it is D's ascent on V. The generator has two choices:

- saturating (the minimax game as written): minimise E_z[log(1 - D(G(z)))]; its gradient vanishes
  when D confidently rejects the fakes, which is exactly early in training;
- non-saturating (what the paper recommends in practice): maximise E_z[log D(G(z))], i.e.
  minimise BCE with label 1 on the fakes.

Every function takes `outputs`, 'probs' (D ends in a Sigmoid) or 'logits' (it does not), and
never guesses: the logit path uses log sigmoid(s) = -softplus(-s), which stays finite where
log(sigmoid(s)) underflows. Like torch's `BCELoss`, the probability path clamps log at -100.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gancourse.checks import check_choice, check_probabilities, check_tensor

OUTPUT_KINDS = ("logits", "probs")
GENERATOR_LOSSES = ("non-saturating", "saturating")

_LOG_FLOOR = -100.0  # torch.nn.BCELoss clamps log(p) and log(1 - p) here


def log_d(out: torch.Tensor, outputs: str) -> torch.Tensor:
    """log D(x), elementwise, from D's output in the form `outputs`."""
    out = _checked(out, outputs, "D's output")
    if outputs == "logits":
        return -F.softplus(-out)
    return _floored_log(out)


def log_one_minus_d(out: torch.Tensor, outputs: str) -> torch.Tensor:
    """log(1 - D(x)), elementwise, from D's output in the form `outputs`."""
    out = _checked(out, outputs, "D's output")
    if outputs == "logits":
        return -F.softplus(out)
    return _floored_log(1 - out)


def _floored_log(p: torch.Tensor) -> torch.Tensor:
    """log(p), clamped at _LOG_FLOOR, with a zero gradient where p is 0.

    `log(p).clamp_min(floor)` has the right values but a NaN gradient at p = 0 (0 * inf): a
    generator that pushes D(G(z)) to exactly 1 under the saturating loss turned G's weights to
    NaN after a few steps (chapter 2's D-then-G run at 50 steps)."""
    positive = p > 0
    safe = torch.where(positive, p, torch.ones_like(p))
    return torch.where(positive, torch.log(safe), torch.full_like(p, _LOG_FLOOR)).clamp_min(
        _LOG_FLOOR
    )


def bce(out: torch.Tensor, y: torch.Tensor | float, outputs: str = "probs") -> torch.Tensor:
    """Mean binary cross-entropy -y log p - (1 - y) log(1 - p) over the batch.

    `out` is D's output (probabilities p, or logits with outputs='logits'); `y` is the label:
    a float for the whole batch, or a tensor of the same shape (noisy or smoothed labels).
    """
    y_t = torch.as_tensor(y, dtype=torch.float32, device=out.device)
    if y_t.dim() and y_t.shape != out.shape:
        raise ValueError(
            f"labels: expected a float or a tensor of shape {tuple(out.shape)} (like D's "
            f"output), received shape {tuple(y_t.shape)}"
        )
    return -(y_t * log_d(out, outputs) + (1 - y_t) * log_one_minus_d(out, outputs)).mean()


def value_function(real_out: torch.Tensor, fake_out: torch.Tensor, outputs: str) -> torch.Tensor:
    """V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))], estimated on one batch of each."""
    return log_d(real_out, outputs).mean() + log_one_minus_d(fake_out, outputs).mean()


def discriminator_loss(
    real_out: torch.Tensor,
    fake_out: torch.Tensor,
    outputs: str,
    real_target: torch.Tensor | float = 1.0,
    fake_target: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """BCE on real images with label 1 plus BCE on fakes with label 0, i.e. -V(D, G).

    The two batch means are added (not averaged), so with the default labels the value is
    exactly -V(D, G); the targets can be replaced by smoothed or noisy labels (gancourse.tricks).
    """
    return bce(real_out, real_target, outputs) + bce(fake_out, fake_target, outputs)


def generator_loss(
    fake_out: torch.Tensor, outputs: str, form: str = "non-saturating"
) -> torch.Tensor:
    """The generator's loss on D's output for its fakes.

    'saturating': E_z[log(1 - D(G(z)))], minimised (the minimax objective as written).
    'non-saturating': -E_z[log D(G(z))] = BCE with label 1 on the fakes.
    """
    check_choice(form, GENERATOR_LOSSES, "generator loss form")
    if form == "saturating":
        return log_one_minus_d(fake_out, outputs).mean()
    return -log_d(fake_out, outputs).mean()


def _checked(out: object, outputs: str, name: str) -> torch.Tensor:
    check_choice(outputs, OUTPUT_KINDS, "outputs")
    out = check_tensor(out, name).float()  # losses in float32 also under mixed precision
    if outputs == "probs":
        check_probabilities(out, name)
    return out
