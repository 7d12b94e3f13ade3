"""Experiment records: runs too long for the book's build, made once by a script, plotted by it.

A chapter's point sometimes needs more compute than its cpu-size build can afford: five seeds
per variant of an MNIST ablation, each trained long enough for its generator to draw digits. An
experiment is defined once (`AblationExperiment`, e.g. in `gancourse.book.experiments`), run
by `scripts/run_experiment.py` on 2 CPU cores or a GPU, and stored as a small JSON record in
`gancourse/records/` (shipped with the package like the weights): the per-seed metrics and
judgements, a small sample grid per variant, and its provenance (command, commit, date,
machine, torch version) with a hash of the experiment's full specification.

The chapter loads the record during the build, labelled as a record, beside its own short live
run; at the full size it reruns the experiment live instead. A record whose specification no
longer matches the experiment's (a changed seed, variant, setting or default of `TrainConfig`)
is stale: `load_record(..., experiment=...)` refuses it, and a test checks every record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from gancourse.checks import describe

__all__ = [
    "RECORDS_DIR",
    "AblationExperiment",
    "Record",
    "StaleRecordError",
    "load_record",
    "save_record",
]

RECORDS_DIR = Path(__file__).resolve().parents[1] / "records"  # gancourse/records/
FORMAT = "gancourse-record-1"
GRID_SAMPLES = 16  # samples kept per variant (from the first seed), as an 8-bit PNG


class StaleRecordError(RuntimeError):
    """A record made from another specification than the experiment's current one."""


