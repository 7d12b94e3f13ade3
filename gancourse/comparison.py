"""Does setting A beat setting B? A verdict over seeds, with its uncertainty.

Two seeds of the same GAN setting can differ more than two settings do, so a difference of
means says nothing until it is set against that spread. Every comparison in the book goes
through `compare`:

- it needs enough seeds for a claim (`MIN_SEEDS`, 5, per setting);
- it gives the difference of means with a confidence interval over seeds: a paired t
  interval when both settings ran the same seeds (in the course's ablations a seed fixes the
  initial weights, the data order and the noise, so seed i of A and seed i of B are a pair),
  Welch's t interval otherwise;
- it claims a difference only when the interval excludes zero, and otherwise says "no
  difference detectable at this budget";
- runs that did not learn (see `gancourse.judgement`) are left out and counted, because the
  FID of a generator that draws no digits ranks nothing.

    cmp = compare({0: 61.2, 1: 58.9, ...}, {0: 70.4, 1: 66.0, ...}, names=("TTUR", "baseline"),
                  metric="FID", higher_is_better=False)
    print(cmp.sentence())

`rank` orders several settings by their mean and says whether the first is distinguishable
from the second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gancourse.checks import describe

__all__ = [
    "MIN_SEEDS",
    "NO_DIFFERENCE",
    "Comparison",
    "Ranking",
    "compare",
    "mean_interval",
    "rank",
]

MIN_SEEDS = 5  # seeds per setting below which no difference is claimed
NO_DIFFERENCE = "no difference detectable at this budget"

Values = Mapping[int, float] | Sequence[float]


@dataclass(frozen=True)
class Comparison:
    """A against B on one metric: the difference of means (A - B) with its interval."""

    names: tuple[str, str]  # (A, B)
    metric: str  # what was measured, e.g. "FID" or "recall"
    higher_is_better: bool
    n: tuple[int, int]  # runs used per setting (runs that learned)
    left_out: tuple[int, int]  # runs per setting left out because they did not learn
    means: tuple[float, float]
    difference: float  # mean of A - mean of B (paired: mean of the per-seed differences)
    low: float  # confidence interval of the difference (nan with fewer than 2 runs a side)
    high: float
    level: float  # e.g. 0.95
    paired: bool  # a paired interval over shared seeds (else Welch's)
    min_seeds: int
    unit: str = "runs"  # what one value is: "runs" (seeds), "pairs", "labelled subsets"...

    @property
    def enough_seeds(self) -> bool:
        return min(self.n) >= self.min_seeds

    @property
    def excludes_zero(self) -> bool:
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)

    @property
    def detected(self) -> bool:
        """True when a difference can be claimed: enough seeds and an interval without 0."""
        return self.enough_seeds and self.excludes_zero

    @property
    def winner(self) -> str | None:
        """The better setting's name when a difference is detected, else None."""
        if not self.detected:
            return None
        a_better = (self.difference > 0) == self.higher_is_better
        return self.names[0] if a_better else self.names[1]

    def interval(self, digits: int = 2) -> str:
        """'+3.10 [+0.52, +5.68]' (95% interval), or just the difference without one."""
        text = f"{self.difference:+.{digits}f}"
        if not math.isnan(self.low):
            text += f" [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"
        return text

    def sentence(self, digits: int = 2) -> str:
        """One sentence: the verdict, the effect with its interval and the seeds behind it."""
        a, b = self.names
        ma, mb = self.means
        kind = "paired" if self.paired else "Welch"
        effect = (
            f"{self.metric} {ma:.{digits}f} against {mb:.{digits}f}, difference "
            f"{self.interval(digits)}"
            + (f" ({self.level:.0%} interval, {kind})" if not math.isnan(self.low) else "")
            + (
                f", {self.n[0]} {self.unit}"
                if self.paired
                else f", {self.n[0]} and {self.n[1]} {self.unit}"
            )
        )
        dropped = ""
        if any(self.left_out) and self.paired:
            dropped = (
                f"; left out: {self.left_out[0]} seed(s) where the run of {a} or of {b} did not "
                "learn"
            )
        elif any(self.left_out):
            dropped = (
                f"; left out as not learned: {self.left_out[0]} run(s) of {a}, "
                f"{self.left_out[1]} of {b}"
            )
        if min(self.n) == 0:
            return (
                f"{a} against {b} on {self.metric}: nothing to compare, the runs of one side or "
                f"both did not learn{dropped}."
            )
        if self.detected:
            better = self.winner
            worse = b if better == a else a
            return f"{better} beats {worse}: {effect}{dropped}."
        if not self.enough_seeds:
            why = f"fewer than {self.min_seeds} {self.unit} a side"
        else:
            why = "the interval covers zero"
        return f"{a} against {b}: {NO_DIFFERENCE} ({why}; {effect}{dropped})."


