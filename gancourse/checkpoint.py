"""Saving and loading training checkpoints, so an interrupted run (a Colab disconnect) resumes.

Writes are atomic (a temporary file renamed over the old one), so a run killed while saving
leaves the previous checkpoint intact: nothing is lost.

A checkpoint is data, not code: it holds only tensors and plain values (dicts, lists, tuples,
strings, numbers, booleans, None), and it is read with ``torch.load(..., weights_only=True)``,
so a file from someone else cannot run anything when it is loaded. Objects (a config
dataclass, a history) are saved as plain dicts and rebuilt by whoever reads them.
"""

from __future__ import annotations

import numbers
import os
import pickle
import re
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

FORMAT = "gancourse-checkpoint-1"  # bumped when the layout changes

_SCALARS = (type(None), bool, int, float, str, bytes)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Atomically write `state` (tensors, state dicts, plain Python values) to `path`.

    Paths are saved as strings and NumPy scalars as Python numbers; any other object raises a
    TypeError naming where it is, as `load_checkpoint` would refuse it.
    """
    path = Path(path)
    state = _plain({"format": FORMAT, **state}, "state")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`, with clear errors for wrong files.

    Only tensors and plain values are unpickled (``weights_only=True``): a file holding any
    other object raises a ValueError, and nothing in it is run.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: expected a file written by gancourse training "
            "(train(..., out_dir=...) writes <out_dir>/checkpoint.pt)"
        )
    try:
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol: noise here
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:  # refused by the weights-only unpickler
        raise ValueError(
            f"{path} is not a gancourse checkpoint: {_refusal(err)}; only tensors and plain "
            "values are loaded from a checkpoint, since unpickling other objects could run "
            "arbitrary code"
        ) from err
    except Exception as err:  # a truncated or foreign file: say which and why
        raise ValueError(
            f"{path} is not a readable gancourse checkpoint ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise ValueError(
            f"{path} is not a gancourse checkpoint: expected a {FORMAT!r} checkpoint, "
            f"received {found!r}"
        )
    return state


def _refusal(err: Exception) -> str:
    """What torch's weights-only unpickler refused, from its long message (which goes on to
    suggest allowlisting the object or loading with weights_only=False: not for files from
    others)."""
    text = str(err)
    if match := re.search(r"Unsupported global: GLOBAL (\S+)", text):
        return f"it contains disallowed objects ({match.group(1)})"
    if match := re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text):
        detail = match.group(1).strip()
    else:
        detail = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return f"it contains disallowed objects or is not a file of tensors at all ({detail})"


def _plain(value: Any, where: str) -> Any:
    """`value` with Paths as strings and number types as Python numbers, or a TypeError if it
    holds anything `torch.load(weights_only=True)` would refuse. Containers are copied only
    where something changed (a state dict keeps its OrderedDict and version metadata)."""
    if type(value) in _SCALARS or isinstance(value, torch.Tensor | torch.dtype | torch.Size):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return _plain(value.item(), where)  # a NumPy scalar: numpy.float32(0.5) -> 0.5
    if isinstance(value, numbers.Integral):  # an IntEnum member
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):  # a str subclass (a StrEnum member)
        return str(value)
    if isinstance(value, dict):
        items = {k: _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
        for key in items:
            if type(key) not in _SCALARS:
                raise TypeError(
                    f"cannot save a checkpoint: {where} has a key of type "
                    f"{type(key).__name__}; keys must be strings or numbers"
                )
        if type(value) in (dict, OrderedDict) and all(items[k] is value[k] for k in value):
            return value
        if not isinstance(value, OrderedDict):
            return items
        out = OrderedDict(items)
        if hasattr(value, "_metadata"):  # a module state dict's per-module versions
            out._metadata = value._metadata  # type: ignore[attr-defined]
        return out
    if isinstance(value, list | tuple):
        items = [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if type(value) in (list, tuple) and all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    raise TypeError(
        f"cannot save a checkpoint: {where} is a {type(value).__module__}.{type(value).__name__}; "
        "a checkpoint holds only tensors and plain values (dicts, lists, tuples, strings, "
        "numbers, booleans, None), so save its state as those and rebuild it on load"
    )
