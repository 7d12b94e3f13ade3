"""Device picking: one helper, clear errors for devices this machine does not have."""

from __future__ import annotations

import pytest
import torch

from gancourse.device import available_devices, pick_device


def test_default_is_the_best_available():
    device = pick_device()
    expected = "cuda" if torch.cuda.is_available() else available_devices()[0]
    assert device.type == expected


def test_explicit_cpu():
    assert pick_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available; available: .*cpu"):
        pick_device("cuda")
