"""Training a GAN: Algorithm 1 of Goodfellow et al. (2014), built from two small steps.

    for each training iteration:
        for k steps:  update D by ascending  mean[log D(x) + log(1 - D(G(z)))]
        update G by descending mean[log(1 - D(G(z)))]   (or ascending mean[log D(G(z))])

`discriminator_step` and `generator_step` (in `gancourse.steps`) are the two updates; `train` runs
them in a loop (`TrainingLoop`, one method per phase) with everything a real run needs: the
device picked once, the data set kept as one tensor on the device, fixed noise for comparable
sample grids, a progress bar, a per-step history, checkpoints that resume bit-for-bit on the
CPU, and a clear stop when a loss diverges.

Run it from Python::

    G, D = gancourse.build_pair("dcgan32")
    data = gancourse.load_images("mnist", image_size=32, value_range=G.output_range)
    result = gancourse.train(G, D, data, TrainConfig.for_model("dcgan32", num_epochs=5))

or from the shell: ``python -m gancourse train --model dcgan32 --data mnist --epochs 5``.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gancourse.checkpoint import load_checkpoint, save_checkpoint
from gancourse.checks import check_choice, describe
from gancourse.device import pick_device
from gancourse.history import History
from gancourse.latent import generate_images
from gancourse.losses import GENERATOR_LOSSES
from gancourse.models.base import OUTPUT_RANGES
from gancourse.models.conditional import check_labels, is_conditional
from gancourse.objectives import (
    GP_WEIGHT,
    LOSSES,
    is_spectrally_normalised,
    sample_mixing_layer,
    spectral_normalise,
)
from gancourse.precision import IterationProbe, Precision, choose_precision
from gancourse.steps import autocast, discriminator_step, generator_step
from gancourse.tricks import NOISE_SCHEDULES, discriminator_targets
from gancourse.tricks import instance_noise_std as noise_std_at

OPTIMIZERS = ("adam", "rmsprop", "sgd")
_ROW = (*History.STATS, "fake_finite")  # what each step records on the device
CHECKPOINT_SAMPLES = 8  # epochs of sample grids kept in a checkpoint (all are written as PNGs)
LATENT_DISTS = ("normal", "uniform")


@dataclass
class TrainConfig:
    """Everything that defines a training run. `TrainConfig.for_model(name)` gives the slides'
    settings for a registry model; any field can be overridden."""

    num_epochs: int = 5  # passes over the real data (counted in D's minibatches)
    batch_size: int = 64  # m in Algorithm 1: real images (and fakes) per D step
    k: int = 1  # discriminator steps per generator step (Algorithm 1's k)
    optimizer: str = "adam"  # 'adam', 'rmsprop' or 'sgd' (with momentum), for both networks
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate (TTUR: make it larger than lr_g)
    betas: tuple[float, float] = (0.5, 0.999)  # Adam's betas; beta1=0.5 as in Radford et al.
    momentum: float = 0.9  # SGD momentum
    generator_loss: str = "non-saturating"  # or 'saturating' (the minimax form; loss='gan')
    loss: str = "gan"  # 'gan', 'lsgan', 'hinge', 'wgan', 'wgan-gp' (gancourse.objectives)
    gp_weight: float = GP_WEIGHT  # WGAN-GP's lambda (loss='wgan-gp' only)
    clip_value: float = 0.01  # WGAN's weight clipping to [-c, c] (loss='wgan' only)
    r1_gamma: float = 0.0  # R1 penalty gamma/2 E||grad D(x)||^2 on real data; 0: off
    spectral_norm: bool = False  # spectral normalisation of D's layers (applied by train)
    latent_dist: str = "normal"  # noise prior p(z): 'normal' N(0, I) or 'uniform' U(-1, 1)
    label_smoothing: float = 0.0  # one-sided: real labels become 1 - label_smoothing
    noisy_labels: bool = False  # real ~ U(0.7, 1.2), fake ~ U(0.0, 0.3)
    label_flip_prob: float = 0.0  # chance of swapping a real/fake label in D's step
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs at the start
    instance_noise_schedule: str = "linear"  # how that std decays: linear to 0, exponential
    max_steps: int | None = None  # stop after this many generator steps (smoke runs)
    seed: int = 0  # seeds noise, shuffling and dropout for this run
    device: str | None = None  # None: CUDA, then Apple MPS, then CPU
    amp: bool | None = None  # bf16 autocast; None: on CUDA with bf16, measured on CPUs
    channels_last: bool | None = None  # NHWC memory layout for conv nets; None: on CUDA
    num_samples: int = 64  # images in the fixed-noise sample grid
    log_every: int = 10  # generator steps between progress updates (and NaN checks)
    checkpoint_every: int | None = None  # also checkpoint every N steps (epoch ends always)
    out_dir: str | None = None  # samples, curves, history and checkpoint go here
    progress: bool = True  # show a progress bar (terminal or notebook)

    def __post_init__(self) -> None:
        for name in ("num_epochs", "batch_size", "k", "num_samples", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"TrainConfig.{name}: expected an integer >= 1, received {value!r}"
                )
        for name in ("max_steps", "checkpoint_every"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(
                    f"TrainConfig.{name}: expected None or an integer >= 1, received {value!r}"
                )
        for name in ("lr_g", "lr_d"):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"TrainConfig.{name}: expected a positive learning rate, "
                    f"received {getattr(self, name)!r}"
                )
        check_choice(self.optimizer, OPTIMIZERS, "TrainConfig.optimizer")
        check_choice(self.generator_loss, GENERATOR_LOSSES, "TrainConfig.generator_loss")
        check_choice(self.loss, LOSSES, "TrainConfig.loss")
        for name in ("gp_weight", "clip_value"):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"TrainConfig.{name}: expected a positive number, received "
                    f"{getattr(self, name)!r}"
                )
        if not self.r1_gamma >= 0:
            raise ValueError(f"TrainConfig.r1_gamma: expected >= 0, received {self.r1_gamma!r}")
        tricks = self.label_smoothing or self.noisy_labels or self.label_flip_prob
        if self.loss != "gan" and tricks:
            raise ValueError(
                f"TrainConfig: label smoothing, noisy labels and label flips change BCE's "
                f"labels and exist for loss='gan' only, received loss={self.loss!r}"
            )
        check_choice(self.latent_dist, LATENT_DISTS, "TrainConfig.latent_dist")
        check_choice(
            self.instance_noise_schedule, NOISE_SCHEDULES, "TrainConfig.instance_noise_schedule"
        )
        self.betas = tuple(self.betas)

    @classmethod
    def for_model(cls, name: str, **overrides: Any) -> TrainConfig:
        """The slides' optimizer, learning rates and noise prior for registry model `name`."""
        from gancourse.models import get_spec

        spec = get_spec(name)
        defaults = dict(
            optimizer=spec.optimizer,
            lr_g=spec.lr_g,
            lr_d=spec.lr_d,
            betas=spec.betas,
            latent_dist=spec.latent_dist,
        )
        return cls(**{**defaults, **overrides})


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message names the network and the step."""


@dataclass
class TrainResult:
    """What `train` returns: the history, the fixed noise and the sample grid of each epoch."""

    history: History
    fixed_noise: torch.Tensor  # (num_samples, latent_dim), on the CPU
    samples: dict[int, torch.Tensor] = field(default_factory=dict)  # epoch -> images (CPU)
    config: TrainConfig | None = None
    out_dir: Path | None = None
    precision: Precision | None = None  # the number format it ran in, and why


# --------------------------------------------------------------------------- helpers


def make_optimizer(
    params: Iterator[nn.Parameter] | list[nn.Parameter],
    name: str,
    lr: float,
    betas: tuple[float, float] = (0.5, 0.999),
    momentum: float = 0.9,
) -> torch.optim.Optimizer:
    """Adam (Radford et al.'s betas), RMSprop (the Keras slides) or SGD with momentum
    (Goodfellow et al.). Adam and SGD use PyTorch's fused kernels where the parameters' device
    has them (CPU and CUDA): the same update, one kernel instead of one per tensor (measured
    15-20% faster per vanilla-GAN step on a 2-core CPU)."""
    check_choice(name, OPTIMIZERS, "optimizer")
    params = list(params)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    fused = bool(params) and params[0].device.type in ("cpu", "cuda")
    kwargs = {"lr": lr, "betas": betas} if name == "adam" else {"lr": lr, "momentum": momentum}
    cls = torch.optim.Adam if name == "adam" else torch.optim.SGD
    if fused:
        try:
            return cls(params, fused=True, **kwargs)
        except (RuntimeError, TypeError, ValueError):  # an older torch without fused kernels
            pass
    return cls(params, **kwargs)


def sample_noise(
    n: int,
    latent_dim: int,
    dist: str = "normal",
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """n latent vectors z ~ p(z), N(0, I) ('normal') or U(-1, 1) ('uniform'): (n, latent_dim)."""
    check_choice(dist, LATENT_DISTS, "latent distribution")
    if dist == "normal":
        return torch.randn(n, latent_dim, device=device, generator=generator)
    return torch.rand(n, latent_dim, device=device, generator=generator) * 2 - 1


# --------------------------------------------------------------------------- the loop


def train(
    G: nn.Module,
    D: nn.Module,
    data: Any,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    on_epoch_end: Callable[[int, torch.Tensor, History], None] | None = None,
    **overrides: Any,
) -> TrainResult:
    """Train G and D on `data` with Algorithm 1 and return the history and sample grids.

    `data` is an `ImageSet` (from `gancourse.load_images`), a tensor of images (N, C, H, W),
    float in G's output range or uint8 in 0..255, or a torch Dataset of images (read once into
    a tensor). Conditional models (`gancourse.models.ConditionalGenerator`) need labelled data:
    an `ImageSet` with labels or an `(images, labels)` pair; each step's fakes are drawn for the
    labels of its real minibatch. `config` fields can be overridden by keyword
    (`train(G, D, data, num_epochs=1)`).
    With `resume=True` the run continues from `<out_dir>/checkpoint.pt`. `on_epoch_end(epoch,
    samples, history)` is called after each epoch (e.g. to show the sample grid in a notebook).
    """
    loop = TrainingLoop(G, D, data, replace(config or TrainConfig(), **overrides), on_epoch_end)
    if resume:
        loop.resume()
    return loop.run()


class TrainingLoop:
    """One training run, phase by phase: prepare (the constructor), `resume`, `run`, which
    repeats `step` (one iteration of Algorithm 1) and `end_epoch`, and `checkpoint`.

    `train` is the way to use it; the class exists so that each phase reads on its own.
    """

    def __init__(
        self,
        G: nn.Module,
        D: nn.Module,
        data: Any,
        config: TrainConfig,
        on_epoch_end: Callable[[int, torch.Tensor, History], None] | None = None,
    ) -> None:
        """Prepare: the device, the data as one tensor, the optimisers, the RNGs, fixed noise."""
        self.G, self.D, self.config, self.on_epoch_end = G, D, config, on_epoch_end
        self.device = device = pick_device(config.device)
        self.channels_last = (
            config.channels_last if config.channels_last is not None else device.type == "cuda"
        )
        _check_models(G, D)
        self.objective = objective_settings(config, D)
        if config.spectral_norm and not is_spectrally_normalised(D):
            spectral_normalise(D)  # before the optimiser is built: it changes D's parameters
        labels = _prepare_labels(data, G, D)  # None unless the models are conditional
        if labels is not None and isinstance(data, tuple):
            data = data[0]
        self.images = _prepare_data(data, G, D, config, device)
        self.n = n = self.images.shape[0]
        if labels is not None:
            if len(labels) != n:
                raise ValueError(
                    f"labels: expected one label per image ({n}), received {len(labels)}"
                )
            labels = labels.to(self.images.device)
        self.labels = labels
        self.per_iteration = config.batch_size * config.k
        self.total_steps = config.num_epochs * (n // self.per_iteration)
        if config.max_steps is not None:  # the run ends there: the bar and noise decay end there
            self.total_steps = min(self.total_steps, config.max_steps)
        self.out_dir = Path(config.out_dir) if config.out_dir else None

        G.to(device)
        D.to(device)
        if self.channels_last:
            G.to(memory_format=torch.channels_last)
            D.to(memory_format=torch.channels_last)
        self.opt_g = make_optimizer(
            G.parameters(), config.optimizer, config.lr_g, config.betas, config.momentum
        )
        self.opt_d = make_optimizer(
            D.parameters(), config.optimizer, config.lr_d, config.betas, config.momentum
        )
        self.data_rng = torch.Generator().manual_seed(config.seed)
        self.noise_rng = torch.Generator(device=device).manual_seed(config.seed + 1)
        torch.manual_seed(config.seed)
        self.fixed_noise = sample_noise(
            config.num_samples, G.latent_dim, config.latent_dist, device, self.noise_rng
        )
        self.precision = self._choose_precision()
        self.amp_dtype = self.precision.dtype
        self.state = _RunState(history=History())
        self.label_tricks = dict(
            smoothing=config.label_smoothing,
            noisy=config.noisy_labels,
            flip_prob=config.label_flip_prob,
            device=device,
            generator=self.noise_rng,
        )
        self.buffer: list[torch.Tensor] = []  # per-step stats still on the device
        self.progress = None

    def _choose_precision(self) -> Precision:
        """bf16 autocast or float32 (`gancourse.precision`: measured on CPUs with native bf16)."""
        config, B = self.config, self.config.batch_size
        probe = None
        if self.n >= B:
            gen = torch.Generator(device=self.device).manual_seed(0)
            X = _to_model_range(
                self.images[:B], self.G.output_range, self.device, self.channels_last
            )
            Z = sample_noise(B, self.G.latent_dim, config.latent_dist, self.device, gen)
            y = None if self.labels is None else self.labels[:B].to(self.device)
            probe = IterationProbe(self.G, self.D, self.opt_g, self.opt_d, X, Z, y, self.objective)
        precision = choose_precision(config.amp, self.device, probe, self.total_steps)
        if config.amp and precision.dtype is None:
            warnings.warn(f"amp=True but training in float32: {precision.reason}", stacklevel=4)
        return precision

    def resume(self) -> None:
        """Continue from `<out_dir>/checkpoint.pt`: weights, optimisers, RNGs, position, history."""
        if self.out_dir is None:
            raise ValueError("resume=True needs out_dir: the checkpoint is <out_dir>/checkpoint.pt")
        ckpt = load_checkpoint(self.out_dir / "checkpoint.pt")
        _check_resumable(ckpt, self.config, self.n)
        self.G.load_state_dict(ckpt["G"])
        self.D.load_state_dict(ckpt["D"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        self.data_rng.set_state(ckpt["data_rng"])
        self.noise_rng.set_state(ckpt["noise_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        if self.config.amp is None and "amp_dtype" in ckpt:  # continue in the run's format
            dtype = getattr(torch, ckpt["amp_dtype"]) if ckpt["amp_dtype"] else None
            if dtype != self.amp_dtype:
                self.precision = Precision(dtype, "the format the checkpointed run used")
                self.amp_dtype = dtype
        if self.device.type == "cuda" and ckpt.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(ckpt["cuda_rng"])
        self.fixed_noise = ckpt["fixed_noise"].to(self.device)
        self.state = _RunState(
            history=History.from_dict(ckpt["history"]),
            step=ckpt["step"],
            epoch=ckpt["epoch"],
            position=ckpt["position"],
            perm=ckpt["perm"],
            samples=ckpt.get("samples", {}),
        )

    def run(self) -> TrainResult:
        """Epochs of steps until num_epochs (or max_steps) is reached."""
        config, state = self.config, self.state
        result = TrainResult(
            state.history,
            self.fixed_noise.cpu(),
            state.samples,
            config,
            self.out_dir,
            self.precision,
        )
        if self.out_dir is not None:
            (self.out_dir / "samples").mkdir(parents=True, exist_ok=True)
        self.G.train()
        self.D.train()
        self.progress = _progress_bar(self.total_steps, state.step, config.progress)
        try:
            while state.epoch < config.num_epochs:
                if state.perm is None:
                    state.perm = torch.randperm(self.n, generator=self.data_rng)
                    state.position = 0
                perm = state.perm.to(self.images.device)
                while state.position + self.per_iteration <= self.n:
                    if config.max_steps is not None and state.step >= config.max_steps:
                        self.checkpoint()
                        return result
                    self.step(perm)
                self.end_epoch()
        finally:
            self.progress.close()
        return result

    def step(self, perm: torch.Tensor) -> None:
        """One iteration of Algorithm 1: k discriminator steps, then one generator step."""
        config, state, B = self.config, self.state, self.config.batch_size
        std = noise_std_at(
            state.step, self.total_steps, config.instance_noise, config.instance_noise_schedule
        )
        for i in range(config.k):
            idx = perm[state.position : state.position + B]
            state.position += B
            X = _to_model_range(
                self.images[idx], self.G.output_range, self.device, self.channels_last
            )
            Z = sample_noise(B, self.G.latent_dim, config.latent_dist, self.device, self.noise_rng)
            y = None if self.labels is None else self.labels[idx].to(self.device)
            last = i == config.k - 1
            # The last D step's fakes keep G's graph and are reused for G's step
            # (as in the PyTorch DCGAN example): one G forward per iteration saved.
            with contextlib.nullcontext() if last else torch.no_grad():
                with autocast(self.device, self.amp_dtype):
                    fake = self.G(Z) if y is None else self.G(Z, y)
            d_stats = discriminator_step(
                self.D,
                self.opt_d,
                X,
                fake,
                real_target=discriminator_targets(B, True, **self.label_tricks),
                fake_target=discriminator_targets(B, False, **self.label_tricks),
                noise_std=std,
                generator=self.noise_rng,
                amp_dtype=self.amp_dtype,
                labels=y,
                **self.objective,
            )
        g_stats = generator_step(
            self.D,
            self.opt_g,
            fake,
            form=config.generator_loss,
            noise_std=std,
            generator=self.noise_rng,
            amp_dtype=self.amp_dtype,
            labels=y,
            loss=config.loss,
        )
        stats = {**d_stats, **g_stats}
        # one row per step: the history's stats, then whether G's images were finite
        stats["fake_finite"] = torch.isfinite(fake.detach()).all()
        self.buffer.append(torch.stack([stats[name].float().to(self.device) for name in _ROW]))
        state.step += 1
        self.progress.update(1)
        if state.step % config.log_every == 0:
            self.flush()
        if config.checkpoint_every and state.step % config.checkpoint_every == 0:
            self.checkpoint()

    def end_epoch(self) -> None:
        """Samples from the fixed noise, the epoch's files, a checkpoint, the callback."""
        self.flush()
        state = self.state
        state.epoch += 1
        state.perm = None
        samples = generate_images(self.G, self.fixed_noise)  # eval mode, on the CPU
        state.samples[state.epoch] = samples
        if self.out_dir is not None:
            _write_epoch_files(
                self.out_dir, state.epoch, samples, state.history, self.G.output_range
            )
        self.checkpoint()
        if self.on_epoch_end is not None:
            self.on_epoch_end(state.epoch, samples, state.history)

    def flush(self) -> None:
        """Move buffered stats to the history (one device sync) and stop on NaN/inf."""
        if not self.buffer:
            return
        state = self.state
        rows = torch.stack(self.buffer).cpu().tolist()
        first = state.step - len(rows) + 1
        for i, row in enumerate(rows):
            stats = dict(zip(_ROW, row, strict=True))
            finite = (stats["fake_finite"] or math.nan, stats["loss_d"], stats["loss_g"])
            if not all(map(math.isfinite, finite)):
                self.progress.close()
                raise TrainingDiverged(_divergence_message(stats, first + i, self.config))
            state.history.append(first + i, state.epoch, stats)
        self.buffer.clear()
        history = state.history
        self.progress.set_postfix(
            loss_d=f"{history.last('loss_d', 10):.3f}",
            loss_g=f"{history.last('loss_g', 10):.3f}",
            D_x=f"{history.last('d_real', 10):.2f}",
            D_G_z=f"{history.last('d_fake', 10):.2f}",
            refresh=False,
        )

    def checkpoint(self) -> None:
        """Everything `resume` needs, in `<out_dir>/checkpoint.pt` (nothing without out_dir)."""
        self.flush()
        if self.out_dir is None:
            return
        state, device = self.state, self.device
        save_checkpoint(
            self.out_dir / "checkpoint.pt",
            {
                "G": self.G.state_dict(),
                "D": self.D.state_dict(),
                "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(),
                "config": asdict(self.config),
                "num_images": self.n,
                "step": state.step,
                "epoch": state.epoch,
                "position": state.position,
                "perm": state.perm,
                "data_rng": self.data_rng.get_state(),
                "noise_rng": self.noise_rng.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None,
                "fixed_noise": self.fixed_noise.cpu(),
                "history": state.history.to_dict(),
                # the last few epochs' grids only: a long run's would bloat every checkpoint
                "samples": {
                    e: state.samples[e] for e in sorted(state.samples)[-CHECKPOINT_SAMPLES:]
                },
                "model": _registry_name(self.G),
                "amp_dtype": str(self.amp_dtype).removeprefix("torch.") if self.amp_dtype else None,
                "latent_dim": self.G.latent_dim,
            },
        )


