"""Checks that grade a student's generator or discriminator against the reference models.

Each check raises `GradingFailure` (an AssertionError, so an nbgrader test cell fails and
loses its points) with a message a student can act on, and passes silently otherwise. One
check per behaviour, so points can be given per behaviour:

- `check_is_module`, `check_not_reference`: a torch module, written by the student;
- `check_output_shape`, `check_output_range`: what comes out;
- `check_parameter_count`, `check_layer_kinds`: what it is made of;
- `check_gradients_reach_every_parameter`, `check_train_eval_behaviour`: how it trains;
- `check_equivalent_to_reference`: with the reference's weights copied in, it computes the
  reference's function (on the CPU, and on CUDA when there is a GPU).
"""

from gancourse.grading.equivalence import check_equivalent_to_reference, transplant_weights
from gancourse.grading.failures import GradingFailure
from gancourse.grading.provenance import check_not_reference
from gancourse.grading.structure import (
    check_gradients_reach_every_parameter,
    check_is_module,
    check_layer_kinds,
    check_output_range,
    check_output_shape,
    check_parameter_count,
    check_train_eval_behaviour,
)

__all__ = [
    "GradingFailure",
    "check_equivalent_to_reference",
    "check_gradients_reach_every_parameter",
    "check_is_module",
    "check_layer_kinds",
    "check_not_reference",
    "check_output_range",
    "check_output_shape",
    "check_parameter_count",
    "check_train_eval_behaviour",
    "transplant_weights",
]
