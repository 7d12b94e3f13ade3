"""Generators this package trained itself, for pages and exercises that need one that learned.

    G = gancourse.load_pretrained("vanilla")        # or "dcgan32", "conditional"
    images = G(torch.randn(16, G.latent_dim))      # (16, 1, 28, 28) in [-1, 1]

The weights ship with the package (float16, a few MB) and were made by
`scripts/train_pretrained.py`; `gancourse/models/weights/README.md` is their model card: the
command, the data, the steps, and the measured quality (classifier confidence, class shares,
offline MNIST FID, distance to the nearest training digit). They are data: loaded with
`torch.load(weights_only=True)`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from gancourse.device import pick_device

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FORMAT = "gancourse-pretrained-1"
PRETRAINED = ("vanilla", "dcgan32", "conditional")  # the shipped weights
NOT_YET_SHIPPED = {
    "dcgan28": "about 2 s per generator step on 2 CPU cores: train it on a GPU",
    "dcgan64": "the first attempt on colour-mnist did not learn (its D won by step 250)",
}
TRAIN_SCRIPT = "scripts/train_pretrained.py"


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}_generator.pt"


def build_untrained(name: str) -> nn.Module:
    """The generator architecture behind pretrained `name`, freshly initialised."""
    from gancourse.models import ConditionalGenerator, build_generator

    if name == "conditional":
        return ConditionalGenerator()
    return build_generator(name)


def load_pretrained(name: str, device: str | torch.device | None = None) -> nn.Module:
    """The generator `name` ('vanilla', 'dcgan32' or 'conditional') with the weights the package
    ships, in eval mode, float32, on `device` (default: the best available)."""
    if name in NOT_YET_SHIPPED:
        raise ValueError(
            f"no pretrained {name!r} generator ships with gancourse yet ({NOT_YET_SHIPPED[name]}); "
            f"make one with `python {TRAIN_SCRIPT} --model {name}`, or use one of "
            f"{list(PRETRAINED)}"
        )
    if name not in PRETRAINED:
        raise ValueError(f"name: expected one of {list(PRETRAINED)}, received {name!r}")
    path = weights_path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"the pretrained {name!r} generator's weights are missing: {path} does not exist. "
            f"They ship with gancourse (reinstall it), or recreate them from the repository "
            f"root with `python {TRAIN_SCRIPT} --model {name}`."
        )
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT or saved.get("name") != name:
        raise ValueError(f"{path} is not gancourse's pretrained {name!r} generator")
    G = build_untrained(name)
    state = {k: v.float() if v.is_floating_point() else v for k, v in saved["state"].items()}
    G.load_state_dict(state)
    return G.to(pick_device(device)).eval()


def save_pretrained(name: str, G: nn.Module, info: dict) -> Path:
    """Write G's weights as float16 (the format `load_pretrained` reads); `info` is stored too."""
    state = {
        k: v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()
        for k, v in G.state_dict().items()
    }
    path = weights_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "name": name, "state": state, "info": info}, path)
    return path
