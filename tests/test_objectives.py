"""The modern objectives against their formulas, the penalties' gradients, training with them."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gancourse as gc
from gancourse import objectives
from gancourse.objectives import (
    critic_loss,
    generator_objective,
    gradient_penalty,
    r1_penalty,
    spectral_normalise,
)
from gancourse.training import TrainConfig

REAL = torch.tensor([[2.0], [0.5], [-1.0]])
FAKE = torch.tensor([[-2.0], [0.0], [1.5]])


class Linear(gc.models.Discriminator):
    """s(x) = w . x + b: its input gradient is w everywhere, so the penalties are known."""

    def __init__(self, w: list[float]) -> None:
        super().__init__((len(w),), "logits")
        self.lin = nn.Linear(len(w), 1)
        with torch.no_grad():
            self.lin.weight.copy_(torch.tensor([w]))
            self.lin.bias.fill_(0.3)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x)


@pytest.mark.parametrize(
    ("loss", "d_value", "g_value"),
    [
        # 1/2 mean (r - 1)^2 + 1/2 mean f^2 ; 1/2 mean (f - 1)^2
        ("lsgan", 0.5 * (1 + 0.25 + 4) / 3 + 0.5 * (4 + 0 + 2.25) / 3, 0.5 * (9 + 1 + 0.25) / 3),
        # mean relu(1 - r) + mean relu(1 + f) ; -mean f
        ("hinge", (0 + 0.5 + 2) / 3 + (0 + 1 + 2.5) / 3, 0.5 / 3),
        # mean f - mean r ; -mean f
        ("wgan", (-0.5 / 3) - (1.5 / 3), 0.5 / 3),
        ("wgan-gp", (-0.5 / 3) - (1.5 / 3), 0.5 / 3),
    ],
)
def test_losses_follow_their_formulas(loss, d_value, g_value):
    assert critic_loss(loss, REAL, FAKE).item() == pytest.approx(d_value)
    assert generator_objective(loss, FAKE).item() == pytest.approx(g_value)


def test_gan_is_the_slides_bce_and_the_others_refuse_probabilities():
    probs_r, probs_f = torch.sigmoid(REAL), torch.sigmoid(FAKE)
    bce = -(torch.log(probs_r).mean() + torch.log(1 - probs_f).mean())
    assert critic_loss("gan", REAL, FAKE).item() == pytest.approx(bce.item(), rel=1e-6)
    assert critic_loss("gan", probs_r, probs_f, "probs").item() == pytest.approx(bce.item())
    with pytest.raises(ValueError, match="raw scores.*outputs='probs'"):
        critic_loss("hinge", probs_r, probs_f, "probs")
    with pytest.raises(ValueError, match="expected one of"):
        critic_loss("wasserstein", REAL, FAKE)


def test_gradient_penalty_of_a_linear_critic_and_its_gradient():
    """||grad s|| = ||w|| = 5 at every point, so the penalty is (5 - 1)^2 = 16; built with
    create_graph, its gradient reaches w: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||."""
    D = Linear([3.0, 4.0])
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    penalty = gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(0))
    assert penalty.item() == pytest.approx(16.0)
    penalty.backward()
    w = torch.tensor([3.0, 4.0])
    assert torch.allclose(D.lin.weight.grad[0], 2 * (5 - 1) * w / 5)
    assert D.lin.bias.grad is None or D.lin.bias.grad.abs().item() == 0


def test_gradient_penalty_is_evaluated_between_real_and_fake():
    """For s(x) = ||x||^2 / 2 the input gradient is x itself, so the penalty depends on where
    the points x^ lie: all on the real batch when real == fake, i.e. (||x|| - 1)^2."""

    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * (x**2).sum(dim=1, keepdim=True)

    x = torch.tensor([[3.0, 4.0], [0.0, 2.0]])
    assert gradient_penalty(Quadratic(), x, x).item() == pytest.approx((16 + 1) / 2)
    with pytest.raises(ValueError, match="same shape"):
        gradient_penalty(Quadratic(), x, x[:1])


def test_r1_penalty_is_the_squared_gradient_norm_on_real_data():
    D = Linear([3.0, 4.0])
    assert r1_penalty(D, torch.randn(5, 2)).item() == pytest.approx(25.0)


def test_weight_clipping_and_spectral_norm():
    D = gc.models.ToyDiscriminator(data_dim=2, hidden=16)
    with torch.no_grad():
        for p in D.parameters():
            p.mul_(100)
    objectives.clip_weights(D, 0.01)
    assert all(p.abs().max() <= 0.01 for p in D.parameters())

    D = gc.models.ToyDiscriminator(data_dim=2, hidden=16)
    spectral_normalise(D)
    assert objectives.is_spectrally_normalised(D)
    for _ in range(30):  # power iterations run in training mode
        D(torch.randn(4, 2))
    for layer in (m for m in D.modules() if isinstance(m, nn.Linear)):
        assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1, abs=0.02)
    with pytest.raises(ValueError, match="already parametrised"):
        spectral_normalise(D)


def test_wgan_gp_needs_a_critic_without_batch_norm_and_raw_scores(mnist_digits):
    G, D = gc.build_pair("dcgan32")
    assert objectives.has_batch_norm(D)
    images = torch.rand(64, 1, 32, 32) * 2 - 1
    with pytest.raises(ValueError, match="batch norm mixes the samples"):
        gc.train(G, D, images, TrainConfig(loss="wgan-gp", progress=False))
    with pytest.raises(ValueError, match="the R1 penalty"):
        gc.train(G, D, images, TrainConfig(r1_gamma=1.0, progress=False))
    G, D = gc.build_pair("vanilla", outputs="probs")
    with pytest.raises(ValueError, match="outputs='logits'"):
        gc.train(G, D, mnist_digits[:64], TrainConfig(loss="hinge", progress=False))
    with pytest.raises(ValueError, match="exist for loss='gan' only"):
        TrainConfig(loss="wgan", label_smoothing=0.1)


@pytest.mark.parametrize("loss", objectives.LOSSES)
def test_train_runs_every_objective_and_records_the_critic(loss, mnist_digits):
    torch.manual_seed(0)
    G, D = gc.build_pair("vanilla")
    config = TrainConfig(
        num_epochs=1, batch_size=32, k=2, loss=loss, spectral_norm=loss == "hinge", progress=False
    )
    result = gc.train(G, D, mnist_digits[:256], config)
    h = result.history
    assert len(h) == 256 // 64 and all(map(math.isfinite, h.critic_gap))
    if loss == "wgan-gp":
        assert all(p > 0 for p in h.penalty)
    else:
        assert all(p == 0 for p in h.penalty)
    if loss == "wgan":
        assert all(p.abs().max() <= config.clip_value for p in D.parameters())
    if loss == "hinge":
        assert objectives.is_spectrally_normalised(D)


def test_r1_and_the_toy_loop():
    from gancourse.book.toy_training import train_toy
    from gancourse.distributions import ring

    G = gc.models.ToyGenerator(data_dim=2, latent_dim=2)
    D = gc.models.ToyDiscriminator(data_dim=2)
    run = train_toy(G, D, ring(), steps=20, loss="wgan-gp", k=2, r1_gamma=1.0, progress=False)
    assert len(run.history) == 20 and min(run.history.penalty) > 0


def _toy_run(loss, seed=3, **overrides):
    from gancourse.book.toy_training import train_toy
    from gancourse.distributions import ring

    torch.manual_seed(seed)
    G = gc.models.ToyGenerator(data_dim=2, latent_dim=2)
    D = gc.models.ToyDiscriminator(data_dim=2)
    k = 2 if objectives.loss_name(loss) == "wgan-gp" else 1
    return train_toy(G, D, ring(), steps=15, loss=loss, k=k, seed=seed, progress=False, **overrides)


def own_gradient_penalty(D, real, fake):
    e = torch.rand(real.shape[0], 1)
    x = (e * real + (1 - e) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return ((g.norm(dim=1) - 1) ** 2).mean()


def _same_runs(a, b):
    for name in ("loss_d", "loss_g", "critic_gap", "penalty"):
        assert getattr(a.history, name) == pytest.approx(getattr(b.history, name), rel=1e-4)
    assert torch.allclose(a.snapshots[-1].fake, b.snapshots[-1].fake, atol=1e-5)


@pytest.mark.parametrize("like", ["hinge", "wgan-gp"])
def test_your_own_losses_train_exactly_like_the_objective_they_follow(like):
    own = objectives.CustomObjective(
        like,
        critic=lambda real, fake: critic_loss(like, real, fake),
        generator=lambda fake: generator_objective(like, fake),
    )
    _same_runs(_toy_run(own), _toy_run(like))


def test_your_own_penalty_replaces_the_gradient_penalty():
    seen = []

    def penalty(D, real, fake):
        value = own_gradient_penalty(D, real, fake)
        seen.append(float(value.detach()))
        return value

    own = objectives.CustomObjective(
        "wgan-gp",
        critic=lambda real, fake: fake.mean() - real.mean(),
        generator=lambda fake: -fake.mean(),
        penalty=penalty,
    )
    run = _toy_run(own)
    assert len(seen) == 2 * 15  # k = 2 critic steps per generator step
    # the history keeps the last critic step's penalty, weighted by lambda = 10
    assert run.history.penalty == pytest.approx([10 * v for v in seen[1::2]], rel=1e-5)


def test_your_own_losses_must_be_trainable_numbers():
    detached = objectives.CustomObjective(
        "hinge", critic=lambda r, f: (f - r).mean().item(), generator=lambda f: -f.mean()
    )
    with pytest.raises(ValueError, match="your critic loss: expected one number"):
        _toy_run(detached)
    no_graph = objectives.CustomObjective(
        "wgan-gp",
        critic=lambda r, f: f.mean() - r.mean(),
        generator=lambda f: -f.mean(),
        penalty=lambda D, real, fake: own_gradient_penalty(D, real, fake).detach(),
    )
    with pytest.raises(ValueError, match="your gradient penalty.*cannot differentiate"):
        _toy_run(no_graph)
    with pytest.raises(ValueError, match="needs like='wgan-gp'"):
        objectives.CustomObjective("hinge", min, min, penalty=min)


def test_an_old_history_loads_with_nan_for_new_statistics():
    old = {"step": [1, 2], "epoch": [0, 0], "loss_d": [1.0, 0.9], "loss_g": [0.7, 0.8]}
    h = gc.History.from_dict(old)
    assert len(h.critic_gap) == 2 and all(math.isnan(v) for v in h.critic_gap)


def test_resume_refuses_another_loss(tmp_path, mnist_digits):
    G, D = gc.build_pair("vanilla")
    config = TrainConfig(num_epochs=1, batch_size=32, progress=False, out_dir=str(tmp_path))
    gc.train(G, D, mnist_digits[:128], config)
    with pytest.raises(ValueError, match="loss='gan'.*'hinge'|loss=.*gan.*hinge"):
        gc.train(G, D, mnist_digits[:128], config, loss="hinge", num_epochs=2, resume=True)


def test_minibatch_std_sees_the_spread_and_refuses_per_sample_penalties():
    from gancourse.book.toy_training import train_toy
    from gancourse.distributions import ring
    from gancourse.models.layers import MinibatchStd

    same = MinibatchStd()(torch.ones(5, 3))
    assert same.shape == (5, 4) and torch.all(same[:, -1] == 0)  # a collapsed batch: no spread
    x = torch.randn(64, 3)
    varied = MinibatchStd()(x)
    assert torch.all(varied[:, -1] > 0.5) and torch.equal(varied[:, :3], x)  # x kept as it is
    with pytest.raises(ValueError, match="at least 2"):
        MinibatchStd()(torch.ones(1, 3))
    G = gc.models.ToyGenerator(data_dim=2, latent_dim=2)
    D = gc.models.ToyDiscriminator(data_dim=2, minibatch_std=True)
    with pytest.raises(ValueError, match="minibatch standard deviation mixes the samples"):
        train_toy(G, D, ring(), steps=5, loss="wgan-gp", progress=False)
