"""Walking through the latent space: interpolation and vector arithmetic.

A generator that has learnt smooth structure changes its images gradually as z moves, instead of
jumping between memorised pictures (Radford et al. 2015, "Unsupervised Representation Learning
with Deep Convolutional Generative Adversarial Networks", Sec. 6).

Interpolation between z0 and z1 at t in [0, 1]:

    linear    lerp(t)  = (1 - t) z0 + t z1
    spherical slerp(t) = sin((1 - t) theta) / sin(theta) z0 + sin(t theta) / sin(theta) z1,
              cos(theta) = <z0, z1> / (|z0| |z1|)

For z ~ N(0, I) in d dimensions almost all the mass sits near the sphere of radius sqrt(d), so
the midpoint of a straight line (norm about sqrt(d / 2) for two independent samples) is a z the
generator has almost never seen. Slerp follows the great circle instead and, between vectors of
equal norm, keeps the norm constant (White 2016, "Sampling Generative Networks"). When theta is
close to 0 the two formulas agree and lerp is used; for opposite vectors (theta = pi) the great
circle is not unique and slerp refuses.

Vector arithmetic: Radford et al. averaged the z of three exemplars per concept, e.g.

    mean(z smiling woman) - mean(z neutral woman) + mean(z neutral man)  ->  a smiling man,

because single samples were unstable; `latent_arithmetic` does exactly this and
`arithmetic_figure` draws the exemplars, their means and the result (with the paper's uniform
+-0.25 noise on the result vector for extra samples).
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from torch import nn

from gancourse.checks import check_choice, check_tensor, check_value_range, describe
from gancourse.models.base import OUTPUT_RANGES, eval_mode
from gancourse.plots import draw_image

METHODS = ("linear", "spherical")
PARALLEL_SIN = 1e-6  # sin(theta) below this: the vectors are (anti)parallel


def interpolate(
    z0: torch.Tensor, z1: torch.Tensor, steps: int = 8, method: str = "linear"
) -> torch.Tensor:
    """`steps` latent vectors from z0 to z1, shape (steps, latent_dim); the first is exactly z0
    and the last exactly z1. `method` is 'linear' or 'spherical' (see the module docstring).

    z0 and z1 are (latent_dim,) or (1, latent_dim); computed in float64, returned in z0's dtype.
    """
    check_choice(method, METHODS, "method")
    z0 = _check_latent(z0, "z0")
    z1 = _check_latent(z1, "z1")
    if z0.shape != z1.shape:
        raise ValueError(
            f"z0 and z1: expected the same latent_dim, received {tuple(z0.shape)} and "
            f"{tuple(z1.shape)}"
        )
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps: expected an int >= 2 (both endpoints), received {steps!r}")
    a, b = z0.double(), z1.double()
    t = torch.linspace(0, 1, steps, dtype=torch.float64, device=z0.device)[:, None]  # (steps, 1)
    path = (1 - t) * a + t * b
    if method == "spherical":
        norms = a.norm() * b.norm()
        if norms == 0:
            raise ValueError(
                "spherical interpolation needs non-zero z0 and z1, received a zero "
                "vector; use method='linear'"
            )
        theta = torch.arccos((a @ b / norms).clamp(-1, 1))
        sin_theta = torch.sin(theta)
        if sin_theta >= PARALLEL_SIN:
            path = (torch.sin((1 - t) * theta) * a + torch.sin(t * theta) * b) / sin_theta
        elif theta > math.pi / 2:
            raise ValueError(
                "spherical interpolation between opposite vectors (z1 = -c z0) is undefined: "
                "every great circle joins them; pick another z1 or use method='linear'"
            )
    path = path.to(z0.dtype)
    path[0], path[-1] = z0, z1  # exact endpoints, whatever the rounding
    return path


def latent_arithmetic(z_a: torch.Tensor, z_b: torch.Tensor, z_c: torch.Tensor) -> torch.Tensor:
    """mean(z_a) - mean(z_b) + mean(z_c), shape (latent_dim,) (Radford et al. 2015, Sec. 6.3).

    Each argument holds the exemplars of one concept, (n, latent_dim) or one (latent_dim,).
    """
    groups = [_check_group(z, name) for z, name in ((z_a, "z_a"), (z_b, "z_b"), (z_c, "z_c"))]
    dims = {g.shape[1] for g in groups}
    if len(dims) != 1:
        raise ValueError(
            "z_a, z_b, z_c: expected the same latent_dim, received "
            + ", ".join(str(g.shape[1]) for g in groups)
        )
    a, b, c = (g.double().mean(dim=0) for g in groups)
    return (a - b + c).to(groups[0].dtype)


@torch.no_grad()
def generate_images(G: nn.Module, Z: torch.Tensor) -> torch.Tensor:
    """G(Z) in eval mode without gradients, on the CPU; G's train/eval modes are restored."""
    Z = check_tensor(Z, "Z")
    if Z.dim() != 2:
        raise ValueError(
            f"Z: expected latent vectors of shape (N, latent_dim), received {describe(Z)}"
        )
    if not isinstance(G, nn.Module):
        raise TypeError(f"G: expected a generator (torch.nn.Module), received {describe(G)}")
    param = next(G.parameters(), None)
    if param is not None:
        Z = Z.to(param.device, param.dtype)
    with eval_mode(G):
        images = G(Z)
    return images.detach().float().cpu()