@dataclass(frozen=True)
class AblationExperiment:
    """An ablation (`gancourse.book.ablation.run_ablation`) fixed down to its seeds and data."""

    name: str  # the record's file name, e.g. "tricks-mnist"
    chapter: str  # the chapter that plots it, e.g. "07_tricks"
    model: str  # a reference model name, e.g. "vanilla"
    variants: Mapping[str, Mapping[str, Any]]  # name -> TrainConfig overrides ({} = baseline)
    seeds: Sequence[int]
    shared: Mapping[str, Any]  # TrainConfig overrides every run gets
    data: Mapping[str, Any] = field(
        default_factory=lambda: {"name": "mnist", "limit": 5000, "value_range": "tanh"}
    )
    num_fid_samples: int = 1000

    def specification(self) -> dict[str, Any]:
        """Everything that decides the runs: the resolved `TrainConfig` of every variant
        (defaults included, so a changed default makes the record stale), seeds, data."""
        from gancourse.training import TrainConfig

        configs = {}
        for name, overrides in self.variants.items():
            config = TrainConfig.for_model(self.model, **{**self.shared, **overrides})
            resolved = asdict(config)
            resolved.pop("progress", None)
            resolved.pop("seed", None)  # set per run from `seeds`
            configs[name] = resolved
        return {
            "kind": "ablation",
            "name": self.name,
            "model": self.model,
            "configs": configs,
            "seeds": list(self.seeds),
            "data": dict(self.data),
            "num_fid_samples": self.num_fid_samples,
        }

    def spec_hash(self) -> str:
        text = json.dumps(self.specification(), sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def load_data(self) -> Any:
        from gancourse.data import load_images

        options = {k: v for k, v in self.data.items() if k != "name"}
        return load_images(self.data["name"], **options)

    def run(self, data: Any = None, progress: bool = True) -> list[Any]:
        """Train every (variant, seed) live: the rows a record stores."""
        from gancourse.book.ablation import run_ablation

        return run_ablation(
            {k: dict(v) for k, v in self.variants.items()},
            list(self.seeds),
            self.model,
            self.load_data() if data is None else data,
            num_fid_samples=self.num_fid_samples,
            progress=progress,
            **dict(self.shared),
        )


@dataclass
class Record:
    """A stored experiment: its rows (as `AblationRow`s) and where they came from."""

    name: str
    spec_hash: str
    provenance: dict[str, Any]  # command, commit, date, machine, torch, seconds
    rows: list[Any]

    def label(self) -> str:
        """One line for a page: this is a record, made by whom, when, on what."""
        p = self.provenance
        return (
            f"Experiment record `{self.name}` (not run during this build): made by "
            f"`{p.get('command')}` at commit {str(p.get('commit'))[:10]} on {p.get('date')}, "
            f"{p.get('machine')}, torch {p.get('torch')}, in {p.get('seconds', 0) / 60:.0f} min."
        )


def save_record(
    experiment: AblationExperiment,
    rows: Sequence[Any],
    *,
    seconds: float,
    command: str,
    directory: Path | None = None,
) -> Path:
    """Write `rows` of `experiment` as `<directory>/<name>.json` (default: the package's)."""
    from torchvision.io import encode_png

    if not rows:
        raise ValueError("rows: expected the rows of a finished experiment, received none")
    directory = RECORDS_DIR if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    first_seed = list(experiment.seeds)[0]
    lo, hi = _value_range(experiment)
    grids = {}
    for row in rows:
        if row.seed == first_seed and row.samples is not None and len(row.samples):
            kept = row.samples[:GRID_SAMPLES].detach().float().cpu()
            unit = ((kept - lo) / (hi - lo)).clamp(0, 1)
            strip = torch.cat(list(unit), dim=1)  # (C, n * H, W): the samples one above another
            png = encode_png((strip * 255).round().to(torch.uint8))
            grids[row.variant] = {
                "shape": list(kept.shape),
                "png": base64.b64encode(png.numpy().tobytes()).decode(),
            }
    record = {
        "format": FORMAT,
        "name": experiment.name,
        "spec_hash": experiment.spec_hash(),
        "specification": experiment.specification(),
        "provenance": {
            "command": command,
            "commit": _git_commit(),
            "date": datetime.now(UTC).strftime("%Y-%m-%d"),
            "machine": _machine(),
            "torch": torch.__version__,
            "seconds": round(seconds),
        },
        "rows": [_row_dict(row, row.seed == first_seed) for row in rows],
        "grids": grids,
    }
    path = directory / f"{experiment.name}.json"
    path.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def load_record(
    name: str, experiment: AblationExperiment | None = None, directory: Path | None = None
) -> Record:
    """Read record `name`; with `experiment`, refuse it when its specification is stale."""
    from gancourse.book.ablation import AblationRow
    from gancourse.judgement import Judgement

    directory = RECORDS_DIR if directory is None else Path(directory)
    path = directory / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.json"))
        raise FileNotFoundError(
            f"no experiment record {name!r} in {directory} (records there: {known}); make it "
            f"with `python scripts/run_experiment.py {name}`"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: expected a {FORMAT} record, received {describe(data)}")
    if experiment is not None and data["spec_hash"] != experiment.spec_hash():
        raise StaleRecordError(
            f"record {name!r} is stale: it was made from specification {data['spec_hash']}, "
            f"but experiment {experiment.name!r} now has {experiment.spec_hash()}; rerun "
            f"`python scripts/run_experiment.py {experiment.name}`"
        )
    value_range = _value_range_of(data["specification"]["model"])
    grids = {k: _decode_samples(v, value_range) for k, v in data.get("grids", {}).items()}
    rows = []
    for r in data["rows"]:
        judgement = Judgement(r["verdict"], r["reason"], r.get("measures", {}))
        rows.append(
            AblationRow(
                variant=r["variant"],
                seed=r["seed"],
                fid=r["fid"],
                d_real=r["d_real"],
                d_fake=r["d_fake"],
                steps=r["steps"],
                seconds=r["seconds"],
                samples=grids.get(r["variant"]) if r.get("has_grid") else None,
                confidence=r["confidence"],
                judgement=judgement,
            )
        )
    return Record(data["name"], data["spec_hash"], data["provenance"], rows)


def _row_dict(row: Any, has_grid: bool) -> dict[str, Any]:
    judgement = row.judgement
    measures = dict(judgement.measures) if judgement is not None else {}
    return {
        "variant": row.variant,
        "seed": row.seed,
        "fid": round(float(row.fid), 3),
        "confidence": round(float(row.confidence), 4),
        "d_real": round(float(row.d_real), 4),
        "d_fake": round(float(row.d_fake), 4),
        "steps": int(row.steps),
        "seconds": round(float(row.seconds), 1),
        "verdict": judgement.verdict if judgement is not None else "not judged",
        "reason": judgement.reason if judgement is not None else "",
        "measures": json.loads(json.dumps(measures, default=float)),
        "has_grid": has_grid,
    }


def _decode_samples(stored: Mapping[str, Any], value_range: tuple[float, float]) -> torch.Tensor:
    """The stored samples (n, C, H, W) back in the model's value range (8-bit precision)."""
    from torchvision.io import decode_png

    n, channels, height, width = stored["shape"]
    raw = torch.frombuffer(bytearray(base64.b64decode(stored["png"])), dtype=torch.uint8)
    strip = decode_png(raw).float() / 255  # (C, n * H, W)
    if tuple(strip.shape) != (channels, n * height, width):
        raise ValueError(f"a stored sample strip has shape {tuple(strip.shape)}, not {stored}")
    lo, hi = value_range
    return torch.stack(strip.split(height, dim=1)) * (hi - lo) + lo


def _value_range(experiment: AblationExperiment) -> tuple[float, float]:
    return _value_range_of(experiment.model)


def _value_range_of(model: str) -> tuple[float, float]:
    from gancourse.models import OUTPUT_RANGES, get_spec

    return OUTPUT_RANGES[get_spec(model).output_range]


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _machine() -> str:
    import os

    from gancourse.device import cpu_name

    cpu = cpu_name()
    device = "CPU"
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    return f"{device}; {os.cpu_count()} cores, {cpu}; {platform.system()}"