def compare(
    a: Values,
    b: Values,
    *,
    names: tuple[str, str] = ("A", "B"),
    metric: str = "score",
    higher_is_better: bool = True,
    learned_a: Mapping[int, bool] | Sequence[bool] | None = None,
    learned_b: Mapping[int, bool] | Sequence[bool] | None = None,
    level: float = 0.95,
    min_seeds: int = MIN_SEEDS,
    unit: str = "runs",
) -> Comparison:
    """Compare the per-run values of two settings (a dict seed -> value, or a list).

    When both are dicts over the same seeds, the interval is the paired t interval of the
    per-seed differences; otherwise Welch's t interval. `learned_a` / `learned_b` (same keys or
    order as the values) mark runs that learned; the others are left out and counted (a pair
    is kept only when both of its runs learned).
    """
    if not 0 < level < 1:
        raise ValueError(f"level: expected a number in (0, 1), received {level!r}")
    if isinstance(min_seeds, bool) or not isinstance(min_seeds, int) or min_seeds < 2:
        raise ValueError(f"min_seeds: expected an int >= 2, received {min_seeds!r}")
    a_map, b_map = _as_map(a, "a"), _as_map(b, "b")
    ok_a, ok_b = _as_mask(learned_a, a_map, "learned_a"), _as_mask(learned_b, b_map, "learned_b")
    paired = isinstance(a, Mapping) and isinstance(b, Mapping) and set(a_map) == set(b_map)
    if paired:
        keys = [k for k in a_map if ok_a[k] and ok_b[k]]
        xs, ys = [a_map[k] for k in keys], [b_map[k] for k in keys]
        left_out = (len(a_map) - len(keys), len(b_map) - len(keys))
    else:
        xs = [v for k, v in a_map.items() if ok_a[k]]
        ys = [v for k, v in b_map.items() if ok_b[k]]
        left_out = (len(a_map) - len(xs), len(b_map) - len(ys))
    nan = float("nan")
    mean_a = sum(xs) / len(xs) if xs else nan
    mean_b = sum(ys) / len(ys) if ys else nan
    if paired:
        diffs = [x - y for x, y in zip(xs, ys, strict=True)]
        difference = sum(diffs) / len(diffs) if diffs else nan
        low, high = _t_interval(diffs, level)
    else:
        difference = mean_a - mean_b
        low, high = _welch_interval(xs, ys, level)
    return Comparison(
        names=(str(names[0]), str(names[1])),
        metric=metric,
        higher_is_better=bool(higher_is_better),
        n=(len(xs), len(ys)),
        left_out=left_out,
        means=(mean_a, mean_b),
        difference=difference,
        low=low,
        high=high,
        level=level,
        paired=paired,
        min_seeds=min_seeds,
        unit=unit,
    )


@dataclass(frozen=True)
class Ranking:
    """Settings ordered by mean (best first), with the first against the runner-up."""

    order: list[str]  # settings with at least `min_seeds` runs that learned, best mean first
    means: dict[str, float]
    runs: dict[str, int]  # runs that learned, per setting
    not_learned: dict[str, int]  # runs left out, per setting (every setting listed)
    metric: str
    top: Comparison | None  # the best against the runner-up (None with fewer than two)
    too_few: list[str] = field(default_factory=list)  # settings not ranked: too few learned
    min_seeds: int = MIN_SEEDS

    def sentence(self, digits: int = 2) -> str:
        """Who comes first, and whether that is a detectable difference or not."""
        dropped = {k: v for k, v in self.not_learned.items() if v}
        tail = ""
        if dropped:
            parts = ", ".join(
                f"{name} {count} of {count + self.runs.get(name, 0)}"
                for name, count in dropped.items()
            )
            tail = f" Left out as runs that did not learn: {parts}."
        if self.too_few:
            listed = ", ".join(f"{n} ({self.runs.get(n, 0)})" for n in self.too_few)
            tail += f" Not ranked, with fewer than {self.min_seeds} runs that learned: {listed}."
        if not self.order:
            return (
                f"No setting has {self.min_seeds} runs that learned: nothing is ranked by "
                f"{self.metric}.{tail}"
            )
        if self.top is None:
            return (
                f"Only {self.order[0]} has {self.min_seeds} runs that learned ({self.metric} "
                f"{self.means[self.order[0]]:.{digits}f}); nothing to rank it against.{tail}"
            )
        first, second = self.order[0], self.order[1]
        head = (
            f"Best mean {self.metric}: {first} ({self.means[first]:.{digits}f}), then {second} "
            f"({self.means[second]:.{digits}f})"
        )
        if self.top.detected:
            return f"{head}; the lead is detectable: {self.top.interval(digits)}.{tail}"
        return f"{head}; between the two, {NO_DIFFERENCE}.{tail}"


