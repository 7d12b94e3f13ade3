"""The objectives of modern GANs beside the 2014 one: what the critic D and the generator G
minimise, and the regularisers that keep D well-behaved.

With D's raw score s(x) (no Sigmoid; `outputs='logits'`) and fakes x~ = G(z):

==========  =============================================  ==============================
loss        D (the critic) minimises                       G minimises
==========  =============================================  ==============================
gan         BCE: -E log sigma(s(x)) - E log(1 - sigma(s(x~)))   -E log sigma(s(x~)) (or the
            (Goodfellow et al. 2014; `gancourse.losses`)     saturating E log(1 - ...))
lsgan       1/2 E (s(x) - 1)^2 + 1/2 E s(x~)^2 (Mao et al.   1/2 E (s(x~) - 1)^2
            2017)
hinge       E max(0, 1 - s(x)) + E max(0, 1 + s(x~))        -E s(x~)
            (Lim & Ye 2017; Miyato et al. 2018)
wgan        E s(x~) - E s(x), weights clipped to [-c, c]    -E s(x~)
            after every step (Arjovsky et al. 2017)
wgan-gp     the wgan loss + lambda E (||grad s(x^)|| - 1)^2  -E s(x~)
            at x^ = e x + (1 - e) x~, e ~ U(0, 1) per sample
            (Gulrajani et al. 2017)
==========  =============================================  ==============================

Regularisers that combine with any of them: the R1 penalty gamma/2 E ||grad s(x)||^2 on real data
(Mescheder et al. 2018) and spectral normalisation of D's layers (Miyato et al. 2018, torch's
own `spectral_norm` parametrisation). For the Wasserstein losses, -(D's loss without its
penalty) = E s(x) - E s(x~) is the critic's estimate of the Wasserstein-1 distance (up to the
Lipschitz constant); `train` records it as `critic_gap` for every loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gancourse.checks import check_choice, check_tensor, describe
from gancourse.losses import discriminator_loss, generator_loss


@dataclass(frozen=True)
class Objective:
    """A loss, where it comes from, and the settings its paper trains with."""

    name: str
    source: str
    optimizer: str = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    k: int = 1  # critic steps per generator step

    def settings(self) -> dict:
        """`TrainConfig` overrides that train with this loss as its paper did."""
        return {
            "loss": self.name,
            "optimizer": self.optimizer,
            "lr_g": self.lr,
            "lr_d": self.lr,
            "betas": self.betas,
            "k": self.k,
        }


OBJECTIVES = {
    # Goodfellow et al. trained with SGD and momentum and the decks fix no optimiser; the
    # course's Adam 2e-4 (0.5, 0.999) is Radford et al.'s DCGAN setting.
    "gan": Objective("gan", "Goodfellow et al. 2014; Adam as in Radford et al. 2015"),
    "lsgan": Objective("lsgan", "Mao et al. 2017, least squares GAN"),
    "hinge": Objective("hinge", "Lim & Ye 2017; Miyato et al. 2018 (with spectral norm)"),
    "wgan": Objective(
        "wgan", "Arjovsky et al. 2017, Wasserstein GAN", optimizer="rmsprop", lr=5e-5, k=5
    ),
    "wgan-gp": Objective(
        "wgan-gp",
        "Gulrajani et al. 2017, Wasserstein GAN with gradient penalty",
        lr=1e-4,
        betas=(0.0, 0.9),
        k=5,
    ),
}
LOSSES = tuple(OBJECTIVES)


def objectives_table() -> str:
    """The objectives and their papers' settings, one line each (for the CLI and chapter 10)."""
    lines = [f"{'loss':8} {'optimizer':9} {'lr':>7} {'betas':>11} {'k':>2}  source"]
    for name, o in OBJECTIVES.items():
        betas = f"{o.betas[0]:g}, {o.betas[1]:g}" if o.optimizer == "adam" else "-"
        lines.append(f"{name:8} {o.optimizer:9} {o.lr:7g} {betas:>11} {o.k:2d}  {o.source}")
    return "\n".join(lines)


@dataclass(frozen=True)
class CustomObjective:
    """Loss functions of your own in place of a built-in objective's, for `train_toy` (an
    assignment or an exercise trains the ring with the losses a student wrote).

    `critic(real_scores, fake_scores)` and `generator(fake_scores)` take D's raw scores; the
    optional `penalty(D, real, fake)` replaces WGAN-GP's gradient penalty (weighted by
    `gp_weight`). `like` names the built-in objective whose rules (raw scores, penalty, clipping)
    the run follows.
    """

    like: str
    critic: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]
    penalty: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def __post_init__(self) -> None:
        check_choice(self.like, LOSSES, "CustomObjective.like")
        if self.penalty is not None and self.like != "wgan-gp":
            raise ValueError(
                f"CustomObjective: a penalty replaces WGAN-GP's gradient penalty, so it needs "
                f"like='wgan-gp'; received like={self.like!r}"
            )

    def gradient_penalty(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor):
        """Your penalty of D between real and fake samples, checked to be trainable."""
        assert self.penalty is not None
        return _one_number(self.penalty(D, real, fake), "your gradient penalty")


def loss_name(loss: str | CustomObjective) -> str:
    """The built-in objective a loss is, or follows."""
    return loss.like if isinstance(loss, CustomObjective) else loss


CLIP_VALUE = 0.01  # WGAN's weight clipping range [-c, c] (Arjovsky et al.)
GP_WEIGHT = 10.0  # WGAN-GP's lambda (Gulrajani et al.)


