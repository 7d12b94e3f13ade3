"""Which number format a training run computes in: bf16 autocast where it is faster.

On CUDA, bf16 autocast is a clear win wherever the GPU supports it. On a CPU it depends on the
chip: with native bf16 (AVX-512 BF16 or AMX, through oneDNN) a DCGAN step runs about 1.6x
faster in bf16, while without it bf16 is emulated and the same step is about 20x *slower*
(both measured; see bench/README.md). Whether it pays also depends on the model and batch:
the small vanilla GAN at batch 64 gains nothing. So `amp=None` on a CPU asks the hardware
first and then measures: a few training iterations of this model, at this batch size, in each
format, on copies of G and D. The answer is cached for the process.
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from gancourse.steps import autocast, discriminator_step, generator_step

REPEATS = 3  # timed iterations per format, after one untimed one
MIN_GAIN = 1.1  # bf16 must be at least this much faster to be chosen (timing noise)
MIN_STEPS = 50  # shorter runs stay in float32: the 8 measured iterations would not pay


@dataclass(frozen=True)
class Precision:
    """The format chosen for a run, and why (shown by `train` and stored in checkpoints)."""

    dtype: torch.dtype | None  # torch.bfloat16 for bf16 autocast, None for float32
    reason: str
    float32_ms: float | None = None  # measured milliseconds per iteration, when measured
    bfloat16_ms: float | None = None

    @property
    def name(self) -> str:
        return "bfloat16 autocast" if self.dtype is not None else "float32"

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


_CHOICES: dict[tuple, Precision] = {}


def cpu_has_native_bf16() -> bool:
    """True where oneDNN runs bf16 natively on this CPU (AVX-512 BF16, AMX or similar)."""
    try:
        return bool(torch.backends.mkldnn.is_available()) and bool(
            torch.ops.mkldnn._is_mkldnn_bf16_supported()
        )
    except (AttributeError, RuntimeError):  # a build without oneDNN or without the query
        return False


def choose_precision(
    amp: bool | None,
    device: torch.device,
    iteration: IterationProbe | None = None,
    steps: int | None = None,
) -> Precision:
    """The format for a run of `steps` iterations on `device`; `amp` is TrainConfig.amp (None:
    decide here). `iteration` runs one training iteration of the run's models in a given
    format; it is needed only for `amp=None` on a CPU with native bf16 (the measurement)."""
    if amp is False:
        return Precision(None, "amp=False")
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return Precision(torch.bfloat16, "amp=True" if amp else "CUDA with bf16 support")
        return Precision(None, "this GPU has no bf16 support")
    if device.type != "cpu":
        return Precision(None, f"no bf16 autocast on {device.type}")
    if amp is True:
        return Precision(torch.bfloat16, "amp=True")
    if not cpu_has_native_bf16():
        return Precision(None, "this CPU has no native bf16, where bf16 is emulated and slow")
    if iteration is None:
        return Precision(None, "not measured")
    if steps is not None and steps < MIN_STEPS:
        return Precision(None, f"a run of {steps} steps is too short to measure bf16")
    key = (iteration.key, torch.get_num_threads())
    if key not in _CHOICES:
        _CHOICES[key] = _measure(iteration)
    return _CHOICES[key]


def _measure(iteration: IterationProbe) -> Precision:
    times: dict[torch.dtype | None, list[float]] = {None: [], torch.bfloat16: []}
    with torch.random.fork_rng():  # the run's own random numbers stay untouched
        for dtype in times:
            iteration(dtype)  # untimed: allocations, oneDNN's kernel choices
        for _ in range(REPEATS):
            for dtype in times:  # alternated, so a disturbance hits both formats alike
                start = time.perf_counter()
                iteration(dtype)
                times[dtype].append(time.perf_counter() - start)
    fp32 = 1000 * statistics.median(times[None])
    bf16 = 1000 * statistics.median(times[torch.bfloat16])
    speed = fp32 / bf16
    if speed >= MIN_GAIN:
        reason = f"measured {speed:.1f}x faster than float32 on this CPU for this model"
        return Precision(torch.bfloat16, reason, fp32, bf16)
    reason = f"bf16 measured {speed:.2f}x the speed of float32 on this CPU for this model"
    return Precision(None, reason, fp32, bf16)


class IterationProbe:
    """One training iteration (G forward, D's update, G's update) on private copies of G, D
    and their optimisers, in a chosen format; the run's own models are not touched."""

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        X: torch.Tensor,
        Z: torch.Tensor,
        labels: torch.Tensor | None = None,
        objective: dict | None = None,
    ) -> None:
        self.nets, self.optimizers = (G, D), (opt_g, opt_d)
        self.X, self.Z, self.labels = X, Z, labels
        self.objective = objective or {}  # the run's loss and penalties (they change the cost)
        shapes = tuple(
            tuple(p.shape) for net in (G, D) for p in net.state_dict().values() if p.dim()
        )
        self.key = (
            type(G).__qualname__,
            type(D).__qualname__,
            shapes,
            tuple(X.shape),
            tuple(sorted(self.objective.items())),
        )
        self.G: nn.Module | None = None  # the copies, made on the first call

    def __call__(self, dtype: torch.dtype | None) -> None:
        if self.G is None:  # copied only when a measurement is actually taken
            self.G, self.D = (copy.deepcopy(net) for net in self.nets)
            self.opt_g = _copy_optimizer(self.optimizers[0], self.G)
            self.opt_d = _copy_optimizer(self.optimizers[1], self.D)
        with autocast(self.X.device, dtype):
            fake = self.G(self.Z) if self.labels is None else self.G(self.Z, self.labels)
        options = dict(amp_dtype=dtype, labels=self.labels)
        discriminator_step(self.D, self.opt_d, self.X, fake, **options, **self.objective)
        loss = self.objective.get("loss", "gan")
        generator_step(self.D, self.opt_g, fake, **options, loss=loss)


def _copy_optimizer(opt: torch.optim.Optimizer, net: nn.Module) -> torch.optim.Optimizer:
    """A fresh optimiser of `opt`'s kind and settings over `net`'s parameters."""
    defaults = {k: v for k, v in opt.defaults.items() if k != "differentiable"}
    return type(opt)(net.parameters(), **defaults)
