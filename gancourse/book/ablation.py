"""Ablations: does a training trick help? Train the same model with and without it, on the
same seeds, and compare the results: FID for image GANs (`run_ablation`), modes covered and
precision/recall for a toy GAN on a 2-D mixture (`run_toy_ablation`).

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
from gancourse.comparison import Comparison, compare
from gancourse.judgement import Judgement

__all__ = [
    "AblationRow",
    "ToyAblationRow",
    "VariantSummary",
    "ablation_table",
    "compare_variants",
    "learned_cell",
    "mean_std",
    "run_ablation",
    "run_toy_ablation",
    "summarise",
    "toy_ablation_table",
    "toy_variant_stats",
    "variant_groups",
]

TAIL_STEPS = 50  # D's outputs are averaged over this many last steps of each run
TOY_D_OPTIONS = ("minibatch_std",)  # variant keys of run_toy_ablation that build D differently


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
    confidence: float = math.nan  # MNIST classifier's mean confidence on the FID samples
    judgement: Judgement | None = None  # did it learn? (judge_digits on the FID samples)

    @property
    def learned(self) -> bool:
        """Left out of rankings when False; True where no judgement could be made."""
        return self.judgement is None or self.judgement.learned


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
    from gancourse.progress import progress_bar
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
        confidence, judgement = math.nan, None
        if getattr(extractor, "name", "").startswith("mnist"):  # a digit classifier: read them
            from gancourse.judgement import judge_digits
            from gancourse.latent import generate_images
            from gancourse.metrics import read_digits
            from gancourse.training import sample_noise

            noise = sample_noise(
                num_fid_samples,
                G.latent_dim,
                config.latent_dist,
                generator=torch.Generator().manual_seed(seed),
            )
            images = generate_images(G, noise)
            value_range = OUTPUT_RANGES[spec.output_range]
            confidence = read_digits(images, value_range, extractor).mean_confidence
            if len(images) >= 100:  # enough samples for class shares
                judgement = judge_digits(images, value_range, extractor)
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
                confidence=confidence,
                judgement=judgement,
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
        mean, std = mean_std(scores)
        summaries.append(VariantSummary(name, len(scores), mean, std, min(scores), max(scores)))
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
        "| variant | runs | learned | FID (mean ± std) | change vs baseline | D(x) | D(G(z)) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        mine = [r for r in rows if r.variant == s.variant]
        d_real = sum(r.d_real for r in mine) / len(mine)
        d_fake = sum(r.d_fake for r in mine) / len(mine)
        change = "(baseline)" if s.variant == baseline else f"{s.mean - base.mean:+.2f}"
        spread = f" ± {s.std:.2f}" if s.runs > 1 else ""
        lines.append(
            f"| {s.variant} | {s.runs} | {learned_cell(mine)} | {s.mean:.2f}{spread} | {change} | "
            f"{d_real:.2f} | {d_fake:.2f} |"
        )
    return "\n".join(lines)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for a single value) of `values`."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("values: expected at least one number, received none")
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return mean, std


@dataclass
class ToyAblationRow:
    """One trained toy run of one variant: how its final samples cover the mixture."""

    variant: str
    seed: int
    modes: int  # modes covered by the final samples
    num_modes: int  # modes in the mixture
    near: float  # fraction of final samples within 3 standard deviations of a mode
    precision: float  # improved precision of the final samples (quality)
    recall: float  # improved recall of the final samples (coverage)
    seconds: float  # wall time of the training run
    samples: torch.Tensor  # the final samples (n, 2), from the run's fixed noise
    run: Any = None  # the ToyRun itself: networks, history and snapshots
    judgement: Judgement | None = None  # did it learn? (judge_toy on the final samples)

    @property
    def learned(self) -> bool:
        """Left out of rankings when False (samples not on the data); collapse is kept."""
        return self.judgement is None or self.judgement.learned


def run_toy_ablation(
    variants: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    target: Any,
    *,
    real: torch.Tensor | None = None,
    k: int = 3,
    hidden: int = 32,
    latent_dim: int = 2,
    progress: bool = True,
    **shared: Any,
) -> list[ToyAblationRow]:
    """Train a toy GAN once per (variant, seed) on the 2-D mixture `target` and score it.

    `variants` maps a name to `ToyConfig` overrides ({} is the baseline), or to options of D
    (`minibatch_std=True`: a `ToyDiscriminator` with the minibatch standard deviation layer);
    `shared` holds the overrides every run gets (e.g. steps=2000). For a given seed every
    variant starts from the same `ToyGenerator(latent_dim, 2, hidden)` and
    `ToyDiscriminator(2, hidden)` weights and sees the same data and noise; `snapshot_every`
    keeps snapshots along the way (in each row's `run`; by default only the first and last).
    The final `num_snapshot_samples` samples are
    scored with `score_toy` against `real` (default: 1,000 points of `target`, seed 123).
    Returns one `ToyAblationRow` per run, variants in the given order, seeds inner.
    """
    from gancourse.book.toy_training import ToyConfig, score_toy, train_toy
    from gancourse.judgement import judge_toy
    from gancourse.models import ToyDiscriminator, ToyGenerator
    from gancourse.progress import progress_bar

    if getattr(target, "data_dim", None) != 2 or not hasattr(target, "mode_coverage"):
        raise ValueError(
            "target: expected a 2-D mixture with modes (e.g. distributions.ring()), "
            f"received {describe(target)}"
        )
    variants = _check_variants(variants, shared, ToyConfig, "ToyConfig", TOY_D_OPTIONS)
    seeds = _check_seeds(seeds)
    if real is None:
        real = target.sample(1000, generator=torch.Generator().manual_seed(123))
    rows: list[ToyAblationRow] = []
    jobs = [(name, seed) for name in variants for seed in seeds]
    for name, seed in progress_bar(jobs, desc="toy ablation", disable=not progress):
        torch.manual_seed(seed)  # the same initial weights for every variant of this seed
        G = ToyGenerator(latent_dim=latent_dim, data_dim=2, hidden=hidden)
        overrides = {**shared, **variants[name], "seed": seed, "progress": False}
        d_options = {key: overrides.pop(key) for key in TOY_D_OPTIONS if key in overrides}
        D = ToyDiscriminator(data_dim=2, hidden=hidden, **d_options)
        steps = overrides.get("steps", ToyConfig.steps)
        overrides.setdefault("snapshot_every", steps)  # only the first and the last snapshot
        start = time.perf_counter()
        run = train_toy(G, D, target, **overrides)
        seconds = time.perf_counter() - start
        fake = run.snapshots[-1].fake
        score = score_toy(target, fake, real, k=k)
        rows.append(
            ToyAblationRow(
                variant=name,
                seed=seed,
                modes=score.modes,
                num_modes=score.num_modes,
                near=score.near,
                precision=score.precision,
                recall=score.recall,
                seconds=seconds,
                samples=fake,
                run=run,
                judgement=judge_toy(target, fake),
            )
        )
    return rows


def toy_variant_stats(
    rows: Sequence[ToyAblationRow], variant: str
) -> dict[str, tuple[float, float]]:
    """(mean, sample std) over the seeds of one variant's modes, precision and recall."""
    mine = [r for r in rows if r.variant == variant]
    if not mine:
        raise ValueError(
            f"variant: no rows for {variant!r}; variants run: {sorted({r.variant for r in rows})}"
        )
    return {m: mean_std([getattr(r, m) for r in mine]) for m in ("modes", "precision", "recall")}


def toy_ablation_table(rows: Sequence[ToyAblationRow]) -> str:
    """A Markdown table, one line per variant: modes covered, precision and recall as mean ± std
    over the seeds, and how many runs covered every mode."""
    if not rows:
        raise ValueError("rows: expected at least one ToyAblationRow, received none")
    by_variant: dict[str, list[ToyAblationRow]] = {}
    for row in rows:
        if not isinstance(row, ToyAblationRow):
            raise TypeError(f"rows: expected ToyAblationRow items, received {describe(row)}")
        by_variant.setdefault(row.variant, []).append(row)
    num_modes = rows[0].num_modes
    lines = [
        f"| variant | runs | learned | modes (of {num_modes}) | all modes | on a mode | "
        "precision | recall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, mine in by_variant.items():
        modes = mean_std([r.modes for r in mine])
        precision = mean_std([r.precision for r in mine])
        recall = mean_std([r.recall for r in mine])
        complete = sum(r.modes == r.num_modes for r in mine)
        near = mean_std([r.near for r in mine])
        learned = sum(r.learned for r in mine)  # collapse shows in "all modes" already
        lines.append(
            f"| {name} | {len(mine)} | {learned}/{len(mine)} | {_pm(modes, 1)} | "
            f"{complete}/{len(mine)} | {_pm(near, 2)} | {_pm(precision, 2)} | {_pm(recall, 2)} |"
        )
    return "\n".join(lines)


def learned_cell(rows: Sequence[AblationRow | ToyAblationRow]) -> str:
    """'4/5' runs that learned, with how many of them collapsed: '4/5 (2 collapsed)'."""
    from gancourse.judgement import MODE_COLLAPSE

    learned = sum(r.learned for r in rows)
    collapsed = sum(r.judgement is not None and r.judgement.verdict == MODE_COLLAPSE for r in rows)
    return f"{learned}/{len(rows)}" + (f" ({collapsed} collapsed)" if collapsed else "")


def variant_groups(
    rows: Sequence[AblationRow | ToyAblationRow], metric: str
) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, bool]]]:
    """Per variant, {seed: value of `metric`} and {seed: learned}: what `compare`,
    `comparison.rank` and `plots.seeds_figure` take."""
    if not rows:
        raise ValueError("rows: expected at least one ablation row, received none")
    values: dict[str, dict[int, float]] = {}
    learned: dict[str, dict[int, bool]] = {}
    for row in rows:
        if not hasattr(row, metric):
            raise ValueError(
                f"metric: expected a field of {type(row).__name__}, received {metric!r}"
            )
        values.setdefault(row.variant, {})[row.seed] = float(getattr(row, metric))
        learned.setdefault(row.variant, {})[row.seed] = row.learned
    return values, learned