@dataclass
class _RunState:
    history: History
    step: int = 0  # generator steps done
    epoch: int = 0  # epochs completed
    position: int = 0  # real images consumed in the current epoch
    perm: torch.Tensor | None = None  # the current epoch's shuffling
    samples: dict[int, torch.Tensor] = field(default_factory=dict)


def objective_settings(config: TrainConfig, D: nn.Module) -> dict[str, Any]:
    """The critic loss and its penalties as `discriminator_step` takes them, after checking
    that D can be trained with them."""
    if config.loss != "gan" and D.outputs != "logits":
        raise ValueError(
            f"loss={config.loss!r} needs D's raw scores: build D with outputs='logits', "
            f"received a D with outputs={D.outputs!r}"
        )
    penalised = config.loss == "wgan-gp" or config.r1_gamma > 0
    mixing = sample_mixing_layer(D) if penalised else None
    if mixing:
        raise ValueError(
            f"{'the gradient penalty' if config.loss == 'wgan-gp' else 'the R1 penalty'} is "
            f"computed per sample, and {mixing} mixes the samples of a batch: use a D without "
            f"{mixing} (received {type(D).__name__}, which has it)"
        )
    return {
        "loss": config.loss,
        "gp_weight": config.gp_weight if config.loss == "wgan-gp" else 0.0,
        "r1_gamma": config.r1_gamma,
        "clip_value": config.clip_value if config.loss == "wgan" else None,
    }


