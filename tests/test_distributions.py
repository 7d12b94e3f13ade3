"""Toy distributions: sampling matches the density, mode coverage detects collapse."""

from __future__ import annotations

import math

import torch

from gancourse.distributions import Gaussian1D, grid, ring


def test_gaussian_1d_samples_and_density():
    dist = Gaussian1D(mean=4.0, std=0.5)
    assert math.isclose(
        dist.density(torch.tensor(4.0)).item(), 1 / (0.5 * math.sqrt(2 * math.pi)), rel_tol=1e-6
    )
    x = dist.sample(100_000, torch.Generator().manual_seed(0))
    assert x.shape == (100_000, 1)
    assert abs(x.mean().item() - 4.0) < 0.01 and abs(x.std().item() - 0.5) < 0.01
    grid_x = torch.linspace(0, 8, 8001)
    assert abs(torch.trapezoid(dist.density(grid_x), grid_x).item() - 1) < 1e-4


def test_ring_modes_lie_on_the_circle_and_density_integrates_to_one():
    r = ring(num_modes=8, radius=2.0, std=0.1)
    centers = torch.tensor(r.centers)
    torch.testing.assert_close(centers.norm(dim=1), torch.full((8,), 2.0))
    xs = torch.linspace(-3, 3, 601)
    xx, yy = torch.meshgrid(xs, xs, indexing="ij")
    p = r.density(torch.stack([xx.flatten(), yy.flatten()], 1)).reshape(601, 601)
    assert abs(p.sum().item() * (6 / 600) ** 2 - 1) < 1e-3


def test_mode_coverage_detects_collapse():
    r = ring(8, std=0.05)
    gen = torch.Generator().manual_seed(0)
    full = r.sample(2000, gen)
    covered, quality = r.mode_coverage(full)
    assert covered == 8 and quality > 0.98
    collapsed = torch.tensor(r.centers[:2]).repeat(500, 1) + 0.01 * torch.randn(1000, 2)
    covered, quality = r.mode_coverage(collapsed)
    assert covered == 2 and quality == 1.0
    junk = torch.zeros(100, 2)  # the centre of the ring: near no mode
    assert r.mode_coverage(junk) == (0, 0.0)


def test_grid_layout_and_nearest_mode():
    g = grid(side=5, spacing=2.0)
    assert g.num_modes == 25
    centers = torch.tensor(g.centers)
    assert centers.min().item() == -4.0 and centers.max().item() == 4.0
    assert g.nearest_mode(centers + 0.1).tolist() == list(range(25))
