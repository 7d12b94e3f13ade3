"""Experiment records: every stored record matches the experiment that would make it."""

from __future__ import annotations

import dataclasses

import pytest

from gancourse.book.experiments import EXPERIMENTS
from gancourse.book.records import AblationExperiment, StaleRecordError, load_record, save_record


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_has_a_record_made_from_its_current_specification(name):
    """A changed seed, variant, setting or TrainConfig default makes the record stale: rerun
    `python scripts/run_experiment.py NAME` and commit the new record."""
    experiment = EXPERIMENTS[name]
    record = load_record(name, experiment=experiment)
    assert len(record.rows) == len(experiment.variants) * len(experiment.seeds)
    assert {r.variant for r in record.rows} == set(experiment.variants)
    assert all(r.judgement is not None and r.judgement.reason for r in record.rows)
    for key in ("command", "commit", "date", "machine", "torch", "seconds"):
        assert record.provenance.get(key), f"{name}: provenance lacks {key}"


def test_a_record_round_trips_and_a_changed_specification_is_refused(tmp_path):
    tiny = AblationExperiment(
        name="tiny",
        chapter="none",
        model="vanilla",
        variants={"baseline": {}, "smoothing": {"label_smoothing": 0.1}},
        seeds=(0, 1),
        shared={"num_epochs": 1, "max_steps": 2, "batch_size": 32, "num_samples": 16},
        data={"name": "mnist", "limit": 128, "value_range": "tanh"},
        num_fid_samples=100,
    )
    rows = tiny.run(progress=False)
    path = save_record(tiny, rows, seconds=1.0, command="pytest", directory=tmp_path)
    assert path.stat().st_size < 50_000  # small enough to commit
    record = load_record("tiny", experiment=tiny, directory=tmp_path)
    assert [(r.variant, r.seed) for r in record.rows] == [(r.variant, r.seed) for r in rows]
    assert [r.fid for r in record.rows] == [pytest.approx(r.fid, abs=1e-3) for r in rows]
    assert [r.judgement.verdict for r in record.rows] == [r.judgement.verdict for r in rows]
    for stored, live in zip(record.rows, rows, strict=True):
        if live.seed == 0:  # the first seed's samples are kept, to 8 bits
            assert stored.samples.shape == live.samples[:16].shape
            assert (stored.samples - live.samples[:16].clamp(-1, 1)).abs().max() < 1 / 127
        else:
            assert stored.samples is None
    assert "not run during this build" in record.label()

    for change in ({"seeds": (0, 1, 2)}, {"shared": {**tiny.shared, "max_steps": 3}}):
        changed = dataclasses.replace(tiny, **change)
        with pytest.raises(StaleRecordError, match="stale"):
            load_record("tiny", experiment=changed, directory=tmp_path)
    with pytest.raises(FileNotFoundError, match="run_experiment.py nope"):
        load_record("nope", directory=tmp_path)
