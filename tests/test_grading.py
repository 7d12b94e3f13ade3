"""Grading checks: a correct network written differently passes every check; each kind of
mistake fails exactly the check for it, with a message a student can act on."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gancourse as gc
from gancourse import grading
from gancourse.grading import GradingFailure

Z = (100,)
IMAGE = (1, 28, 28)


class StudentGenerator(nn.Module):
    """The slides' vanilla G, written another way: attributes defined out of order, the
    activation as a function, the reshape by hand."""

    def __init__(self, slope=0.2, final=torch.tanh, first_bias=True, detach_last=False):
        super().__init__()
        self.out = nn.Linear(1024, 784)
        self.fc1 = nn.Linear(100, 256, bias=first_bias)
        self.fc2 = nn.Linear(256, 512)
        self.fc3 = nn.Linear(512, 1024)
        self.bn1, self.bn2, self.bn3 = (
            nn.BatchNorm1d(256),
            nn.BatchNorm1d(512),
            nn.BatchNorm1d(1024),
        )
        self.drop = nn.Dropout(0.3)
        self.slope, self.final, self.detach_last = slope, final, detach_last

    def forward(self, z):
        h = self.bn1(F.leaky_relu(self.fc1(z), self.slope))
        h = self.bn2(F.leaky_relu(self.fc2(h), self.slope))
        h = self.drop(self.bn3(F.leaky_relu(self.fc3(h), self.slope)))
        if self.detach_last:
            h = F.linear(h, self.out.weight.detach(), self.out.bias)
        else:
            h = self.out(h)
        return self.final(h).view(-1, 1, 28, 28)


class StudentDiscriminator(nn.Module):
    def __init__(self, sigmoid=True):
        super().__init__()
        layers = [nn.Flatten(), nn.Dropout(0.3), nn.Linear(784, 512), nn.LeakyReLU(0.2)]
        layers += [nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1)]
        self.body = nn.Sequential(*layers, *([nn.Sigmoid()] if sigmoid else []))

    def forward(self, x):
        return self.body(x)


@pytest.fixture(scope="module")
def reference_g():
    return gc.build_generator("vanilla")


@pytest.fixture(scope="module")
def reference_d():
    return gc.build_discriminator("vanilla", outputs="probs")


def all_generator_checks(G, reference):
    grading.check_is_module(G, "generator")
    grading.check_not_reference(G, Z, "generator")
    grading.check_output_shape(G, Z, IMAGE, "generator")
    grading.check_output_range(G, Z, "tanh", "generator")
    grading.check_parameter_count(G, 1_489_936, "generator", reference, Z)
    grading.check_layer_kinds(
        G, Z, required={nn.BatchNorm1d: "the slides normalise each hidden layer"}, what="generator"
    )
    grading.check_gradients_reach_every_parameter(G, Z, "generator")
    grading.check_train_eval_behaviour(G, Z, "generator")
    grading.check_equivalent_to_reference(G, reference, Z, what="generator")


def test_a_correct_generator_written_differently_passes_everything(reference_g):
    torch.manual_seed(1)
    G = StudentGenerator()
    before = [p.clone() for p in G.parameters()]
    all_generator_checks(G, reference_g)
    assert all(torch.equal(a, b) for a, b in zip(before, G.parameters(), strict=True))
    assert G.training  # checks leave the student's mode alone


def test_a_correct_discriminator_passes_and_a_missing_sigmoid_is_named(reference_d):
    D = StudentDiscriminator()
    grading.check_output_shape(D, IMAGE, (1,), "discriminator")
    grading.check_output_range(D, IMAGE, "probs", "discriminator")
    grading.check_equivalent_to_reference(D, reference_d, IMAGE, what="discriminator")
    with pytest.raises(GradingFailure, match=r"outside \[0, 1\].*forget the Sigmoid"):
        grading.check_output_range(StudentDiscriminator(sigmoid=False), IMAGE, "probs", "D")


def test_sigmoid_instead_of_tanh_is_caught_by_the_range_check_only(reference_g):
    G = StudentGenerator(final=torch.sigmoid)
    with pytest.raises(GradingFailure, match="did you use Sigmoid .* instead of Tanh"):
        grading.check_output_range(G, Z, "tanh", "generator")
    grading.check_parameter_count(G, 1_489_936, "generator")
    grading.check_output_shape(G, Z, IMAGE, "generator")


def test_a_wrong_slope_fails_only_functional_equivalence(reference_g):
    G = StudentGenerator(slope=0.1)
    grading.check_parameter_count(G, 1_489_936, "generator")
    grading.check_gradients_reach_every_parameter(G, Z, "generator")
    with pytest.raises(GradingFailure, match=r"differ .* by up to .*slopes"):
        grading.check_equivalent_to_reference(G, reference_g, Z, what="generator")


def test_batchnorm_in_the_wrong_place_fails_equivalence(reference_g):
    class NormFirst(StudentGenerator):
        def forward(self, z):  # batchnorm before the activation instead of after
            h = F.leaky_relu(self.bn1(self.fc1(z)), self.slope)
            h = F.leaky_relu(self.bn2(self.fc2(h)), self.slope)
            h = self.drop(F.leaky_relu(self.bn3(self.fc3(h)), self.slope))
            return torch.tanh(self.out(h)).view(-1, 1, 28, 28)

    grading.check_parameter_count(NormFirst(), 1_489_936, "generator")
    with pytest.raises(GradingFailure, match="differ from the specification's"):
        grading.check_equivalent_to_reference(NormFirst(), reference_g, Z, what="generator")


def test_a_missing_bias_is_located_by_count_and_by_transplant(reference_g):
    G = StudentGenerator(first_bias=False)
    with pytest.raises(GradingFailure, match=r"1,489,680 .* weighted layer 1: yours is Linear"):
        grading.check_parameter_count(G, 1_489_936, "generator", reference_g, Z)
    with pytest.raises(
        GradingFailure,
        match=r"layer 1: yours is Linear .* \(256, 100\); the specification's .* bias \(256,\)",
    ):
        grading.check_equivalent_to_reference(G, reference_g, Z, what="generator")


def test_a_detached_layer_is_reported_by_name():
    with pytest.raises(GradingFailure, match=r"no gradient reaches 1 parameter.*out\.weight"):
        grading.check_gradients_reach_every_parameter(StudentGenerator(detach_last=True), Z, "G")


def test_wrapping_or_containing_the_reference_gets_no_points():
    class Contains(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = gc.build_generator("vanilla")

        def forward(self, z):
            return self.inner(z)

    hidden = [gc.build_generator("vanilla")]

    class Hides(nn.Module):
        def __init__(self):
            super().__init__()
            self.decoy = nn.Linear(1, 1)

        def forward(self, z):
            return hidden[0](z)

    class Subclasses(type(gc.build_generator("vanilla"))):
        pass

    with pytest.raises(GradingFailure, match="contains gancourse's VanillaGenerator"):
        grading.check_not_reference(Contains(), Z, "generator")
    with pytest.raises(GradingFailure, match="forward\\(\\) calls gancourse's VanillaGenerator"):
        grading.check_not_reference(Hides(), Z, "generator")
    with pytest.raises(GradingFailure, match="subclasses\\) gancourse's VanillaGenerator"):
        grading.check_not_reference(Subclasses(), Z, "generator")
    grading.check_not_reference(StudentGenerator(), Z, "generator")
    # the watch is removed afterwards: the reference runs normally
    assert type(gc.build_generator("vanilla")).forward.__name__ == "forward"


def test_train_eval_mistakes_are_explained():
    class AlwaysDropout(StudentGenerator):
        def forward(self, z):
            return F.dropout(super().forward(z), 0.5, training=True)

    class ListLayers(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(100, 784)
            self.hidden = [nn.Dropout(0.5)]  # a plain list: .eval() never reaches it

        def forward(self, z):
            return torch.tanh(self.hidden[0](self.fc(z))).view(-1, 1, 28, 28)

    with pytest.raises(GradingFailure, match="different outputs for the same input in eval"):
        grading.check_train_eval_behaviour(AlwaysDropout(), Z, "generator")
    with pytest.raises(GradingFailure, match="different outputs for the same input in eval"):
        grading.check_train_eval_behaviour(ListLayers(), Z, "generator")


def test_layer_kinds_follow_the_forward_pass_not_the_attributes():
    class PoolingD(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 8, 3, padding=1)
            self.unused_bn = nn.BatchNorm2d(8)  # defined, never called
            self.pool = nn.MaxPool2d(2)
            self.head = nn.Linear(8 * 14 * 14, 1)

        def forward(self, x):
            return self.head(self.pool(F.leaky_relu(self.conv(x), 0.2)).flatten(1))

    rules = {"required": {nn.BatchNorm2d: "DCGAN normalises the discriminator's features"}}
    with pytest.raises(GradingFailure, match="no BatchNorm2d layer runs .* DCGAN normalises"):
        grading.check_layer_kinds(PoolingD(), IMAGE, what="discriminator", **rules)
    with pytest.raises(GradingFailure, match="uses MaxPool2d: downsample with strides"):
        grading.check_layer_kinds(
            PoolingD(),
            IMAGE,
            forbidden={(nn.MaxPool2d, nn.AvgPool2d): "downsample with strides"},
            what="discriminator",
        )


def test_a_dcgan32_generator_with_literal_upsampling_matches_the_fast_reference():
    class Student32(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(100, 128 * 8 * 8)
            self.bn0 = nn.BatchNorm2d(128)
            self.conv1, self.bn1 = nn.Conv2d(128, 128, 3, padding=1), nn.BatchNorm2d(128)
            self.conv2, self.bn2 = nn.Conv2d(128, 64, 3, padding=1), nn.BatchNorm2d(64)
            self.conv3 = nn.Conv2d(64, 1, 3, padding=1)

        def forward(self, z):
            x = self.bn0(self.fc(z).view(-1, 128, 8, 8))
            x = F.leaky_relu(self.bn1(self.conv1(F.interpolate(x, scale_factor=2))), 0.2)
            x = F.leaky_relu(self.bn2(self.conv2(F.interpolate(x, scale_factor=2))), 0.2)
            return torch.tanh(self.conv3(x))

    reference = gc.build_generator("dcgan32", fast=False)
    grading.check_equivalent_to_reference(Student32(), reference, Z, what="generator")


def test_a_crashing_forward_or_a_class_instead_of_an_instance_is_a_clear_failure():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(10, 784)  # expects 10 numbers, gets 100

        def forward(self, z):
            return self.fc(z)

    with pytest.raises(
        GradingFailure, match=r"raised RuntimeError on an input of shape \(4, 100\)"
    ):
        grading.check_output_shape(Broken(), Z, IMAGE, "generator")
    with pytest.raises(GradingFailure, match="is the class StudentGenerator, not a network"):
        grading.check_is_module(StudentGenerator, "generator")
    with pytest.raises(GradingFailure, match="must be a torch.nn.Module"):
        grading.check_is_module(None, "generator")
    flat = nn.Sequential(nn.Linear(100, 784), nn.Tanh())  # (N, 784): never reshaped
    with pytest.raises(GradingFailure, match=r"reshape them with .view\(-1, 1, 28, 28\)"):
        grading.check_output_shape(flat, Z, IMAGE, "generator")


def test_an_equivalence_failure_names_the_likely_mistake(reference_g):
    # LeakyReLU's default slope (0.01) instead of the slides' 0.2: the grader recognises it
    with pytest.raises(GradingFailure, match="LeakyReLU's slope is 0.01"):
        grading.check_equivalent_to_reference(StudentGenerator(slope=0.01), reference_g, Z)


def test_training_mode_settings_are_checked_against_the_reference(reference_g):
    class WrongRate(StudentGenerator):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)

    grading.check_train_eval_behaviour(StudentGenerator(), Z, "generator", reference=reference_g)
    with pytest.raises(GradingFailure, match="dropout rate 0.5; the specification uses 0.3"):
        grading.check_train_eval_behaviour(WrongRate(), Z, "generator", reference=reference_g)
    # eval-mode equivalence does not see the dropout rate: one mistake, one check
    grading.check_equivalent_to_reference(WrongRate(), reference_g, Z, what="generator")


def test_eps_and_extra_layers_are_judged_once_by_their_own_check(reference_g):
    class SlideEps(StudentGenerator):  # the slide's nn.BatchNorm1d(n, 0.8)
        def __init__(self):
            super().__init__()
            for bn in (self.bn1, self.bn2, self.bn3):
                bn.eps = 0.8

    class ExtraNorm(StudentGenerator):  # one batch norm too many
        def __init__(self):
            super().__init__()
            self.bn1 = nn.Sequential(nn.BatchNorm1d(256), nn.BatchNorm1d(256))

    # eps shows in eval mode: the equivalence check names it, the train/eval check keeps quiet
    with pytest.raises(GradingFailure, match="eps is 0.8"):
        grading.check_equivalent_to_reference(SlideEps(), reference_g, Z, what="generator")
    grading.check_train_eval_behaviour(SlideEps(), Z, "generator", reference=reference_g)
    # an extra layer is the layer count's failure, not the training settings'
    grading.check_train_eval_behaviour(ExtraNorm(), Z, "generator", reference=reference_g)


def _cell(kind, source, grade_id=None, **flags):
    meta = {"nbgrader": {"grade_id": grade_id, **flags}} if grade_id else {}
    cell = {"cell_type": kind, "metadata": meta, "source": source}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def test_a_copy_without_metadata_keeps_the_students_cells_where_they_were():
    from gancourse.grading.notebook_grader import rebuild

    template = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            _cell("code", "import torch\nfrom torch import nn", "setup", locked=True),
            _cell(
                "code",
                "def bce(p, y):\n    ### BEGIN SOLUTION\n    ### END SOLUTION",
                "a1",
                solution=True,
            ),
            _cell("code", "assert bce is not None", "t1", grade=True, points=1),
            _cell(
                "code",
                "class Net(nn.Module):\n    ### BEGIN SOLUTION\n    ### END SOLUTION",
                "a2",
                solution=True,
            ),
            _cell("code", "assert Net is not None", "t2", grade=True, points=1),
        ],
    }
    stripped = {  # as some tools hand it back: no cell metadata, the student's helpers in place
        "cells": [
            _cell("code", "import torch\nfrom torch import nn"),
            _cell("code", "def bce(p, y):\n    return -(y * p.log()).mean()"),
            _cell("code", "assert bce is not None"),
            _cell("code", "class Block(nn.Module):  # the student's helper\n    pass"),
            _cell("code", "class Net(nn.Module):\n    block = Block"),
            _cell("code", "assert Net is not None"),
            _cell("code", "print('my demo')"),
        ]
    }
    rebuilt = rebuild(stripped, template)
    sources = [c.source for c in rebuilt.cells]
    assert sources[0] == "import torch\nfrom torch import nn"  # the instructor's own cell first
    assert sources[1] == "def bce(p, y):\n    return -(y * p.log()).mean()"
    helper = sources.index("class Block(nn.Module):  # the student's helper\n    pass")
    answer = sources.index("class Net(nn.Module):\n    block = Block")
    assert 0 < helper < answer  # after the imports, before the answer that uses it
    assert sources[-1] == "print('my demo')" and len(sources) == 7
    assert rebuilt.metadata["gancourse"]["restored_answers"] == 2


def test_a_shape_crash_names_the_layer_size_that_does_not_fit():
    D = gc.build_discriminator("dcgan32", outputs="probs")
    for module in D.modules():  # the slide's discriminator without padding: 32 -> 15 -> 7 -> 3 -> 1
        if isinstance(module, nn.Conv2d):
            module.padding = (0, 0)
    with pytest.raises(GradingFailure) as failure:
        grading.check_output_shape(D, (1, 32, 32), (1,), "discriminator")
    message = str(failure.value)
    assert "expects 512 input features and received 128" in message
    assert "padding" in message and "Flatten" in message


def test_the_notebook_of_another_assignment_is_named_as_such(tmp_path):
    import json

    import nbformat

    from gancourse.grading.nbgrader_plugins import RestoreFromSource

    def assignment(*answers):
        cells = [_cell("code", "import torch", "setup", locked=True)]
        for grade_id, signature in answers:
            cells.append(_cell("code", f"{signature}\n    pass", grade_id, solution=True))
        return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}

    a1 = assignment(("bce", "def bce(p, y):"), ("d_loss", "def discriminator_loss(r, f):"))
    a2 = assignment(("gen", "class Generator(nn.Module):"), ("disc", "class Discriminator:"))
    for name, notebook in (("a1", a1), ("a2", a2)):
        (tmp_path / "source" / name).mkdir(parents=True)
        (tmp_path / "source" / name / f"{name}.ipynb").write_text(json.dumps(notebook))
    resources = {
        "nbgrader": {
            "db_url": f"sqlite:///{tmp_path / 'gradebook.db'}",
            "assignment": "a2",
            "notebook": "a2",
        }
    }
    handed_in = nbformat.from_dict(a1)  # a1's notebook, handed in for a2
    rebuilt, _ = RestoreFromSource().preprocess(handed_in, resources)
    assert rebuilt.metadata["gancourse"]["looks_like"] == "a1"
    own, _ = RestoreFromSource().preprocess(nbformat.from_dict(a2), resources)
    assert "looks_like" not in own.metadata.get("gancourse", {})
