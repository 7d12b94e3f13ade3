"""Tests of gancourse.book.ablation: input checks, the summary maths, and one tiny real ablation."""

from __future__ import annotations

import math

import pytest
import torch

from gancourse.book.ablation import (
    AblationRow,
    ToyAblationRow,
    ablation_table,
    compare_variants,
    mean_std,
    run_ablation,
    run_toy_ablation,
    summarise,
    toy_ablation_table,
    variant_groups,
)
from gancourse.distributions import Gaussian1D, ring


def _row(variant: str, seed: int, fid: float) -> AblationRow:
    return AblationRow(
        variant=variant,
        seed=seed,
        fid=fid,
        d_real=0.6,
        d_fake=0.4,
        steps=10,
        seconds=0.1,
        samples=torch.zeros(4, 1, 28, 28),
    )


def test_summarise_mean_and_sample_std():
    rows = [_row("base", 0, 10.0), _row("base", 1, 14.0), _row("trick", 0, 5.0)]
    base, trick = summarise(rows)
    assert (base.variant, base.runs, base.mean) == ("base", 2, 12.0)
    assert base.std == pytest.approx(math.sqrt(8.0))  # ddof = 1
    assert (base.low, base.high) == (10.0, 14.0)
    assert (trick.runs, trick.mean, trick.std) == (1, 5.0, 0.0)


def test_table_reports_change_against_baseline():
    rows = [_row("base", 0, 10.0), _row("base", 1, 14.0), _row("trick", 0, 5.0)]
    table = ablation_table(rows)
    lines = table.splitlines()
    assert lines[0].startswith("| variant |")
    assert "12.00 ± 2.83" in lines[2] and "(baseline)" in lines[2]
    assert "| trick | 1 | 1/1 | 5.00 | -7.00 |" in lines[3]  # 1/1: no judgement, counted learned
    assert "+7.00" in ablation_table(rows, baseline="trick")
    with pytest.raises(ValueError, match="baseline: expected one of"):
        ablation_table(rows, baseline="nope")


def test_summarise_rejects_empty_and_foreign_rows():
    with pytest.raises(ValueError, match="at least one AblationRow"):
        summarise([])
    with pytest.raises(TypeError, match="AblationRow"):
        summarise([{"variant": "x"}])


@pytest.mark.parametrize(
    ("variants", "seeds", "shared", "error", "match"),
    [
        ({}, [0], {}, ValueError, "non-empty dict"),
        ({"a": {"lr_dd": 1.0}}, [0], {}, ValueError, "unknown field 'lr_dd'"),
        ({"a": {"seed": 3}}, [0], {}, ValueError, "set by run_ablation"),
        ({"a": [("lr_d", 1.0)]}, [0], {}, TypeError, "dict of TrainConfig overrides"),
        ({"a": {}}, [], {}, ValueError, "non-empty list of ints"),
        ({"a": {}}, 3, {}, ValueError, "non-empty list of ints"),
        ({"a": {}}, [0, 0], {}, ValueError, "distinct seeds"),
        ({"a": {}}, [0.5], {}, TypeError, "expected ints"),
        ({"a": {}}, [0], {"epochs": 3}, ValueError, "unknown field 'epochs'"),
    ],
)
def test_run_ablation_checks_its_input(variants, seeds, shared, error, match):
    data = torch.zeros(8, 1, 28, 28)
    with pytest.raises(error, match=match):
        run_ablation(variants, seeds, "vanilla", data, **shared)


def test_run_ablation_unknown_model():
    with pytest.raises(KeyError, match="unknown model"):
        run_ablation({"a": {}}, [0], "resnet", torch.zeros(8, 1, 28, 28))


@pytest.mark.filterwarnings("ignore:only .* samples")
def test_tiny_ablation_same_seed_same_start():
    """Two identical variants on the same seed train identically (same FID); a different
    learning rate gives a different result. Every row carries its samples."""
    torch.manual_seed(0)
    data = torch.rand(64, 1, 28, 28) * 2 - 1  # tanh range, like the vanilla G
    rows = run_ablation(
        {"a": {}, "a again": {}, "faster D": {"lr_d": 1e-2}},
        seeds=[0],
        model="vanilla",
        data=data,
        num_fid_samples=40,
        progress=False,
        batch_size=16,
        num_epochs=1,
        max_steps=3,
        device="cpu",
        num_samples=4,
    )
    assert [r.variant for r in rows] == ["a", "a again", "faster D"]
    assert all(r.steps == 3 and math.isfinite(r.fid) for r in rows)
    assert rows[0].fid == pytest.approx(rows[1].fid, rel=1e-6)
    assert rows[2].fid != pytest.approx(rows[0].fid, rel=1e-6)
    assert rows[0].samples.shape == (4, 1, 28, 28)
    assert "| faster D | 1 |" in ablation_table(rows)
    # the MNIST feature network is a digit classifier: each row says how well it reads G's digits
    assert all(0.1 <= r.confidence <= 1 for r in rows)
    assert rows[0].confidence == pytest.approx(rows[1].confidence)


def _toy_row(variant: str, seed: int, modes: int, precision: float, recall: float):
    return ToyAblationRow(variant, seed, modes, 8, 0.5, precision, recall, 0.1, torch.zeros(4, 2))


def test_mean_std_is_the_sample_standard_deviation():
    assert mean_std([2.0, 4.0]) == (3.0, pytest.approx(math.sqrt(2.0)))
    assert mean_std([5]) == (5.0, 0.0)
    with pytest.raises(ValueError, match="at least one number"):
        mean_std([])


