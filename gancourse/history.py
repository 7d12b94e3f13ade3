"""What a training run records at every generator step, and how it is saved and plotted."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path


@dataclass
class History:
    """Per-step records of a run, one list entry per generator step.

    d_real and d_fake are D's mean probability on real images and on fakes (before G's update),
    so 0.5/0.5 means D cannot tell them apart; grad_norm_* are the L2 norms of all gradients of
    a network just before its update (a vanishing generator gradient shows up here first).
    critic_gap is E D(x) - E D(G(z)) in D's raw outputs (the critic's Wasserstein estimate for
    the WGAN losses) and penalty the gradient penalties added to loss_d (0 without them).
    """

    step: list[int] = field(default_factory=list)
    epoch: list[int] = field(default_factory=list)
    loss_d: list[float] = field(default_factory=list)
    loss_g: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    grad_norm_d: list[float] = field(default_factory=list)
    grad_norm_g: list[float] = field(default_factory=list)
    critic_gap: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)

    STATS = (
        "loss_d",
        "loss_g",
        "d_real",
        "d_fake",
        "grad_norm_d",
        "grad_norm_g",
        "critic_gap",
        "penalty",
    )

    def __len__(self) -> int:
        return len(self.step)

    def append(self, step: int, epoch: int, stats: dict[str, float]) -> None:
        """Add one step's record."""
        self.step.append(int(step))
        self.epoch.append(int(epoch))
        for name in self.STATS:
            getattr(self, name).append(float(stats[name]))

    def last(self, name: str, n: int = 1) -> float:
        """Mean of the last n values of a statistic (nan when empty)."""
        values = getattr(self, name)[-n:]
        return sum(values) / len(values) if values else math.nan

    def to_dict(self) -> dict[str, list]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> History:
        names = {f.name for f in fields(cls)}
        history = cls(**{k: list(v) for k, v in data.items() if k in names})
        for name in cls.STATS:  # a history saved before a statistic existed: NaN for it
            values = getattr(history, name)
            if not values and history.step:
                values.extend([math.nan] * len(history.step))
        return history

    def save(self, path: str | Path) -> Path:
        """Write the history as JSON (non-finite values as null)."""
        path = Path(path)
        clean = {
            k: [None if isinstance(v, float) and not math.isfinite(v) else v for v in vals]
            for k, vals in self.to_dict().items()
        }
        path.write_text(json.dumps(clean))
        return path

    @classmethod
    def load(cls, path: str | Path) -> History:
        data = json.loads(Path(path).read_text())
        return cls.from_dict(
            {k: [math.nan if v is None else v for v in vals] for k, vals in data.items()}
        )
