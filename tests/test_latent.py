"""Latent-space tools: interpolation paths, vector arithmetic, images from G and the figures."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gancourse as gc
from gancourse.latent import (
    arithmetic_figure,
    generate_images,
    interpolate,
    interpolation_figure,
    interpolation_images,
    latent_arithmetic,
)


class TinyGenerator(gc.Generator):
    """z (4) -> a 3x5x5 image in [0, 1], with dropout so train and eval mode differ."""

    def __init__(self) -> None:
        super().__init__(4, (3, 5, 5), "sigmoid")
        self.net = nn.Sequential(nn.Linear(4, 75), nn.Dropout(0.5), nn.Sigmoid())

    def generate(self, Z: torch.Tensor) -> torch.Tensor:
        return self.net(Z)


# ----------------------------------------------------------------------------- interpolation


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_endpoints_are_exact_and_dtype_kept(method):
    z0, z1 = torch.randn(100), torch.randn(100)
    path = interpolate(z0, z1, steps=7, method=method)
    assert path.shape == (7, 100) and path.dtype == torch.float32
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    assert torch.equal(interpolate(z0[None], z1[None], 2, method), torch.stack([z0, z1]))


def test_linear_midpoint_is_the_average_and_steps_are_even():
    z0, z1 = torch.randn(10, dtype=torch.float64), torch.randn(10, dtype=torch.float64)
    path = interpolate(z0, z1, steps=5)
    assert torch.allclose(path[2], (z0 + z1) / 2)
    gaps = path.diff(dim=0)
    assert torch.allclose(gaps, gaps[:1].expand_as(gaps))


def test_spherical_keeps_the_norm_of_equal_norm_endpoints():
    z0 = torch.randn(100, dtype=torch.float64)
    z1 = torch.randn(100, dtype=torch.float64)
    z1 = z1 * z0.norm() / z1.norm()
    norms = interpolate(z0, z1, steps=11, method="spherical").norm(dim=1)
    assert torch.allclose(norms, z0.norm().expand(11), rtol=1e-12)
    linear = interpolate(z0, z1, steps=11).norm(dim=1)
    assert linear[5] < 0.9 * z0.norm()  # the straight line cuts inside the sphere


def test_spherical_follows_the_great_circle():
    e0, e1 = torch.eye(2, dtype=torch.float64)
    path = interpolate(e0, e1, steps=3, method="spherical")
    assert torch.allclose(path[1], torch.tensor([1.0, 1.0], dtype=torch.float64) / math.sqrt(2))
    walk = interpolate(e0, e1, 7, "spherical")
    angles = torch.atan2(walk[:, 1], walk[:, 0])  # equal steps in angle, not in distance
    assert torch.allclose(angles, torch.linspace(0, math.pi / 2, 7, dtype=torch.float64))


def test_spherical_of_parallel_vectors_is_lerp_and_of_identical_ones_constant():
    z = torch.randn(50)
    assert torch.equal(interpolate(z, z.clone(), 6, "spherical"), z.expand(6, 50))
    path = interpolate(z, 2 * z, 5, "spherical")  # theta = 0, different norms: lerp
    assert torch.allclose(path, interpolate(z, 2 * z, 5, "linear"))
    assert torch.isfinite(path).all()


def test_spherical_refuses_opposite_and_zero_vectors():
    z = torch.randn(8)
    with pytest.raises(ValueError, match="opposite"):
        interpolate(z, -z, 5, "spherical")
    with pytest.raises(ValueError, match="non-zero"):
        interpolate(z, torch.zeros(8), 5, "spherical")
    assert torch.allclose(interpolate(z, -z, 3, "linear")[1], torch.zeros(8))


@pytest.mark.parametrize(
    ("z0", "z1", "steps", "method", "error", "message"),
    [
        (torch.randn(4), torch.randn(5), 3, "linear", ValueError, "same latent_dim"),
        (torch.randn(2, 4), torch.randn(2, 4), 3, "linear", ValueError, r"\(latent_dim,\)"),
        (torch.randn(4), torch.randn(4), 1, "linear", ValueError, "steps"),
        (torch.randn(4), torch.randn(4), 3, "cubic", ValueError, "linear"),
        (torch.arange(4), torch.randn(4), 3, "linear", TypeError, "floating point"),
        (torch.full((4,), math.nan), torch.randn(4), 3, "linear", ValueError, "finite"),
    ],
)
def test_interpolate_bad_input(z0, z1, steps, method, error, message):
    with pytest.raises(error, match=message):
        interpolate(z0, z1, steps, method)


# ----------------------------------------------------------------------------- arithmetic


def test_latent_arithmetic_is_mean_a_minus_mean_b_plus_mean_c():
    z_a, z_b, z_c = torch.randn(3, 6), torch.randn(3, 6), torch.randn(2, 6)
    hand = (z_a[0] + z_a[1] + z_a[2]) / 3 - (z_b[0] + z_b[1] + z_b[2]) / 3 + (z_c[0] + z_c[1]) / 2
    result = latent_arithmetic(z_a, z_b, z_c)
    assert result.shape == (6,) and torch.allclose(result, hand, atol=1e-6)
    assert torch.equal(latent_arithmetic(z_a[0], z_a[0], z_c[0]), z_c[0])  # single vectors
    with pytest.raises(ValueError, match="same latent_dim"):
        latent_arithmetic(z_a, z_b, torch.randn(2, 5))
    with pytest.raises(ValueError, match="one concept"):
        latent_arithmetic(z_a, torch.randn(2, 3, 6), z_c)


# ----------------------------------------------------------------------------- images from G


@pytest.mark.parametrize("train_mode", [True, False])
def test_interpolation_images_run_in_eval_mode_and_restore_it(train_mode):
    G = gc.build_generator("vanilla").train(train_mode)
    running = [b.clone() for b in G.buffers()]
    images = interpolation_images(
        G, torch.randn(100), torch.randn(100), steps=6, method="spherical"
    )
    assert images.shape == (6, 1, 28, 28) and not images.requires_grad
    assert images.min() >= -1 and images.max() <= 1
    assert G.training is train_mode and all(m.training is train_mode for m in G.modules())
    assert all(torch.equal(a, b) for a, b in zip(running, G.buffers(), strict=True))  # eval BN


def test_generate_images_is_deterministic_despite_dropout_and_restores_mixed_modes():
    G = TinyGenerator().train()
    G.net[0].eval()  # a mixed state must come back exactly
    Z = torch.randn(4, 4)
    first, second = generate_images(G, Z), generate_images(G, Z)
    assert torch.equal(first, second) and first.shape == (4, 3, 5, 5)
    assert G.training and G.net[1].training and not G.net[0].training
    with pytest.raises(ValueError, match=r"shape \(N, latent_dim\)"):
        generate_images(G, torch.randn(4))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):  # G's own check
        generate_images(G, torch.randn(2, 5))


# ----------------------------------------------------------------------------- figures


def test_interpolation_figure_has_one_axes_per_image():
    images = torch.rand(2, 5, 1, 6, 6) * 2 - 1
    fig = interpolation_figure(images, title="two walks")
    assert len(fig.axes) == 10 and all(len(ax.images) == 1 for ax in fig.axes)
    assert fig.axes[-1].get_xlabel() == "t=1.00"
    assert len(interpolation_figure(torch.rand(4, 3, 6, 6), value_range=(0, 1)).axes) == 4
    with pytest.raises(ValueError, match="steps >= 2"):
        interpolation_figure(torch.rand(1, 1, 6, 6))
    with pytest.raises(ValueError, match="low < high"):
        interpolation_figure(torch.rand(3, 1, 6, 6), value_range=(1, 1))


def test_arithmetic_figure_lays_out_exemplars_means_and_results():
    G = TinyGenerator()
    z_a, z_b, z_c = torch.randn(3, 4), torch.randn(3, 4), torch.randn(3, 4)
    fig = arithmetic_figure(
        G,
        z_a,
        z_b,
        z_c,
        labels=("smiling woman", "woman", "man"),
        extra_samples=2,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(fig.axes) == 4 * 4  # three exemplars + mean; result + 2 noisy + 1 empty
    assert sum(len(ax.images) for ax in fig.axes) == 3 * 4 + 3
    assert fig.axes[0].get_ylabel() == "+ smiling woman"
    with pytest.raises(ValueError, match="three names"):
        arithmetic_figure(G, z_a, z_b, z_c, labels=("a", "b"))
