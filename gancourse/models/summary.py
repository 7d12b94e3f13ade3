"""What a network does layer by layer: the layers in the order they run, with output shapes.

A model's printout lists modules in the order they were defined; a trace runs one batch and
records the innermost layers in the order they actually run, with the shape each one returns.
The book prints the slides' parameter tables from it, and grading checks layer kinds with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gancourse.checks import describe
from gancourse.models.base import eval_mode

__all__ = ["LayerRecord", "layer_table", "show_layer_table", "trace_layers"]


@dataclass(frozen=True)
class LayerRecord:
    """One innermost layer's call: the module, its output shape (without the batch) and size."""

    module: nn.Module
    output_shape: tuple[int, ...]
    parameters: int  # trainable numbers of this layer alone
    running_statistics: int  # batchnorm running mean and variance (stored, not trained)

    @property
    def kind(self) -> str:
        return type(self.module).__name__


def trace_layers(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerRecord]:
    """Run a batch of 2 zero inputs of `input_shape` (no batch dimension) through `model` in
    eval mode and return its innermost layers in the order they ran. A layer that runs twice
    appears twice; layers that never run (dead code) do not appear."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, received {describe(model)}")
    shape = tuple(input_shape)
    if not shape or not all(isinstance(n, int) and n > 0 for n in shape):
        raise ValueError(
            f"input_shape: expected positive sizes without the batch dimension, e.g. (100,) or "
            f"(1, 28, 28); received {input_shape!r}"
        )
    records: list[LayerRecord] = []

    def record(module: nn.Module, inputs, output) -> None:
        out = output[0] if isinstance(output, tuple | list) else output
        params = sum(p.numel() for p in module.parameters(recurse=False) if p.requires_grad)
        running = sum(
            b.numel() for n, b in module.named_buffers(recurse=False) if n.startswith("running_")
        )
        records.append(LayerRecord(module, tuple(out.shape[1:]), params, running))

    leaves = [m for m in model.modules() if not list(m.children()) and type(m) is not nn.Identity]
    hooks = [m.register_forward_hook(record) for m in leaves]
    try:
        first = next(model.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        with eval_mode(model), torch.no_grad():
            model(torch.zeros(2, *shape, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return records


def layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> str:
    """A Markdown table of `trace_layers` (layer, output shape, parameters, running statistics)
    with totals, in the style of the slides' Keras/torchsummary printouts."""
    lines = [
        "| # | layer | output shape | parameters | running statistics |",
        "|---:|---|---|---:|---:|",
    ]
    records = trace_layers(model, input_shape)
    for i, rec in enumerate(records, start=1):
        shape = "(N, " + ", ".join(map(str, rec.output_shape)) + ")"
        lines.append(
            f"| {i} | {rec.kind}-{i} | {shape} | {rec.parameters:,} | {rec.running_statistics:,} |"
        )
    total = sum(r.parameters for r in records)
    running = sum(r.running_statistics for r in records)
    lines.append(f"| | **total** | | **{total:,}** | **{running:,}** |")
    return "\n".join(lines)


def show_layer_table(model: nn.Module, input_shape: tuple[int, ...]) -> tuple[int, int]:
    """Display `layer_table` in a notebook (printed elsewhere); return (parameters, running
    statistics) so a chapter can check them against the slides' totals."""
    table = layer_table(model, input_shape)
    try:
        from IPython.display import Markdown, display

        display(Markdown(table))
    except ImportError:
        print(table)
    records = trace_layers(model, input_shape)
    return sum(r.parameters for r in records), sum(r.running_statistics for r in records)