def compare_variants(
    rows: Sequence[AblationRow | ToyAblationRow],
    metric: str,
    *,
    baseline: str | None = None,
    higher_is_better: bool = True,
    label: str | None = None,
    leave_out_failures: bool = True,
) -> list[Comparison]:
    """Every variant against `baseline` (default: the first) on `metric`, paired over the
    seeds they share. Runs that did not learn are left out and counted, unless
    `leave_out_failures=False`: right when the metric itself measures the failure a variant is
    meant to cure (the recall of a collapsing toy), wrong when it only ranks learners (FID)."""
    values, learned = variant_groups(rows, metric)
    if not leave_out_failures:
        learned = {name: dict.fromkeys(seeds, True) for name, seeds in values.items()}
    names = list(values)
    baseline = names[0] if baseline is None else baseline
    if baseline not in values:
        raise ValueError(f"baseline: expected one of {names}, received {baseline!r}")
    return [
        compare(
            values[name],
            values[baseline],
            names=(name, baseline),
            metric=label or metric,
            higher_is_better=higher_is_better,
            learned_a=learned[name],
            learned_b=learned[baseline],
        )
        for name in names
        if name != baseline
    ]


def _pm(stats: tuple[float, float], digits: int) -> str:
    mean, std = stats
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _final_samples(G: torch.nn.Module, result: Any) -> torch.Tensor:
    """The fixed-noise samples of G now (a run stopped by max_steps before an epoch ended)."""
    from gancourse.latent import generate_images

    return generate_images(G, result.fixed_noise)


def _check_variants(
    variants: object,
    shared: Mapping[str, Any],
    config_class: type | None = None,
    config_name: str = "TrainConfig",
    extra: Sequence[str] = (),
) -> dict[str, dict[str, Any]]:
    if config_class is None:
        from gancourse.training import TrainConfig

        config_class = TrainConfig
    if not isinstance(variants, Mapping) or not variants:
        raise ValueError(
            f"variants: expected a non-empty dict {{name: {{{config_name} field: value}}}}, "
            f"received {variants!r}"
        )
    known = {f.name for f in fields(config_class)} | set(extra)
    reserved = {"seed", "progress"}
    for source, overrides in [("shared settings", shared), *variants.items()]:
        if not isinstance(overrides, Mapping):
            raise TypeError(
                f"variant {source!r}: expected a dict of {config_name} overrides, received "
                f"{describe(overrides)}"
            )
        for key in overrides:
            if key in reserved:
                raise ValueError(
                    f"{source!r}: {key!r} is set by run_ablation (pass seeds=[...] instead)"
                )
            if key not in known:
                raise ValueError(
                    f"{source!r}: expected {config_name} fields, received unknown field {key!r}; "
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
