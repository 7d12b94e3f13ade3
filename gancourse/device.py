"""One place that picks the device every chapter, assignment and the CLI run on."""

from __future__ import annotations

import torch


def pick_device(preferred: str | torch.device | None = None) -> torch.device:
    """Return `preferred` if given, else CUDA, then Apple MPS, then the CPU.

    A requested device that is not available raises a RuntimeError naming the ones that are,
    instead of failing later inside a forward pass.
    """
    if preferred is not None:
        device = torch.device(preferred)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {str(device)!r} requested but CUDA is not available; "
                f"available: {available_devices()}"
            )
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(
                f"device 'mps' requested but Apple MPS is not available; "
                f"available: {available_devices()}"
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> list[str]:
    """Names of the device types this machine can run on."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names.insert(0, "cuda")
    if _mps_available():
        names.insert(0, "mps")
    return names


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo, else what `platform` knows), for
    benchmark results and experiment records that say which machine measured them."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
