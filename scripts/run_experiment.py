"""Run one of the book's long experiments and store its record in gancourse/records/.

    python scripts/run_experiment.py tricks-mnist        # chapter 7's MNIST ablation
    python scripts/run_experiment.py objectives-mnist    # chapter 10's objectives on MNIST
    python scripts/run_experiment.py --list

The experiments are defined in `gancourse/book/experiments.py`; the record holds per-seed
metrics and judgements, a sample grid per variant, the command, commit, date, machine and torch
version, and the hash of the specification that `tests/test_records.py` checks.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gancourse.book.experiments import EXPERIMENTS  # noqa: E402
from gancourse.book.records import save_record  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help=f"one of {sorted(EXPERIMENTS)}")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: the package's)")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name, e in EXPERIMENTS.items():
            runs = len(e.variants) * len(e.seeds)
            print(f"{name:18s} {e.chapter}: {runs} runs of {e.model}, spec {e.spec_hash()}")
        return 0 if args.list else 2
    if args.name not in EXPERIMENTS:
        print(f"error: unknown experiment {args.name!r}; expected one of {sorted(EXPERIMENTS)}")
        return 2
    experiment = EXPERIMENTS[args.name]
    start = time.perf_counter()
    rows = experiment.run()
    seconds = time.perf_counter() - start
    command = f"python scripts/run_experiment.py {args.name}"
    path = save_record(experiment, rows, seconds=seconds, command=command, directory=args.out)
    learned = sum(r.learned for r in rows)
    print(f"wrote {path}: {len(rows)} runs ({learned} learned) in {seconds / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