def _check_models(G: nn.Module, D: nn.Module) -> None:
    for attr in ("latent_dim", "image_shape", "output_range"):
        if not hasattr(G, attr):
            raise TypeError(
                f"G: expected a gancourse Generator (with .{attr}), received "
                f"{type(G).__name__}; subclass gancourse.models.Generator"
            )
    for attr in ("outputs", "image_shape"):
        if not hasattr(D, attr):
            raise TypeError(
                f"D: expected a gancourse Discriminator (with .{attr}), received "
                f"{type(D).__name__}; subclass gancourse.models.Discriminator"
            )
    if tuple(G.image_shape) != tuple(D.image_shape):
        raise ValueError(
            f"G makes images of shape {tuple(G.image_shape)} but D expects {tuple(D.image_shape)}"
        )


def _prepare_labels(data: Any, G: nn.Module, D: nn.Module) -> torch.Tensor | None:
    """The class labels of `data` (int64, on the CPU) when G and D are conditional, else None."""
    if not (is_conditional(G) or is_conditional(D)):
        return None
    if not (is_conditional(G) and is_conditional(D)):
        which = "G" if is_conditional(G) else "D"
        raise TypeError(
            f"expected both G and D conditional (or neither), received a conditional {which} "
            f"only: {type(G).__name__} and {type(D).__name__}"
        )
    if G.num_classes != D.num_classes:
        raise ValueError(
            f"G and D: expected the same num_classes, received {G.num_classes} and {D.num_classes}"
        )
    if isinstance(data, tuple) and len(data) == 2:
        labels = data[1]
    else:
        labels = getattr(data, "labels", None)
    if labels is None:
        raise ValueError(
            "conditional models need labelled data: expected an ImageSet with labels or an "
            f"(images, labels) pair, received {describe(data)} without labels"
        )
    labels = torch.as_tensor(labels)
    if labels.dim() != 1:
        raise ValueError(f"labels: expected shape (N,), received {describe(labels)}")
    return check_labels(labels, labels.shape[0], G.num_classes)


