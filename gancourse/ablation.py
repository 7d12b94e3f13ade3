"""Ablations: does a training trick help? Train the same model with and without it, on the
same seeds, and compare the FID of the results.

One run of a GAN says little: two seeds of the same setting can differ more than two settings
do. An ablation therefore keeps everything fixed (model, data, number of steps, seeds, the
initial weights of each seed) and changes one thing per variant::

    variants = {"baseline": {}, "one-sided smoothing": {"label_smoothing": 0.1}}
    rows = run_ablation(variants, seeds=[0, 1, 2], model="vanilla", data=mnist, num_epochs=5)
    print(ablation_table(rows))

Each variant is a dict of `TrainConfig` overrides; keyword arguments of `run_ablation` are the
settings shared by every run. FID is computed with the course's offline MNIST feature network
by default (an "MNIST FID": it ranks MNIST generators, it is not an Inception FID).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch

from gancourse.checks import describe

__all__ = ["AblationRow", "VariantSummary", "ablation_table", "run_ablation", "summarise"]

TAIL_STEPS = 50  # D's outputs are averaged over this many last steps of each run


@dataclass
class AblationRow:
    """One trained run of one variant: its FID and where D stood at the end."""

    variant: str
    seed: int
    fid: float  # FID of the final G against the reference (lower is better)
    d_real: float  # D's mean output on real images, last TAIL_STEPS steps
    d_fake: float  # D's mean output on fakes, last TAIL_STEPS steps
    steps: int  # generator steps trained
    seconds: float  # wall time of the training run (FID excluded)
    samples: torch.Tensor  # the final fixed-noise sample grid (CPU), in G's output range


@dataclass
class VariantSummary:
    """FID of one variant over its seeds: mean, sample standard deviation, min and max."""

    variant: str
    runs: int
    mean: float
    std: float  # sample standard deviation (ddof=1); 0 with a single run
    low: float
    high: float


def run_ablation(
    variants: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    model: str,
    data: Any,
    *,
    reference: Any = None,
    extractor: Any = None,
    num_fid_samples: int = 1000,
    progress: bool = True,
    **shared: Any,
) -> list[AblationRow]:
    """Train `model` once per (variant, seed) on `data` and measure each run's FID.

    `variants` maps a name to `TrainConfig` overrides ({} is the baseline); `shared` holds the
    overrides every run gets (e.g. num_epochs=5, max_steps=300). A seed fixes the initial weights
    and all training randomness, so variant A and variant B start from the same networks.
    `reference` (default: `data`) is what FID compares against: an ImageSet, images, a data
    set name or ready `FeatureStatistics`; `extractor` defaults to the MNIST feature network.
    Returns one `AblationRow` per run, variants in the given order, seeds inner.
    """
    from gancourse.metrics import compute_statistics, fid
    from gancourse.models import OUTPUT_RANGES, build_pair, get_spec
    from gancourse.notebook import progress_bar
    from gancourse.training import TrainConfig, train

    spec = get_spec(model)
    variants = _check_variants(variants, shared)
    seeds = _check_seeds(seeds)
    if isinstance(num_fid_samples, bool) or not isinstance(num_fid_samples, int):
        raise TypeError(f"num_fid_samples: expected an int, received {describe(num_fid_samples)}")
    if num_fid_samples < 2:
        raise ValueError(f"num_fid_samples: expected at least 2, received {num_fid_samples}")
    if extractor is None:
        from gancourse.metrics import load_mnist_extractor

        extractor = load_mnist_extractor()
    reference = data if reference is None else reference
    ref_range = None
    if isinstance(reference, torch.Tensor) and reference.is_floating_point():
        ref_range = OUTPUT_RANGES[spec.output_range]  # images in the model's range, like data
    ref_stats = compute_statistics(
        reference, extractor=extractor, value_range=ref_range, progress=False
    ).with_factor()

    rows: list[AblationRow] = []
    jobs = [(name, seed) for name in variants for seed in seeds]
    for name, seed in progress_bar(jobs, desc="ablation", disable=not progress):
        config = TrainConfig.for_model(
            model, **{**shared, **variants[name], "seed": seed, "progress": False}
        )
        torch.manual_seed(seed)  # the same initial weights for every variant of this seed
        G, D = build_pair(model)
        start = time.perf_counter()
        result = train(G, D, data, config)
        seconds = time.perf_counter() - start
        score = fid(
            G,
            ref_stats,
            extractor=extractor,
            num_samples=num_fid_samples,
            latent_dist=config.latent_dist,
            seed=seed,
            progress=False,
        )
        history = result.history
        last_epoch = max(result.samples) if result.samples else None
        samples = (
            result.samples[last_epoch] if last_epoch is not None else _final_samples(G, result)
        )
        rows.append(
            AblationRow(
                variant=name,
                seed=seed,
                fid=float(score),
                d_real=history.last("d_real", TAIL_STEPS),
                d_fake=history.last("d_fake", TAIL_STEPS),
                steps=len(history),
                seconds=seconds,
                samples=samples,
            )
        )
    return rows


def summarise(rows: Sequence[AblationRow]) -> list[VariantSummary]:
    """FID mean and spread per variant, in the order the variants first appear."""
    if not rows:
        raise ValueError("rows: expected at least one AblationRow, received none")
    by_variant: dict[str, list[float]] = {}
    for row in rows:
        if not isinstance(row, AblationRow):
            raise TypeError(f"rows: expected AblationRow items, received {describe(row)}")
        by_variant.setdefault(row.variant, []).append(row.fid)
    summaries = []
    for name, scores in by_variant.items():
        n = len(scores)
        mean = sum(scores) / n
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1)) if n > 1 else 0.0
        summaries.append(VariantSummary(name, n, mean, std, min(scores), max(scores)))
    return summaries


def ablation_table(rows: Sequence[AblationRow], baseline: str | None = None) -> str:
    """A Markdown table: FID mean ± std per variant, its change against `baseline` (default:
    the first variant), and D's final mean outputs on real and fake images."""
    summaries = summarise(rows)
    names = [s.variant for s in summaries]
    baseline = names[0] if baseline is None else baseline
    if baseline not in names:
        raise ValueError(f"baseline: expected one of {names}, received {baseline!r}")
    base = next(s for s in summaries if s.variant == baseline)
    lines = [
        "| variant | runs | FID (mean ± std) | change vs baseline | D(x) | D(G(z)) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        mine = [r for r in rows if r.variant == s.variant]
        d_real = sum(r.d_real for r in mine) / len(mine)
        d_fake = sum(r.d_fake for r in mine) / len(mine)
        change = "(baseline)" if s.variant == baseline else f"{s.mean - base.mean:+.2f}"
        spread = f" ± {s.std:.2f}" if s.runs > 1 else ""
        lines.append(
            f"| {s.variant} | {s.runs} | {s.mean:.2f}{spread} | {change} | "
            f"{d_real:.2f} | {d_fake:.2f} |"
        )
    return "\n".join(lines)


def _final_samples(G: torch.nn.Module, result: Any) -> torch.Tensor:
    """The fixed-noise samples of G now (a run stopped by max_steps before an epoch ended)."""
    from gancourse.latent import generate_images

    return generate_images(G, result.fixed_noise)


def _check_variants(variants: object, shared: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    from gancourse.training import TrainConfig

    if not isinstance(variants, Mapping) or not variants:
        raise ValueError(
            "variants: expected a non-empty dict {name: {TrainConfig field: value}}, "
            f"received {variants!r}"
        )
    known = {f.name for f in fields(TrainConfig)}
    reserved = {"seed", "progress"}
    for source, overrides in [("shared settings", shared), *variants.items()]:
        if not isinstance(overrides, Mapping):
            raise TypeError(
                f"variant {source!r}: expected a dict of TrainConfig overrides, received "
                f"{describe(overrides)}"
            )
        for key in overrides:
            if key in reserved:
                raise ValueError(
                    f"{source!r}: {key!r} is set by run_ablation (pass seeds=[...] instead)"
                )
            if key not in known:
                raise ValueError(
                    f"{source!r}: expected TrainConfig fields, received unknown field {key!r}; "
                    f"known fields are {sorted(known)}"
                )
    for name in variants:
        if not isinstance(name, str) or not name:
            raise TypeError(f"variants: expected non-empty string names, received {name!r}")
    return {name: dict(overrides) for name, overrides in variants.items()}


def _check_seeds(seeds: object) -> list[int]:
    if isinstance(seeds, int | str) or not isinstance(seeds, Sequence) or not seeds:
        raise ValueError(f"seeds: expected a non-empty list of ints, received {seeds!r}")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seeds: expected ints, received {describe(seed)}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected distinct seeds, received {list(seeds)}")
    return list(seeds)
