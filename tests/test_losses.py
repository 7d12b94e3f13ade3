"""The loss maths: BCE as on the slides, V(D, G), the two generator losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import gancourse as gc

LOGITS = torch.tensor([[-30.0], [-2.0], [-0.3], [0.0], [0.7], [3.0], [30.0]])
PROBS = torch.sigmoid(LOGITS.double()).float()


@pytest.mark.parametrize("y", [0.0, 1.0, 0.9, 0.25])
def test_bce_matches_torch_on_probabilities(y):
    p = torch.tensor([[0.01], [0.3], [0.5], [0.99]])
    expected = F.binary_cross_entropy(p, torch.full_like(p, y))
    torch.testing.assert_close(gc.bce(p, y, "probs"), expected)


def test_bce_written_out_term_by_term():
    p, y = torch.tensor([[0.8]]), 1.0
    assert gc.bce(p, y).item() == pytest.approx(-torch.log(torch.tensor(0.8)).item())
    assert gc.bce(p, 0.0).item() == pytest.approx(-torch.log(torch.tensor(0.2)).item())


def test_bce_matches_torch_on_logits_and_stays_finite():
    y = torch.rand_like(LOGITS)
    torch.testing.assert_close(
        gc.bce(LOGITS, y, "logits"), F.binary_cross_entropy_with_logits(LOGITS, y)
    )
    assert torch.isfinite(gc.bce(torch.tensor([[200.0]]), 0.0, "logits"))
    assert gc.bce(torch.tensor([[200.0]]), 0.0, "logits").item() == pytest.approx(200.0)


def test_bce_clamps_log_like_torch():
    p = torch.tensor([[0.0], [1.0]])
    torch.testing.assert_close(gc.bce(p, 1.0), F.binary_cross_entropy(p, torch.ones_like(p)))
    assert gc.bce(p, 1.0).item() == pytest.approx(50.0)  # (100 + 0) / 2


def test_logit_and_probability_paths_agree():
    real, fake = LOGITS[2:5], LOGITS[1:4]
    for fn in (gc.log_d, gc.log_one_minus_d):
        torch.testing.assert_close(fn(real, "logits"), fn(torch.sigmoid(real), "probs"))
    torch.testing.assert_close(
        gc.discriminator_loss(real, fake, "logits"),
        gc.discriminator_loss(torch.sigmoid(real), torch.sigmoid(fake), "probs"),
    )


def test_discriminator_loss_is_minus_the_value_function():
    real, fake = torch.rand(16, 1) * 0.98 + 0.01, torch.rand(16, 1) * 0.98 + 0.01
    V = torch.log(real).mean() + torch.log(1 - fake).mean()
    torch.testing.assert_close(gc.value_function(real, fake, "probs"), V)
    torch.testing.assert_close(gc.discriminator_loss(real, fake, "probs"), -V)


def test_value_function_at_the_equilibrium_is_minus_log_4():
    half = torch.full((10, 1), 0.5)
    assert gc.value_function(half, half, "probs").item() == pytest.approx(
        -torch.log(torch.tensor(4.0)).item()
    )


def test_generator_loss_forms():
    fake = torch.tensor([[0.1], [0.4]])
    sat = gc.generator_loss(fake, "probs", "saturating")
    non = gc.generator_loss(fake, "probs", "non-saturating")
    assert sat.item() == pytest.approx(torch.log(1 - fake).mean().item())
    assert non.item() == pytest.approx(-torch.log(fake).mean().item())
    torch.testing.assert_close(non, F.binary_cross_entropy(fake, torch.ones_like(fake)))


def test_saturating_gradient_vanishes_where_d_rejects_the_fakes():
    # d/ds of each loss with respect to D's logit s, at D(G(z)) = sigmoid(s) ~ 0.0025.
    s = torch.tensor([[-6.0]], requires_grad=True)
    (g_sat,) = torch.autograd.grad(gc.generator_loss(s, "logits", "saturating"), s)
    (g_non,) = torch.autograd.grad(gc.generator_loss(s, "logits", "non-saturating"), s)
    assert abs(g_sat.item()) < 0.003  # -sigmoid(s): almost no signal
    assert abs(g_non.item()) > 0.99  # -(1 - sigmoid(s)): full signal


def test_explicit_output_form_is_checked():
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\].*outputs='logits'"):
        gc.bce(torch.tensor([[2.5]]), 1.0, "probs")
    with pytest.raises(ValueError, match="outputs.*'sigmoid'"):
        gc.bce(torch.tensor([[0.5]]), 1.0, "sigmoid")
    with pytest.raises(ValueError, match="generator loss form"):
        gc.generator_loss(torch.tensor([[0.5]]), "probs", "wasserstein")


def test_label_shape_must_match():
    with pytest.raises(ValueError, match=r"shape \(4, 1\).*received shape \(4,\)"):
        gc.bce(torch.rand(4, 1), torch.ones(4), "probs")


def test_integer_outputs_are_rejected():
    with pytest.raises(TypeError, match="floating point"):
        gc.bce(torch.ones(3, 1, dtype=torch.long), 1.0, "probs")


@pytest.mark.parametrize("form", ["saturating", "non-saturating"])
def test_probabilities_of_exactly_0_or_1_give_floored_losses_and_finite_gradients(form):
    # A generator under the saturating loss pushes D(G(z)) to exactly 1.0; log(1 - 1) must
    # not turn G's weights into NaN (it did, through clamp's 0 * inf gradient).
    p = torch.tensor([[0.0], [0.5], [1.0]], requires_grad=True)
    loss = gc.generator_loss(p, "probs", form)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(p.grad).all()
    bce_loss = gc.bce(p, 1.0) + gc.bce(p, 0.0)
    assert torch.isfinite(bce_loss)
    expected = F.binary_cross_entropy(p.detach(), torch.ones(3, 1))
    assert torch.allclose(gc.bce(p.detach(), 1.0), expected)