def rank(
    groups: Mapping[str, Values],
    *,
    metric: str = "score",
    higher_is_better: bool = True,
    learned: Mapping[str, Mapping[int, bool] | Sequence[bool]] | None = None,
    level: float = 0.95,
    min_seeds: int = MIN_SEEDS,
) -> Ranking:
    """Order settings by their mean over the runs that learned; compare the top two."""
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError(f"groups: expected a non-empty dict name -> values, received {groups!r}")
    learned = learned or {}
    means: dict[str, float] = {}
    runs: dict[str, int] = {}
    not_learned: dict[str, int] = {}
    for name, values in groups.items():
        vmap = _as_map(values, f"groups[{name!r}]")
        ok = _as_mask(learned.get(name), vmap, f"learned[{name!r}]")
        kept = [v for k, v in vmap.items() if ok[k]]
        not_learned[name] = len(vmap) - len(kept)
        if kept:
            means[name] = sum(kept) / len(kept)
            runs[name] = len(kept)
    too_few = [n for n in groups if runs.get(n, 0) < min_seeds]
    ranked = [n for n in means if n not in too_few]
    order = sorted(ranked, key=lambda n: -means[n] if higher_is_better else means[n])
    top = None
    if len(order) >= 2:
        first, second = order[0], order[1]
        top = compare(
            groups[first],
            groups[second],
            names=(first, second),
            metric=metric,
            higher_is_better=higher_is_better,
            learned_a=learned.get(first),
            learned_b=learned.get(second),
            level=level,
            min_seeds=min_seeds,
        )
    return Ranking(order, means, runs, not_learned, metric, top, too_few, min_seeds)


def _as_map(values: object, name: str) -> dict[int, float]:
    if isinstance(values, Mapping):
        items = list(values.items())
    elif isinstance(values, Sequence) and not isinstance(values, str | bytes):
        items = list(enumerate(values))
    else:
        raise TypeError(
            f"{name}: expected a dict seed -> value or a list, received {describe(values)}"
        )
    out: dict[int, float] = {}
    for key, value in items:
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)  # a 0-d tensor or numpy number
            except (TypeError, ValueError):
                raise TypeError(f"{name}: expected numbers, received {describe(value)}") from None
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name}: expected finite numbers, received {value} at {key!r}")
        out[key] = value
    return out


def _as_mask(mask: object, values: dict[int, float], name: str) -> dict[int, bool]:
    if mask is None:
        return dict.fromkeys(values, True)
    if isinstance(mask, Mapping):
        missing = set(values) - set(mask)
        if missing:
            raise ValueError(f"{name}: expected an entry for every run, missing {sorted(missing)}")
        return {k: bool(mask[k]) for k in values}
    mask = list(mask)  # type: ignore[call-overload]
    if len(mask) != len(values):
        raise ValueError(f"{name}: expected {len(values)} flags, received {len(mask)}")
    return {k: bool(m) for k, m in zip(values, mask, strict=True)}


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Student's t interval for the mean of `values` (nan, nan with fewer than two): the
    interval over seeds of one setting, as `plots.seeds_figure` draws it."""
    return _t_interval(values, level)


def _t_interval(diffs: Sequence[float], level: float) -> tuple[float, float]:
    """Student's t interval for the mean of `diffs` (nan, nan with fewer than two)."""
    n = len(diffs)
    if n < 2:
        return math.nan, math.nan
    from scipy.stats import t

    mean = sum(diffs) / n
    var = sum((d - mean) ** 2 for d in diffs) / (n - 1)
    half = t.ppf(0.5 + level / 2, n - 1) * math.sqrt(var / n)
    return mean - half, mean + half


def _welch_interval(xs: Sequence[float], ys: Sequence[float], level: float) -> tuple[float, float]:
    """Welch's t interval for mean(xs) - mean(ys) (nan, nan with fewer than two a side)."""
    nx, ny = len(xs), len(ys)
    if nx < 2 or ny < 2:
        return math.nan, math.nan
    from scipy.stats import t

    mx, my = sum(xs) / nx, sum(ys) / ny
    vx = sum((x - mx) ** 2 for x in xs) / (nx - 1) / nx
    vy = sum((y - my) ** 2 for y in ys) / (ny - 1) / ny
    se = math.sqrt(vx + vy)
    if se == 0:
        return mx - my, mx - my
    dof = (vx + vy) ** 2 / (vx**2 / (nx - 1) + vy**2 / (ny - 1))
    half = t.ppf(0.5 + level / 2, dof) * se
    return mx - my - half, mx - my + half
