"""The book's long experiments: ablations with enough seeds and steps for their runs to learn.

Each is too long for the cpu-size build (tens of minutes on 2 cores), so
`scripts/run_experiment.py NAME` runs it once and stores a record (`gancourse.book.records`); the
chapter plots the record and, at the full size, reruns it live. Changing anything here (a
variant, a seed, a setting) makes the stored record stale, and `tests/test_records.py` fails
until it is made again.
"""

from __future__ import annotations

from gancourse.book.records import AblationExperiment
from gancourse.objectives import OBJECTIVES

__all__ = ["EXPERIMENTS"]

SEEDS = (0, 1, 2, 3, 4)  # five seeds: the fewest `gancourse.comparison` draws a verdict from

TRICKS_MNIST = AblationExperiment(
    name="tricks-mnist",
    chapter="07_tricks",
    model="vanilla",
    variants={
        "baseline": {},
        "TTUR (lr_d = 4 lr_g)": {"lr_d": 8e-4},  # D's rate only; lr_g stays 2e-4
        "instance noise 0.3": {"instance_noise": 0.3},
        "noisy labels": {"noisy_labels": True},
        "one-sided smoothing 0.9": {"label_smoothing": 0.1},
    },
    seeds=SEEDS,
    shared={"num_epochs": 40, "batch_size": 64, "num_samples": 16},
)

OBJECTIVES_MNIST = AblationExperiment(
    name="objectives-mnist",
    chapter="10_modern_objectives",
    model="vanilla",
    variants={
        "GAN (BCE)": {},
        "GAN + R1 (γ = 10)": {"r1_gamma": 10.0},
        "LSGAN": OBJECTIVES["lsgan"].settings(),
        "hinge + spectral norm": {**OBJECTIVES["hinge"].settings(), "spectral_norm": True},
        "WGAN-GP": OBJECTIVES["wgan-gp"].settings(),
    },
    seeds=SEEDS,
    shared={"num_epochs": 10_000, "max_steps": 2000, "batch_size": 64, "num_samples": 16},
)

EXPERIMENTS = {e.name: e for e in (TRICKS_MNIST, OBJECTIVES_MNIST)}
