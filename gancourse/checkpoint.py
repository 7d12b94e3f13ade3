"""Saving and loading training checkpoints, so an interrupted run (a Colab disconnect) resumes.

Writes are atomic (a temporary file renamed over the old one), so a run killed while saving
leaves the previous checkpoint intact: nothing is lost.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

FORMAT = "gancourse-checkpoint-1"  # bumped when the layout changes


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write `state` (tensors, state dicts, plain Python values) to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": FORMAT, **state}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`, with clear errors for wrong files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: expected a file written by gancourse training "
            "(train(..., out_dir=...) writes <out_dir>/checkpoint.pt)"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:  # a truncated or foreign file: say which and why
        raise ValueError(f"{path} is not a readable checkpoint: {err}") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(f"{path}: expected a {FORMAT!r} checkpoint, received {found!r}")
    return state