def test_toy_table_gives_mean_spread_and_complete_runs_per_variant():
    rows = [
        _toy_row("base", 0, 1, 0.8, 0.1),
        _toy_row("base", 1, 3, 0.6, 0.3),
        _toy_row("fix", 0, 8, 0.7, 0.9),
        _toy_row("fix", 1, 8, 0.7, 0.7),
    ]
    lines = toy_ablation_table(rows).splitlines()
    assert lines[0].startswith("| variant | runs | learned | modes (of 8) | all modes |")
    assert lines[2] == (
        "| base | 2 | 2/2 | 2.0 ± 1.4 | 0/2 | 0.50 ± 0.00 | 0.70 ± 0.14 | 0.20 ± 0.14 |"
    )
    assert lines[3] == (
        "| fix | 2 | 2/2 | 8.0 ± 0.0 | 2/2 | 0.50 ± 0.00 | 0.70 ± 0.00 | 0.80 ± 0.14 |"
    )
    assert max(len(line) for line in lines) < 100  # fits a narrow page
    with pytest.raises(TypeError, match="ToyAblationRow"):
        toy_ablation_table([_row("base", 0, 1.0)])


@pytest.mark.parametrize(
    ("variants", "shared", "match"),
    [
        ({"a": {"lr_dd": 1.0}}, {}, "unknown field 'lr_dd'"),
        ({"a": {"num_epochs": 3}}, {}, "expected ToyConfig fields"),
        ({"a": {"seed": 1}}, {}, "set by run_ablation"),
    ],
)
def test_run_toy_ablation_checks_its_input(variants, shared, match):
    with pytest.raises(ValueError, match=match):
        run_toy_ablation(variants, [0], ring(), progress=False, **shared)
    with pytest.raises(ValueError, match="2-D mixture"):
        run_toy_ablation({"a": {}}, [0], Gaussian1D(), progress=False)


def test_tiny_toy_ablation_pairs_the_seeds_and_scores_every_run():
    """The same variant twice on one seed gives the same samples and scores; another learning
    rate changes them; every run is scored on its final samples."""
    rows = run_toy_ablation(
        {"a": {}, "a again": {}, "slow G": {"lr_g": 1e-5}},
        seeds=[0, 1],
        target=ring(),
        steps=20,
        num_snapshot_samples=200,
        progress=False,
    )
    assert [(r.variant, r.seed) for r in rows] == [
        ("a", 0),
        ("a", 1),
        ("a again", 0),
        ("a again", 1),
        ("slow G", 0),
        ("slow G", 1),
    ]
    assert torch.equal(rows[0].samples, rows[2].samples)
    assert (rows[0].modes, rows[0].precision, rows[0].recall) == (
        rows[2].modes,
        rows[2].precision,
        rows[2].recall,
    )
    assert not torch.equal(rows[0].samples, rows[1].samples)  # another seed, another start
    assert not torch.equal(rows[0].samples, rows[4].samples)
    assert all(r.samples.shape == (200, 2) and 0 <= r.modes <= 8 for r in rows)
    assert all(0 <= r.precision <= 1 and 0 <= r.recall <= 1 for r in rows)
    assert "| slow G | 2 |" in toy_ablation_table(rows)


def test_a_toy_variant_can_give_d_minibatch_std_and_the_figure_shows_each_variant():
    from gancourse.book.toy_plots import variants_figure
    from gancourse.models.layers import MinibatchStd

    rows = run_toy_ablation(
        {"plain": {}, "mbstd": {"minibatch_std": True}},
        seeds=[0],
        target=ring(),
        steps=10,
        num_snapshot_samples=100,
        progress=False,
    )
    assert not any(isinstance(m, MinibatchStd) for m in rows[0].run.D.modules())
    assert any(isinstance(m, MinibatchStd) for m in rows[1].run.D.modules())
    fig = variants_figure(rows, ring())
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 2 and titles[1].startswith("mbstd\n")
    with pytest.raises(ValueError, match="no rows for seed 5"):
        variants_figure(rows, ring(), seed=5)


def test_toy_variant_stats_is_the_mean_and_spread_of_one_variant():
    from gancourse.book.ablation import toy_variant_stats

    rows = [_toy_row("a", 0, 8, 0.8, 0.6), _toy_row("a", 1, 6, 0.6, 0.2), _toy_row("b", 0, 1, 0, 0)]
    stats = toy_variant_stats(rows, "a")
    assert stats["modes"] == pytest.approx((7.0, math.sqrt(2)))
    assert stats["recall"] == pytest.approx((0.4, math.sqrt(0.08)))
    with pytest.raises(ValueError, match="no rows for 'c'"):
        toy_variant_stats(rows, "c")


def test_compare_variants_pairs_seeds_and_leaves_out_runs_that_did_not_learn():
    from gancourse.judgement import NOT_LEARNED, Judgement

    rows = [_toy_row("base", s, 2, 0.7, 0.20 + 0.01 * s) for s in range(5)]
    rows += [_toy_row("fix", s, 8, 0.7, 0.60 + 0.02 * s) for s in range(5)]
    rows += [_toy_row("scatter", s, 8, 0.4, 0.99) for s in range(5)]
    for row in rows[10:]:
        row.judgement = Judgement(NOT_LEARNED, "not on the data")
    fix, scatter = compare_variants(rows, "recall", label="recall")
    assert fix.names == ("fix", "base") and fix.paired and fix.winner == "fix"
    assert scatter.n == (0, 0) and scatter.left_out == (5, 5) and scatter.winner is None
    values, learned = variant_groups(rows, "recall")
    assert values["fix"][4] == pytest.approx(0.68) and learned["scatter"][0] is False
    with pytest.raises(ValueError, match="metric: expected a field"):
        variant_groups(rows, "fid")