def critic_loss(
    loss: str | CustomObjective,
    real_out: torch.Tensor,
    fake_out: torch.Tensor,
    outputs: str = "logits",
    real_target: torch.Tensor | float = 1.0,
    fake_target: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """D's loss under `loss` (see the module's table), without any penalty. The targets are
    the label tricks of `gancourse.tricks` and exist for 'gan' only."""
    if isinstance(loss, CustomObjective):
        name = f"your critic loss (like {loss.like!r})"
        return _one_number(
            loss.critic(_scores(real_out, outputs, name), _scores(fake_out, outputs, name)),
            "your critic loss",
        )
    check_choice(loss, LOSSES, "loss")
    if loss == "gan":
        return discriminator_loss(real_out, fake_out, outputs, real_target, fake_target)
    real, fake = _scores(real_out, outputs, loss), _scores(fake_out, outputs, loss)
    if loss == "lsgan":
        return 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean()
    if loss == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return fake.mean() - real.mean()  # wgan, wgan-gp


def generator_objective(
    loss: str | CustomObjective,
    fake_out: torch.Tensor,
    outputs: str = "logits",
    form: str = "non-saturating",
) -> torch.Tensor:
    """G's loss under `loss`; `form` (saturating or not) applies to 'gan' only."""
    if isinstance(loss, CustomObjective):
        name = f"your generator loss (like {loss.like!r})"
        return _one_number(loss.generator(_scores(fake_out, outputs, name)), name)
    check_choice(loss, LOSSES, "loss")
    if loss == "gan":
        return generator_loss(fake_out, outputs, form)
    fake = _scores(fake_out, outputs, loss)
    if loss == "lsgan":
        return 0.5 * ((fake - 1) ** 2).mean()
    return -fake.mean()  # hinge, wgan, wgan-gp


def critic_gap(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """E s(x) - E s(x~): for a 1-Lipschitz critic, its estimate of the Wasserstein-1 distance."""
    return real_out.detach().float().mean() - fake_out.detach().float().mean()


def gradient_penalty(
    D: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP's E (||grad_x s(x^)||_2 - 1)^2 at random points x^ between real and fake
    samples (one uniform e per sample). Built with create_graph=True, so that the penalty's own
    gradient reaches D's weights. Needs a D without batch norm (the penalty is per sample)."""
    real, fake = real.detach(), fake.detach()
    if real.shape != fake.shape:
        raise ValueError(
            f"gradient_penalty: real and fake must have the same shape, received "
            f"{tuple(real.shape)} and {tuple(fake.shape)}"
        )
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    e = torch.rand(shape, device=real.device, generator=generator, dtype=real.dtype)
    between = (e * real + (1 - e) * fake).requires_grad_(True)
    norms = _input_gradient_norms(D, between, labels)
    return ((norms - 1) ** 2).mean()


def r1_penalty(
    D: nn.Module, real: torch.Tensor, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """E ||grad_x s(x)||^2 on real data (Mescheder et al. 2018's R1, before its gamma / 2)."""
    norms = _input_gradient_norms(D, real.detach().requires_grad_(True), labels)
    return (norms**2).mean()


def clip_weights(D: nn.Module, clip_value: float = CLIP_VALUE) -> None:
    """WGAN's crude Lipschitz constraint: every parameter of D into [-c, c], in place."""
    with torch.no_grad():
        for p in D.parameters():
            p.clamp_(-clip_value, clip_value)


def spectral_normalise(D: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every Linear and convolution in D, in
    place, with torch's parametrisation: each weight is divided by its largest singular value
    (estimated by one power iteration per forward pass in training mode). Returns D. Applying it
    twice is refused: it would divide twice."""
    from torch.nn.utils import parametrize
    from torch.nn.utils.parametrizations import spectral_norm

    layers = [m for m in D.modules() if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d)]
    if any(parametrize.is_parametrized(m, "weight") for m in layers):
        raise ValueError("spectral_normalise: D's layers are already parametrised")
    for module in layers:
        spectral_norm(module)
    return D


def is_spectrally_normalised(D: nn.Module) -> bool:
    """True when D's layers carry spectral normalisation (e.g. from an earlier `train`)."""
    from torch.nn.utils import parametrize

    return any(parametrize.is_parametrized(m, "weight") for m in D.modules())


def has_batch_norm(D: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in D.modules())


def sample_mixing_layer(D: nn.Module) -> str | None:
    """The first layer of D whose output for one sample depends on the others in its batch
    (batch norm, minibatch standard deviation), or None. Per-sample penalties need none."""
    from gancourse.models.layers import MinibatchStd

    for m in D.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            return "batch norm"
        if isinstance(m, MinibatchStd):
            return "minibatch standard deviation"
    return None


def _input_gradient_norms(
    D: nn.Module, x: torch.Tensor, labels: torch.Tensor | None
) -> torch.Tensor:
    out = D(x) if labels is None else D(x, labels)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)
    return grad.float().flatten(1).norm(dim=1)


def _one_number(value: object, name: str) -> torch.Tensor:
    """A loss a training step can use: one number that autograd can differentiate."""
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or not value.requires_grad:
        detached = isinstance(value, torch.Tensor) and not value.requires_grad
        raise ValueError(
            f"{name}: expected one number (a tensor with one element) connected to D's scores "
            f"through autograd, received {describe(value)}"
            + (" that autograd cannot differentiate" if detached else "")
        )
    return value.reshape(())


def _scores(out: object, outputs: str, loss: str) -> torch.Tensor:
    if outputs != "logits":
        raise ValueError(
            f"loss {loss!r}: expected D's raw scores (outputs='logits'), received "
            f"outputs={outputs!r}; these losses are not defined on probabilities"
        )
    return check_tensor(out, "D's output").float()
