"""What the grader may ask of a student's network: data in, data out.

A `ModuleProbe` wraps a network and answers questions with plain data (shapes, tensors, layer
traces), never with the network itself. The checks in `structure`, `equivalence` and
`provenance` only ever use these answers, and decide the verdict from them. In a student's own
notebook the probe runs in the same process; when grading, the same probe runs inside the
sandbox (`worker`) and the answers travel back as data (`remote.RemoteModule` has the same
methods), so the verdict is computed by a process that never ran student code.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from gancourse.models.summary import trace_layers

RUNNING = ("running_mean", "running_var")


def class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _attributes(module: nn.Module) -> dict[str, Any]:
    """The settings of a layer that change what it computes, as plain values."""
    out: dict[str, Any] = {}
    for name in (
        "p",
        "eps",
        "momentum",
        "negative_slope",
        "mode",
        "scale_factor",
        "kernel_size",
        "stride",
        "padding",
        "affine",
        "track_running_stats",
        "in_features",
        "out_features",
        "in_channels",
        "out_channels",
    ):
        value = getattr(module, name, None)
        if isinstance(value, (bool, int, float, str, tuple)):
            out[name] = value
    return out


class ModuleProbe:
    """Questions about one network, each answered with data."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    # -- what it is -------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        model = self.model
        return {
            "class": type(model).__name__,
            "mro": [class_path(c) for c in type(model).__mro__],
            "contained": sorted({class_path(type(m)) for m in model.modules()}),
            "training": bool(model.training),
        }

    def parameter_list(self) -> list[dict[str, Any]]:
        return [
            {"name": n, "value": p.detach().clone(), "requires_grad": bool(p.requires_grad)}
            for n, p in self.model.named_parameters()
        ]

    def layers(self, input_shape: tuple[int, ...]) -> dict[str, Any]:
        """The innermost layers in the order they run (one zero batch, eval mode): kind, class,
        trainable size, output shape, settings, and the tensors first used by each layer (its
        parameters and running statistics); then parameters used outside any layer."""
        seen: set[int] = set()
        names = {id(t): n for n, t in self.model.named_parameters()}
        names.update({id(t): n for n, t in self.model.named_buffers()})
        layers = []
        for rec in trace_layers(self.model, tuple(input_shape)):
            own = [
                (name, t)
                for name, t in [
                    *rec.module.named_parameters(recurse=False),
                    *((n, b) for n, b in rec.module.named_buffers(recurse=False) if n in RUNNING),
                ]
                if id(t) not in seen
            ]
            seen.update(id(t) for _, t in own)
            layers.append(
                {
                    "kind": rec.kind,
                    "class": class_path(type(rec.module)),
                    "parameters": rec.parameters,
                    "output_shape": list(rec.output_shape),
                    "attributes": _attributes(rec.module),
                    "tensors": [[n, list(t.shape), names.get(id(t), "?")] for n, t in own],
                }
            )
        extra = [[n, list(p.shape)] for n, p in self.model.named_parameters() if id(p) not in seen]
        return {"layers": layers, "extra": extra}

    # -- what it does -----------------------------------------------------------------------

    def tensors_in_use_order(self, input_shape) -> list[torch.Tensor]:
        """Parameters and running statistics in the order the layers use them."""
        by_name = dict(self.model.named_parameters())
        by_name.update(dict(self.model.named_buffers()))
        info = self.layers(input_shape)
        order = [entry[2] for layer in info["layers"] for entry in layer["tensors"]]
        order += [name for name, _ in info["extra"]]
        return [by_name[n] for n in order]

    def load(self, input_shape: tuple[int, ...], tensors: list[torch.Tensor]) -> None:
        """Copy `tensors` into the network's parameters and running statistics, in the order of
        `layers(input_shape)`."""
        mine = self.tensors_in_use_order(input_shape)
        if [tuple(t.shape) for t in mine] != [tuple(t.shape) for t in tensors]:
            raise ValueError("the tensors do not line up with the network's layers")
        with torch.no_grad():
            for target, value in zip(mine, tensors, strict=True):
                target.copy_(value.to(target.device, target.dtype))

    def forward(
        self,
        inputs: torch.Tensor,
        train: bool | None = None,
        seed: int | None = None,
        device: str | None = None,
    ) -> dict[str, Any]:
        """The output for `inputs` (no gradients), in training or eval mode (None: as it is),
        on `device` (None: where the network is). The mode is put back."""
        model, was = self.model, self.model.training
        if device is not None:
            model.to(device)
        if train is not None:
            model.train(train)
        try:
            if seed is not None:
                torch.manual_seed(seed)
            with torch.no_grad():
                out = model(inputs.to(_device(model)))
        finally:
            model.train(was)
        if not isinstance(out, torch.Tensor):
            return {"output": None, "returned": type(out).__name__}
        return {"output": out.detach().float().cpu(), "returned": "Tensor"}

    def gradients(self, inputs: torch.Tensor, seed: int = 0) -> dict[str, Any]:
        """One backward pass in training mode of sum(output * w) for fixed random w: whether the
        output carries a gradient, and each trainable parameter's gradient (None if none)."""
        model, was = self.model, self.model.training
        params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        model.train()
        model.zero_grad(set_to_none=True)
        try:
            torch.manual_seed(seed)
            out = model(inputs.to(_device(model)))
            if not isinstance(out, torch.Tensor):
                return {"returned": type(out).__name__, "carries_grad": False, "grads": {}}
            if not out.requires_grad:
                return {"returned": "Tensor", "carries_grad": False, "grads": {}}
            weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
            (out.float() * weights.to(out.device)).sum().backward()
            grads = {
                n: (p.grad.detach().float().cpu().clone() if p.grad is not None else None)
                for n, p in params.items()
            }
            return {"returned": "Tensor", "carries_grad": True, "grads": grads}
        finally:
            model.zero_grad(set_to_none=True)
            model.train(was)

    def set_mode(self, train: bool) -> dict[str, Any]:
        """Call .train(train) and report the parts whose mode did not follow."""
        self.model.train(train)
        stuck = [n or "(the model)" for n, m in self.model.named_modules() if m.training != train]
        return {"stuck": stuck}

    def copy(self) -> nn.Module:
        return copy.deepcopy(self.model)

    def course_forwards(self, inputs: torch.Tensor) -> list[str]:
        """Names of gancourse's own layers or networks whose forward() ran on `inputs`."""
        was = self.model.training
        self.model.eval()
        try:
            with watch_course_forwards() as calls, torch.no_grad():
                self.model(inputs.to(_device(self.model)))
        finally:
            self.model.train(was)
        return sorted(set(calls))


