"""bf16 or float32: the hardware question, the measurement, its cache, and resume."""

from __future__ import annotations

import time

import pytest
import torch

import gancourse as gc
from gancourse import precision
from gancourse.precision import IterationProbe, choose_precision
from gancourse.training import TrainConfig

CPU = torch.device("cpu")


class FakeIteration:
    """An iteration whose float32 and bf16 versions take chosen times."""

    def __init__(self, fp32_s: float, bf16_s: float, key: str = "fake") -> None:
        self.seconds = {None: fp32_s, torch.bfloat16: bf16_s}
        self.key = key
        self.calls = 0

    def __call__(self, dtype):
        self.calls += 1
        time.sleep(self.seconds[dtype])


@pytest.fixture(autouse=True)
def native_bf16(monkeypatch):
    """Each test starts with an empty cache on a CPU that claims native bf16."""
    monkeypatch.setattr(precision, "_CHOICES", {})
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)


def test_measured_faster_bf16_is_chosen_and_cached():
    fast = FakeIteration(0.03, 0.01)
    choice = choose_precision(None, CPU, fast, steps=1000)
    assert choice.dtype is torch.bfloat16 and "faster" in choice.reason
    assert choice.float32_ms > 2 * choice.bfloat16_ms
    assert fast.calls == 2 * (precision.REPEATS + 1)
    again = FakeIteration(0.01, 0.03)  # same key: the cached answer, no new measurement
    assert choose_precision(None, CPU, again, steps=1000) is choice and again.calls == 0


def test_slower_or_equal_bf16_keeps_float32():
    assert choose_precision(None, CPU, FakeIteration(0.01, 0.03, "a"), 1000).dtype is None
    even = choose_precision(None, CPU, FakeIteration(0.02, 0.02, "b"), 1000)
    assert even.dtype is None and "speed of float32" in even.reason  # gain below MIN_GAIN


def test_without_native_bf16_nothing_is_measured(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    probe = FakeIteration(1.0, 0.0)
    choice = choose_precision(None, CPU, probe, steps=1000)
    assert choice.dtype is None and "no native bf16" in choice.reason and probe.calls == 0


def test_short_runs_and_explicit_settings_are_not_measured():
    probe = FakeIteration(1.0, 0.0)
    assert choose_precision(None, CPU, probe, steps=precision.MIN_STEPS - 1).dtype is None
    assert choose_precision(False, CPU, probe, steps=1000).dtype is None
    assert choose_precision(True, CPU, probe, steps=1000).dtype is torch.bfloat16
    assert probe.calls == 0


def test_the_probe_leaves_the_run_untouched(mnist_digits):
    """Measuring trains private copies: the run's weights, optimiser state and RNG are as
    they were, so a run that measures is the run that would have happened without it."""
    G, D = gc.build_pair("vanilla")
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    before = [t.clone() for t in [*G.state_dict().values(), *D.state_dict().values()]]
    probe = IterationProbe(G, D, opt_g, opt_d, mnist_digits[:16], torch.randn(16, 100))
    rng = torch.get_rng_state()
    choose_precision(None, CPU, probe, steps=1000)
    after = [*G.state_dict().values(), *D.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(before, after, strict=True))
    assert not opt_g.state and not opt_d.state
    assert torch.equal(torch.get_rng_state(), rng)
    assert probe.G is not G and any(p.grad is not None for p in probe.G.parameters())


def test_train_reports_and_resumes_in_the_measured_format(tmp_path, mnist_digits, monkeypatch):
    """A run records the format it chose; resuming it continues in that format even where a
    fresh measurement would now choose the other one."""
    monkeypatch.setattr(precision, "MIN_STEPS", 1)
    monkeypatch.setattr(precision, "_measure", lambda it: precision.Precision(torch.bfloat16, "x"))
    config = TrainConfig(num_epochs=1, batch_size=32, progress=False, out_dir=str(tmp_path))
    G, D = gc.build_pair("vanilla")
    first = gc.train(G, D, mnist_digits[:128], config)
    assert first.precision.dtype is torch.bfloat16
    assert gc.load_checkpoint(tmp_path / "checkpoint.pt")["amp_dtype"] == "bfloat16"

    monkeypatch.setattr(precision, "_CHOICES", {})
    monkeypatch.setattr(precision, "_measure", lambda it: precision.Precision(None, "y"))
    resumed = gc.train(G, D, mnist_digits[:128], config, num_epochs=2, resume=True)
    assert resumed.precision.dtype is torch.bfloat16 and len(resumed.history) == 8
