"""Tests of gancourse.ablation: input checks, the summary maths, and one tiny real ablation."""

from __future__ import annotations

import math

import pytest
import torch

from gancourse.ablation import AblationRow, ablation_table, run_ablation, summarise


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
    assert "| trick | 1 | 5.00 | -7.00 |" in lines[3]
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