def interpolation_images(
    G: nn.Module, z0: torch.Tensor, z1: torch.Tensor, steps: int = 8, method: str = "linear"
) -> torch.Tensor:
    """G's images along `interpolate(z0, z1, steps, method)`: (steps, C, H, W) on the CPU,
    made in eval mode without gradients (G's mode is left as it was)."""
    return generate_images(G, interpolate(z0, z1, steps, method))


def interpolation_figure(
    images: torch.Tensor,
    value_range: tuple[float, float] = (-1.0, 1.0),
    title: str | None = None,
    size: float = 1.2,
) -> Figure:
    """Interpolations drawn left to right with their t: one row (steps, C, H, W) or several
    rows (rows, steps, C, H, W)."""
    images = check_tensor(images, "images").detach().float().cpu()
    if images.dim() == 4:
        images = images[None]
    if images.dim() != 5 or images.shape[2] not in (1, 3) or images.shape[1] < 2:
        raise ValueError(
            "images: expected one interpolation (steps, 1 or 3, H, W) or several "
            f"(rows, steps, 1 or 3, H, W) with steps >= 2, received {describe(images)}"
        )
    lo, hi = check_value_range(value_range)
    rows, steps = images.shape[:2]
    fig = Figure(figsize=(size * steps, size * rows + (0.5 if title else 0.3)))
    axes = fig.subplots(rows, steps, squeeze=False)
    for r in range(rows):
        for s in range(steps):
            draw_image(axes[r, s], images[r, s], lo, hi)
    for s in range(steps):
        axes[-1, s].set_xlabel(f"t={s / (steps - 1):.2f}", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def arithmetic_figure(
    G: nn.Module,
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    z_c: torch.Tensor,
    labels: tuple[str, str, str] = ("a", "b", "c"),
    extra_samples: int = 3,
    noise: float = 0.25,
    generator: torch.Generator | None = None,
    size: float = 1.2,
) -> Figure:
    """Radford et al.'s Fig. 7 layout: one row per concept (its exemplars, then the image of their
    mean vector), and a last row with G(mean a - mean b + mean c) followed by `extra_samples`
    images of the result vector plus uniform noise in [-noise, noise]."""
    groups = [_check_group(z, name).cpu() for z, name in ((z_a, "z_a"), (z_b, "z_b"), (z_c, "z_c"))]
    if len(labels) != 3:
        raise ValueError(f"labels: expected three names (a, b, c), received {labels!r}")
    if isinstance(extra_samples, bool) or not isinstance(extra_samples, int) or extra_samples < 0:
        raise ValueError(f"extra_samples: expected an int >= 0, received {extra_samples!r}")
    result = latent_arithmetic(*groups)
    jitter = (
        torch.rand(extra_samples, len(result), generator=generator, dtype=torch.float64) * 2 - 1
    ) * noise
    rows = [torch.cat([g, g.double().mean(0, keepdim=True).to(g.dtype)]) for g in groups]
    rows.append(torch.cat([result[None], (result.double() + jitter).to(result.dtype)]))
    images = [generate_images(G, z) for z in rows]
    lo, hi = OUTPUT_RANGES.get(getattr(G, "output_range", "tanh"), (-1.0, 1.0))
    cols = max(len(row) for row in images)
    fig = Figure(figsize=(size * cols + 1.2, size * 4 + 0.3))
    axes = fig.subplots(4, cols, squeeze=False)
    names = [f"+ {labels[0]}", f"- {labels[1]}", f"+ {labels[2]}", "= result"]
    for r, row in enumerate(images):
        for col in range(cols):
            if col < len(row):
                draw_image(axes[r, col], row[col], lo, hi)
            else:
                axes[r, col].set_axis_off()
        axes[r, 0].set_ylabel(names[r], fontsize=9)
        if r < 3:
            axes[r, len(row) - 1].set_xlabel("mean z", fontsize=8)
    axes[3, 0].set_xlabel("result z", fontsize=8)
    for col in range(1, len(images[3])):
        axes[3, col].set_xlabel("+ noise", fontsize=8)
    fig.tight_layout()
    return fig


def _check_latent(z: object, name: str) -> torch.Tensor:
    z = check_tensor(z, name)
    if z.dim() == 2 and z.shape[0] == 1:
        z = z[0]
    if z.dim() != 1 or len(z) < 1:
        raise ValueError(
            f"{name}: expected one latent vector of shape (latent_dim,) or (1, latent_dim), "
            f"received {describe(z)}"
        )
    if not torch.isfinite(z).all():
        raise ValueError(f"{name}: expected finite values, received NaN or infinite values")
    return z.detach()


def _check_group(z: object, name: str) -> torch.Tensor:
    z = check_tensor(z, name)
    if z.dim() == 1:
        z = z[None]
    if z.dim() != 2 or z.shape[0] < 1 or z.shape[1] < 1:
        raise ValueError(
            f"{name}: expected the latent vectors of one concept, shape (n, latent_dim) or "
            f"(latent_dim,), received {describe(z)}"
        )
    return z.detach()
