"""A submission must be the student's own network, not the course's reference in disguise.

Two ways a student could hand in the reference: put one of gancourse's models (or layers)
inside their module, or call one from their forward() while holding it somewhere the module
does not see (a global, a plain list). The first shows in the module tree; the second is
caught by watching the reference classes' forward() while the student's network runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from gancourse.grading.failures import GradingFailure, probe_inputs, run


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
def _watch_forwards(classes: list[type]) -> Iterator[list[str]]:
    """Record the names of course classes whose forward() runs inside the block."""
    calls: list[str] = []
    originals = {cls: cls.__dict__["forward"] for cls in classes if "forward" in cls.__dict__}

    def watched(cls, forward):
        def wrapper(self, *args, **kwargs):
            calls.append(type(self).__name__)
            return forward(self, *args, **kwargs)

        return wrapper

    for cls, forward in originals.items():
        cls.forward = watched(cls, forward)
    try:
        yield calls
    finally:
        for cls, forward in originals.items():
            cls.forward = forward


def check_not_reference(
    model: nn.Module, input_shape: tuple[int, ...], what: str = "model"
) -> None:
    """Fail if the network contains, subclasses or calls one of gancourse's own networks or
    layers: the assignment asks for the layers to be written with torch.nn."""
    for cls in type(model).__mro__:
        if _course_class(cls) and issubclass(cls, nn.Module):
            raise GradingFailure(
                f"your {what} is (or subclasses) gancourse's {cls.__name__}: write the network "
                f"yourself, subclassing torch.nn.Module"
            )
    inside = sorted({type(m).__name__ for m in model.modules() if _course_class(type(m))})
    if inside:
        raise GradingFailure(
            f"your {what} contains gancourse's {', '.join(inside)}: build it from torch.nn "
            f"layers yourself instead of using the course's reference"
        )
    with _watch_forwards(_course_modules()) as calls, torch.no_grad():
        was_training = model.training
        model.eval()
        try:
            run(model, probe_inputs(input_shape, n=2), what)
        finally:
            model.train(was_training)
    if calls:
        raise GradingFailure(
            f"your {what}'s forward() calls gancourse's {', '.join(sorted(set(calls)))}: the "
            f"assignment asks you to compute it with your own layers"
        )
