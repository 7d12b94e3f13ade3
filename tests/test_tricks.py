"""The training tricks: label flips, smoothing, noisy labels, instance noise schedules."""

from __future__ import annotations

import pytest
import torch

from gancourse import tricks


def rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_plain_targets_are_floats():
    assert tricks.discriminator_targets(8, True) == 1.0
    assert tricks.discriminator_targets(8, False) == 0.0


def test_one_sided_smoothing_leaves_fakes_at_zero():
    real = tricks.discriminator_targets(8, True, smoothing=0.1)
    fake = tricks.discriminator_targets(8, False, smoothing=0.1)
    assert torch.allclose(real, torch.full((8, 1), 0.9)) and (fake == 0).all()


def test_noisy_labels_ranges_and_spread():
    real = tricks.discriminator_targets(20_000, True, noisy=True, generator=rng())
    fake = tricks.discriminator_targets(20_000, False, noisy=True, generator=rng(1))
    assert real.shape == (20_000, 1)
    assert 0.7 <= real.min() and real.max() <= 1.2 and abs(real.mean().item() - 0.95) < 0.01
    assert 0.0 <= fake.min() and fake.max() <= 0.3 and abs(fake.mean().item() - 0.15) < 0.01


def test_label_flips_happen_at_the_asked_rate():
    real = tricks.discriminator_targets(20_000, True, flip_prob=0.1, generator=rng())
    assert set(real.unique().tolist()) == {0.0, 1.0}
    assert abs((real == 0).float().mean().item() - 0.1) < 0.01


def test_flips_combine_with_noisy_labels():
    real = tricks.discriminator_targets(20_000, True, noisy=True, flip_prob=0.2, generator=rng())
    flipped = (real <= 0.3).float().mean().item()
    assert abs(flipped - 0.2) < 0.015 and ((real <= 0.3) | (real >= 0.7)).all()


@pytest.mark.parametrize(
    ("schedule", "step", "expected"),
    [
        ("linear", 0, 0.2),
        ("linear", 50, 0.1),
        ("linear", 100, 0.0),
        ("linear", 150, 0.0),
        ("exponential", 0, 0.2),
        ("exponential", 10, 0.1),
        ("exponential", 20, 0.05),
        ("constant", 70, 0.2),
    ],
)
def test_instance_noise_schedules(schedule, step, expected):
    assert tricks.instance_noise_std(step, 100, 0.2, schedule) == pytest.approx(expected)


def test_instance_noise_has_the_asked_std():
    X = torch.zeros(100_000)
    noisy = tricks.add_instance_noise(X, 0.3, rng())
    assert abs(noisy.std().item() - 0.3) < 0.005
    assert tricks.add_instance_noise(X, 0.0) is X


def test_bad_trick_settings():
    with pytest.raises(ValueError, match="flip probability.*1.5"):
        tricks.discriminator_targets(4, True, flip_prob=1.5)
    with pytest.raises(ValueError, match="schedule.*'cosine'"):
        tricks.instance_noise_std(0, 10, 0.1, "cosine")
    with pytest.raises(ValueError, match="-0.1"):
        tricks.instance_noise_std(0, 10, -0.1)