def _prepare_data(
    data: Any, G: nn.Module, D: nn.Module, config: TrainConfig, device: torch.device
) -> torch.Tensor:
    """One tensor of all images, on the device when it fits there."""
    lo, hi = OUTPUT_RANGES[G.output_range]
    if hasattr(data, "images") and hasattr(data, "value_range"):  # an ImageSet
        if tuple(data.value_range) != (lo, hi):
            raise ValueError(
                f"data scaled to {tuple(data.value_range)} but G ends in {G.output_range} with "
                f"outputs in {(lo, hi)}; load it with value_range={G.output_range!r}"
            )
        data = data.images
    elif isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor):
        data = _materialise(data, config.progress)
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            f"data: expected an ImageSet, a tensor (N, C, H, W) or a Dataset, "
            f"received {describe(data)}"
        )
    if data.dim() != 4 or tuple(data.shape[1:]) != tuple(G.image_shape):
        raise ValueError(
            f"data: expected images of shape (N, {', '.join(map(str, G.image_shape))})"
            f" for this model, received {describe(data)}"
        )
    if data.dtype == torch.uint8:
        pass  # scaled batch by batch
    elif data.is_floating_point():
        data = data.float()
        mn, mx = data.min().item(), data.max().item()
        if mn < lo - 1e-3 or mx > hi + 1e-3:
            raise ValueError(
                f"data: expected pixel values in [{lo:g}, {hi:g}] to match G's "
                f"{G.output_range} output, received values in [{mn:.3g}, {mx:.3g}]"
            )
    else:
        raise TypeError(f"data: expected float or uint8 images, received {describe(data)}")
    needed = config.batch_size * config.k
    if data.shape[0] < needed:
        raise ValueError(
            f"data: need at least batch_size * k = {needed} images for one "
            f"iteration, received {data.shape[0]}"
        )
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return data.to(device) if data.numel() * data.element_size() < free // 4 else data
    return data.to(device)