def _device(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def is_remote(obj: object) -> bool:
    """Whether `obj` stands for an object inside the sandbox (see `remote`)."""
    return bool(getattr(type(obj), "lives_in_sandbox", False))


def as_probe(model: object):
    """The probe for a network: itself when it lives in the sandbox (a RemoteModule answers the
    same questions), otherwise a ModuleProbe in this process."""
    if is_remote(model) or isinstance(model, ModuleProbe):
        return model
    return ModuleProbe(model)  # type: ignore[arg-type]


def _course_class(cls: type) -> bool:
    return cls.__module__.split(".")[0] == "gancourse"


def _course_modules() -> list[type]:
    """Every nn.Module subclass the package defines (the reference networks and layers)."""
    import gancourse.models  # noqa: F401  (imports every model module)

    found, stack = set(), [nn.Module]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return sorted((c for c in found if _course_class(c)), key=lambda c: c.__qualname__)


@contextlib.contextmanager
def watch_course_forwards() -> Iterator[list[str]]:
    """Record the names of course classes whose forward() runs inside the block."""
    calls: list[str] = []
    classes = _course_modules()
    originals = {cls: cls.__dict__["forward"] for cls in classes if "forward" in cls.__dict__}

    def watched(forward):
        def wrapper(self, *args, **kwargs):
            calls.append(type(self).__name__)
            return forward(self, *args, **kwargs)

        return wrapper

    for cls, forward in originals.items():
        cls.forward = watched(forward)
    try:
        yield calls
    finally:
        for cls, forward in originals.items():
            cls.forward = forward
