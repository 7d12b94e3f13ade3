"""The toy trainer: snapshots, errors, and that it actually fits a 1-D Gaussian."""

import pytest
import torch

from gancourse.book.toy_training import ToyConfig, discriminator_on, score_toy, train_toy
from gancourse.distributions import Gaussian1D, ring
from gancourse.models import ToyDiscriminator, ToyGenerator
from gancourse.training import TrainingDiverged


def pair(data_dim=1, outputs="logits"):
    torch.manual_seed(0)
    return ToyGenerator(1, data_dim), ToyDiscriminator(data_dim, outputs=outputs)


def test_a_short_run_moves_g_onto_the_data_and_snapshots_every_n_steps():
    G, D = pair()
    target = Gaussian1D(mean=4.0, std=0.5)
    grid = torch.linspace(0, 8, 50).view(-1, 1)
    start = G(torch.rand(2000, 1) * 2 - 1).mean().item()
    run = train_toy(G, D, target, grid=grid, steps=600, snapshot_every=200, progress=False)
    assert [s.step for s in run.snapshots] == [0, 200, 400, 600]
    assert run.snapshots[-1].fake.shape == (2000, 1)
    assert run.snapshots[-1].d_grid.shape == (50,)
    assert abs(start - 4.0) > 2.5  # it starts far away...
    assert abs(run.snapshots[-1].fake.mean().item() - 4.0) < 0.5  # ...and ends on the data
    assert len(run.history) == 600 and run.history.step[-1] == 600
    assert run.at(450).step == 400


def test_the_same_seed_gives_the_same_run_and_tricks_are_accepted():
    runs = []
    for _ in range(2):
        G, D = pair(outputs="probs")
        runs.append(
            train_toy(
                G,
                D,
                Gaussian1D(),
                steps=30,
                k=2,
                noisy_labels=True,
                instance_noise=0.5,
                instance_noise_schedule="exponential",
                generator_loss="saturating",
                progress=False,
            )
        )
    assert torch.equal(runs[0].snapshots[-1].fake, runs[1].snapshots[-1].fake)
    assert runs[0].history.loss_d == runs[1].history.loss_d


def test_two_dimensional_targets_work_and_mismatched_models_are_named():
    G, D = pair(data_dim=2)
    threads = torch.get_num_threads()
    run = train_toy(G, D, ring(), steps=5, progress=False)
    assert torch.get_num_threads() == threads  # the one-thread loop restores the setting
    assert run.snapshots[-1].fake.shape[1] == 2
    G1, D1 = pair(data_dim=1)
    with pytest.raises(ValueError, match=r"R\^2, but G makes R\^1 and D reads R\^1"):
        train_toy(G1, D1, ring(), steps=5, progress=False)
    with pytest.raises(ValueError, match=r"grid: expected points of shape \(M, 1\)"):
        train_toy(G1, D1, Gaussian1D(), steps=5, grid=torch.zeros(4, 2), progress=False)


def test_config_errors_say_what_was_received():
    with pytest.raises(ValueError, match="ToyConfig.steps: expected an integer >= 1, received 0"):
        ToyConfig(steps=0)
    with pytest.raises(ValueError, match="lr_d"):
        ToyConfig(lr_d=0.0)


def test_divergence_stops_with_the_step():
    G, D = pair()
    with pytest.raises(TrainingDiverged, match="step 1"):
        train_toy(G, D, Gaussian1D(mean=float("nan")), steps=3, progress=False)


def test_discriminator_on_gives_probabilities_and_keeps_the_mode():
    _, D = pair()
    D.train()
    p = discriminator_on(D, torch.linspace(-1, 1, 7).view(-1, 1))
    assert p.shape == (7,) and ((p > 0) & (p < 1)).all()
    assert D.training


def test_score_toy_tells_a_collapsed_sample_from_a_covering_one():
    """Points piled on one mode: one mode covered, every point precise, recall about 1/8.
    Points drawn from the whole ring: all modes, high precision and high recall."""
    target = ring(num_modes=8, radius=2.0, std=0.1)
    real = target.sample(800, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    one_mode = torch.tensor(target.centers[0]) + 0.1 * torch.randn(800, 2, generator=g)
    collapsed = score_toy(target, one_mode, real)
    assert (collapsed.modes, collapsed.num_modes) == (1, 8)
    assert collapsed.precision > 0.9 and collapsed.near > 0.95
    assert collapsed.recall < 0.2
    covering = score_toy(target, target.sample(800, generator=g), real)
    assert covering.modes == 8
    assert covering.precision > 0.9 and covering.recall > 0.9
    far = score_toy(target, torch.zeros(800, 2) + 10.0, real)  # nowhere near the data
    assert (far.modes, far.near, far.precision, far.recall) == (0, 0.0, 0.0, 0.0)


def test_score_toy_checks_its_input():
    target = ring()
    with pytest.raises(ValueError, match=r"fake: expected points of shape \(n, 2\)"):
        score_toy(target, torch.zeros(10, 3), torch.zeros(10, 2))
    with pytest.raises(ValueError, match="expected a mixture with modes"):
        score_toy(Gaussian1D(), torch.zeros(10, 1), torch.zeros(10, 1))