def _materialise(dataset: torch.utils.data.Dataset, progress: bool) -> torch.Tensor:
    from gancourse.progress import progress_bar as tqdm

    items = []
    for i in tqdm(range(len(dataset)), desc="reading data set", disable=not progress):
        item = dataset[i]
        items.append(item[0] if isinstance(item, tuple | list) else item)
    return torch.stack(items)


def _to_model_range(
    batch: torch.Tensor, output_range: str, device: torch.device, channels_last: bool
) -> torch.Tensor:
    batch = batch.to(device, non_blocking=True)
    if batch.dtype == torch.uint8:
        lo, hi = OUTPUT_RANGES[output_range]
        batch = batch.float() * ((hi - lo) / 255.0) + lo
    if channels_last:
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch


def _write_epoch_files(
    out_dir: Path, epoch: int, samples: torch.Tensor, history: History, output_range: str
) -> None:
    from gancourse.plots import save_loss_curves, save_sample_grid

    save_sample_grid(
        samples,
        out_dir / "samples" / f"epoch_{epoch:03d}.png",
        value_range=OUTPUT_RANGES[output_range],
    )
    save_loss_curves(history, out_dir / "losses.png")
    history.save(out_dir / "history.json")


def _check_resumable(ckpt: dict[str, Any], config: TrainConfig, n: int) -> None:
    saved = ckpt["config"]
    for name in ("batch_size", "k", "seed", "latent_dist", "loss", "spectral_norm"):
        if saved.get(name, getattr(TrainConfig, name)) != getattr(config, name):
            raise ValueError(
                f"cannot resume: the checkpoint was trained with {name}="
                f"{saved.get(name, getattr(TrainConfig, name))!r}, this run asks for "
                f"{getattr(config, name)!r}"
            )
    if ckpt["num_images"] != n:
        raise ValueError(
            f"cannot resume: the checkpoint was trained on {ckpt['num_images']} "
            f"images, this run has {n}"
        )


def _divergence_message(stats: dict[str, float], step: int, config: TrainConfig) -> str:
    """Name the network where the first non-finite value of the step appeared: G's images
    come first in a step, then D's loss, then G's loss."""
    if not stats["fake_finite"]:
        culprit = "the generator produced non-finite images"
    elif not math.isfinite(stats["loss_d"]):
        culprit = f"the discriminator's loss became {stats['loss_d']}"
    else:
        culprit = f"the generator's loss became {stats['loss_g']}"
    return (
        f"training diverged at step {step}: {culprit}. Try lower learning rates "
        f"(lr_g={config.lr_g:g}, lr_d={config.lr_d:g}) or a discriminator with "
        "outputs='logits'. The last checkpoint (if any) is untouched."
    )


def _registry_name(G: nn.Module) -> str | None:
    """The registry name of G's class (for `python -m gancourse sample`), if it has one."""
    from gancourse.models import MODELS

    return next((name for name, spec in MODELS.items() if type(G) is spec.generator), None)


def _progress_bar(total: int, initial: int, enabled: bool):
    from gancourse.progress import progress_bar as tqdm

    return tqdm(
        total=total,
        initial=initial,
        disable=not enabled,
        unit="step",
        desc="training",
        dynamic_ncols=True,
    )
