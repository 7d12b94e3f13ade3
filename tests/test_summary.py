"""Layer traces and the parameter tables the book prints."""

import pytest
from torch import nn

from gancourse.models import build_discriminator, build_generator
from gancourse.models.summary import layer_table, show_layer_table, trace_layers


def test_vanilla_generator_trace_matches_the_slide_layer_by_layer():
    G = build_generator("vanilla")
    records = trace_layers(G, (100,))
    kinds = [r.kind for r in records]
    assert kinds == [
        "Linear", "LeakyReLU", "BatchNorm1d",
        "Linear", "LeakyReLU", "BatchNorm1d",
        "Linear", "LeakyReLU", "BatchNorm1d",
        "Dropout", "Linear", "Tanh",
    ]  # fmt: skip
    assert records[0].output_shape == (256,) and records[0].parameters == 100 * 256 + 256
    assert sum(r.parameters for r in records) == 1_489_936
    assert sum(r.running_statistics for r in records) == 3_584  # the slide's total minus ours
    assert G.training  # the trace leaves the mode as it was


def test_a_trace_follows_the_order_layers_run_not_the_order_they_were_defined():
    class Backwards(nn.Module):
        def __init__(self):
            super().__init__()
            self.second = nn.Linear(4, 2)
            self.first = nn.Linear(3, 4)

        def forward(self, x):
            return self.second(self.first(x))

    records = trace_layers(Backwards(), (3,))
    assert [r.output_shape for r in records] == [(4,), (2,)]


def test_the_table_has_a_row_per_layer_and_the_totals():
    D = build_discriminator("dcgan28")
    table = layer_table(D, D.image_shape)
    assert "**4,311,553**" in table
    assert table.count("\n") == len(trace_layers(D, D.image_shape)) + 2
    assert show_layer_table(D, D.image_shape) == (4_311_553, 0)


def test_bad_input_says_what_was_expected():
    with pytest.raises(TypeError, match="expected a torch.nn.Module"):
        trace_layers("not a model", (3,))
    with pytest.raises(ValueError, match=r"without the batch dimension.*received \(\)"):
        trace_layers(nn.Linear(3, 2), ())
