"""Tests of the toy-run figures and the densities behind them (gancourse.book.toy_plots)."""

from __future__ import annotations

import math

import pytest
import torch

from gancourse.book.toy_plots import (
    _fixed_noise,
    figure1_panels,
    kernel_density,
    optimal_discriminator,
    pick_snapshots,
    points_figure,
)
from gancourse.book.toy_training import train_toy
from gancourse.distributions import Gaussian1D, ring
from gancourse.models import ToyDiscriminator, ToyGenerator


@pytest.fixture(scope="module")
def run_1d():
    grid = torch.linspace(0, 8, 81)[:, None]
    G, D = ToyGenerator(hidden=8), ToyDiscriminator(hidden=8)
    return train_toy(
        G,
        D,
        Gaussian1D(),
        grid=grid,
        steps=12,
        snapshot_every=3,
        batch_size=16,
        num_snapshot_samples=200,
        progress=False,
    )


@pytest.fixture(scope="module")
def run_2d():
    target = ring()
    G = ToyGenerator(latent_dim=2, data_dim=2, hidden=8)
    D = ToyDiscriminator(data_dim=2, hidden=8)
    run = train_toy(
        G,
        D,
        target,
        steps=6,
        snapshot_every=2,
        batch_size=16,
        num_snapshot_samples=100,
        progress=False,
    )
    return run, target


def test_kernel_density_integrates_to_one_and_matches_a_gaussian():
    target = Gaussian1D(mean=1.0, std=2.0)
    samples = target.sample(5000, generator=torch.Generator().manual_seed(0))
    x = torch.linspace(-12, 14, 1001)
    p = kernel_density(samples, x)
    assert p.shape == (1001,)
    assert torch.trapezoid(p, x).item() == pytest.approx(1.0, abs=1e-3)
    assert (p - target.density(x)).abs().max().item() < 0.01


def test_kernel_density_uses_scotts_rule_and_a_given_bandwidth():
    samples = torch.tensor([0.0, 0.0, 0.0, 1.0])
    h = samples.double().std().item() * 4 ** (-0.2)
    x = torch.tensor([0.0])
    expected = sum(math.exp(-0.5 * (v / h) ** 2) for v in (0, 0, 0, 1)) / (
        4 * h * math.sqrt(2 * math.pi)
    )
    assert kernel_density(samples, x).item() == pytest.approx(expected, rel=1e-5)
    one = kernel_density(torch.zeros(5), x, bandwidth=1.0).item()
    assert one == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-5)


def test_kernel_density_in_two_dimensions_and_for_collapsed_samples():
    samples = torch.randn(5000, 2, generator=torch.Generator().manual_seed(1))
    value = kernel_density(samples, torch.zeros(1, 2)).item()
    assert value == pytest.approx(1 / (2 * math.pi), rel=0.1)
    same = kernel_density(torch.full((10,), 3.0), torch.tensor([3.0, 5.0]))
    assert torch.isfinite(same).all() and same[0] > 0 and same[1] == 0


def test_kernel_density_rejects_bad_input():
    with pytest.raises(ValueError, match="expected points of shape"):
        kernel_density(torch.zeros(10, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="at least 2 points"):
        kernel_density(torch.zeros(1), torch.zeros(4))
    with pytest.raises(ValueError, match="positive number"):
        kernel_density(torch.randn(10), torch.zeros(4), bandwidth=0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        kernel_density([1.0, 2.0], torch.zeros(4))


def test_optimal_discriminator_formula():
    p_data = torch.tensor([1.0, 0.0, 2.0, 0.0, 0.3])
    p_g = torch.tensor([1.0, 1.0, 0.0, 0.0, 0.1])
    d = optimal_discriminator(p_data, p_g)
    assert torch.allclose(d, torch.tensor([0.5, 0.0, 1.0, 0.5, 0.75]))
    with pytest.raises(ValueError, match="same shape"):
        optimal_discriminator(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match=">= 0"):
        optimal_discriminator(torch.tensor([-1.0]), torch.tensor([1.0]))


def test_pick_snapshots(run_1d):
    assert [s.step for s in run_1d.snapshots] == [0, 3, 6, 9, 12]
    picked = pick_snapshots(run_1d)
    assert len(picked) == 4 and picked[0].step == 0 and picked[-1].step == 12
    assert [s.step for s in pick_snapshots(run_1d, steps=[0, 7])] == [0, 6]
    with pytest.raises(ValueError, match="non-empty list"):
        pick_snapshots(run_1d, steps=[])


def test_fixed_noise_is_recovered(run_1d):
    z = _fixed_noise(run_1d)
    assert z is not None and z.shape == (200, 1)
    with torch.no_grad():
        assert torch.allclose(run_1d.G(z), run_1d.snapshots[-1].fake, atol=1e-5)


def test_figure1_panels_draws_four_panels_with_three_curves(run_1d):
    fig = figure1_panels(run_1d, Gaussian1D())
    assert len(fig.axes) == 4
    for ax in fig.axes:
        styles = [(line.get_color(), line.get_linestyle()) for line in ax.get_lines()]
        assert ("black", ":") in styles and ("green", "-") in styles
        assert ("blue", "--") in styles
        assert len(ax.texts) >= 2  # the x and z line labels
    assert [ax.get_title() for ax in fig.axes][0] == "(a) step 0"
    two = figure1_panels(run_1d, Gaussian1D(), steps=[0, 12])
    assert len(two.axes) == 2


def test_figure1_panels_rejects_runs_without_a_grid(run_2d):
    run, target = run_2d
    with pytest.raises(ValueError, match="grid"):
        figure1_panels(run, Gaussian1D())


def test_points_figure(run_2d):
    run, target = run_2d
    fig = points_figure(run, target)
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert len(ax.collections) == 2  # G's samples and the mode centres
        assert "modes" in ax.get_title() and "step" in ax.get_title()
    with pytest.raises(ValueError, match="2-D mixture"):
        points_figure(run, Gaussian1D())
