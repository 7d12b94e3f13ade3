"""The visible checks a student runs catch the common mistakes of their part, in that part's
cell only, with the likely cause named (the hidden tests add inputs, not kinds of mistakes)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)

# one typical mistake per row: (name, [(solution text, mistaken text)], the one visible cell
# that must fail, words its message must contain)
A1_MISTAKES = [
    (
        "bce_sum",
        [("(1 - y) * torch.log(1 - p)).mean()", "(1 - y) * torch.log(1 - p)).sum()")],
        "test_bce_values",
        "take the mean",
    ),
    (
        "labels_swapped",
        [("bce(d_real, 1.0) + bce(d_fake, 0.0)\n", "bce(d_real, 0.0) + bce(d_fake, 1.0)\n")],
        "test_discriminator_loss",
        "labels are swapped",
    ),
    (
        "value_terms_swapped",
        [
            (
                "torch.log(d_real).mean() + torch.log(1 - d_fake).mean()",
                "torch.log(1 - d_real).mean() + torch.log(d_fake).mean()",
            )
        ],
        "test_value_function",
        "terms are swapped",
    ),
    (
        "saturating_log_d",
        [("return torch.log(1 - d_fake).mean()", "return torch.log(d_fake).mean()")],
        "test_generator_loss_saturating",
        "not log D",
    ),
    (
        "non_saturating_label_0",
        [("    return bce(d_fake, 1.0)\n", "    return bce(d_fake, 0.0)\n")],
        "test_generator_loss_non_saturating",
        "label 1 on its fakes",
    ),
]


def run_visible(assignment: str, replacements: list[tuple[str, str]]) -> dict[str, str]:
    """Run the student's view of the solution notebook (hidden tests removed) with the given
    mistakes, in a plain kernel as a student would; the failing cells' messages by grade id."""
    notebook = nbformat.read(NOTEBOOKS / assignment / f"{assignment}.ipynb", as_version=4)
    answers = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]
    for old, _ in replacements:  # a mistake whose anchor moved away would test nothing
        assert any(old in c.source for c in answers), f"{old!r} is not in {assignment}'s answers"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = HIDDEN.sub("", cell.source)
    for cell in answers:  # the mistakes are the student's: in answer cells only
        for old, new in replacements:
            cell.source = cell.source.replace(old, new)
    # NBGRADER_EXECUTION: the notebook's training demo is skipped, as while grading
    env = {**os.environ, "NBGRADER_EXECUTION": "validate"}
    NotebookClient(notebook, timeout=300, allow_errors=True).execute(env=env)
    return {
        cell.metadata.get("nbgrader", {}).get("grade_id", "?"): output.evalue
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    }


NO_TANH = [("            nn.Tanh(),\n", "")]
G2_LEAKY = "nn.LeakyReLU(0.2),\n            nn.BatchNorm1d("  # only a2's G has both
G2_DROPOUT = "nn.Dropout({}),\n            nn.Linear(1024"
SLIDE_EPS = [  # the slide's nn.BatchNorm2d(n, 0.8), in every batch norm of a3's generator
    ("nn.BatchNorm2d(128),  # (N, 128, 8, 8)", "nn.BatchNorm2d(128, 0.8),  # (N, 128, 8, 8)"),
    (
        "nn.BatchNorm2d(128),\n            nn.LeakyReLU(0.2),\n            nn.Upsample",
        "nn.BatchNorm2d(128, 0.8),\n            nn.LeakyReLU(0.2),\n            nn.Upsample",
    ),
    (
        "nn.BatchNorm2d(64),\n            nn.LeakyReLU(0.2),\n            nn.Conv2d(64, 1",
        "nn.BatchNorm2d(64, 0.8),\n            nn.LeakyReLU(0.2),\n            nn.Conv2d(64, 1",
    ),
]
BILINEAR = [("nn.Upsample(scale_factor=2),", 'nn.Upsample(scale_factor=2, mode="bilinear"),')]
# (assignment, name, mistake, the one cell that must fail, words its message must contain);
# an untrained generator's pixels are small: only large inputs show a missing Tanh
NETWORK_MISTAKES = [
    ("a2_vanilla_gan", "no_tanh", NO_TANH, "test_generator_range", "Tanh"),
    (
        "a2_vanilla_gan",
        "default_leaky_slope",
        [(G2_LEAKY, "nn.LeakyReLU(),\n            nn.BatchNorm1d(")],
        "test_generator_equivalent",
        "slope is 0.01",
    ),
    (
        "a2_vanilla_gan",
        "dropout_0.5",
        [(G2_DROPOUT.format(0.3), G2_DROPOUT.format(0.5))],
        "test_generator_train_eval",
        "dropout rate 0.5",
    ),
    ("a3_dcgan", "no_tanh", NO_TANH, "generator_range", "Tanh"),
    ("a3_dcgan", "bilinear_upsample", BILINEAR, "generator_equivalence", "'bilinear'"),
    ("a3_dcgan", "slide_eps", SLIDE_EPS, "generator_equivalence", "eps is 0.8"),
    (
        "a3_dcgan",
        "d_dropout_0.5",
        [("nn.Dropout2d(0.25),", "nn.Dropout2d(0.5),")],
        "discriminator_train_eval",
        "dropout rate 0.5",
    ),
]
PENALTY = "test_gradient_penalty_"
A5_MISTAKES = [  # the training test judges what the penalty does, so it shares two of them
    (
        "epsilon_swapped",
        [("(e * real.detach() + (1 - e) * fake.detach())", "((1 - e) * real + e * fake)")],
        [PENALTY + "values"],
        "not the other way round",
    ),
    (
        "whole_batch_norm",
        [("norms = grad.flatten(1).norm(dim=1)", "norms = grad.norm()")],
        [PENALTY + "values", PENALTY + "makes_a_lipschitz_critic"],
        "EACH sample's gradient",
    ),
    (
        "no_create_graph",
        [("x_hat, create_graph=True)", "x_hat)")],
        [PENALTY + "create_graph", PENALTY + "makes_a_lipschitz_critic"],
        "create_graph=True",
    ),
    (
        "one_epsilon",
        [("epsilon = torch.rand(n)", "epsilon = torch.rand(1).expand(n)")],
        [PENALTY + "random_points"],
        "one epsilon per sample",
    ),
]
MISTAKES = [("a1_losses", *m) for m in A1_MISTAKES] + NETWORK_MISTAKES
MISTAKES += [("a5_modern_objectives", *m) for m in A5_MISTAKES]


@pytest.mark.parametrize(
    "assignment", ["a1_losses", "a2_vanilla_gan", "a3_dcgan", "a5_modern_objectives"]
)
def test_the_solution_passes_every_visible_check(assignment):
    assert run_visible(assignment, []) == {}


@pytest.mark.parametrize(
    ("assignment", "name", "mistake", "cell", "cause"),
    MISTAKES,
    ids=[f"{m[0]}-{m[1]}" for m in MISTAKES],
)
def test_each_mistake_fails_its_own_visible_cell_with_the_cause(
    assignment, name, mistake, cell, cause
):
    failed = run_visible(assignment, mistake)
    cells = cell if isinstance(cell, list) else [cell]
    assert sorted(failed) == sorted(cells), failed
    assert cause in failed[cells[0]]
