"""nbgrader preprocessors that grade a submission without trusting it.

In `autograder/nbgrader_config.py`:

- `RestoreFromSource` (the only sanitize step): the submission is rebuilt from the assignment's
  source notebook, keeping only the student's answers and extra cells (`notebook_grader.rebuild`);
- `GradeInSandbox` (instead of nbgrader's Execute): the student's cells run in the sandbox and
  the test cells in the grader's own process (`notebook_grader.grade_notebook`);
- `HideHiddenTests` (in feedback): the hidden tests' code becomes one comment line; their
  messages stay in the outputs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Integer, Unicode

from gancourse.grading.notebook_grader import (
    answer_names,
    grade_notebook,
    provided_sources,
    rebuild,
    resemblance,
)
from gancourse.grading.sandbox import SandboxLimits, check_isolation

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", re.S)


def _course_root(resources) -> Path:
    url = resources["nbgrader"]["db_url"]
    return Path(url.removeprefix("sqlite:///")).resolve().parent


def _template(resources) -> dict:
    """The assignment's source notebook (the instructor's, in the course root)."""
    info = resources["nbgrader"]
    source = _course_root(resources) / "source" / info["assignment"] / f"{info['notebook']}.ipynb"
    return json.loads(source.read_text(encoding="utf-8"))


class RestoreFromSource(NbGraderPreprocessor):
    """Rebuild the submission from the source notebook (answers and extra cells kept)."""

    def preprocess(self, nb, resources):
        template = _template(resources)
        rebuilt = rebuild(nb, template)
        other = _other_assignment(nb, template, resources)
        if other:
            rebuilt.metadata.setdefault("gancourse", {})["looks_like"] = other
        return rebuilt, resources


def _other_assignment(nb, template: dict, resources) -> str | None:
    """The assignment a submission looks like when it is not its own (the wrong file handed
    in): another source notebook whose answer cells it has, at least half of them."""
    own = resemblance(nb, template)
    if own >= 0.5:
        return None
    best, best_share = None, 0.5
    current = resources["nbgrader"]["assignment"]
    for source in sorted((_course_root(resources) / "source").glob("*/*.ipynb")):
        if source.parent.name == current:
            continue
        try:
            share = resemblance(nb, json.loads(source.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if share > max(best_share, own):
            best, best_share = source.parent.name, share
    return best


class GradeInSandbox(NbGraderPreprocessor):
    """Run the student's cells in the sandbox and decide every test cell outside it."""

    wall_timeout = Integer(900, help="Seconds for the whole notebook").tag(config=True)
    cell_timeout = Integer(120, help="Seconds per cell or test question").tag(config=True)
    memory_mb = Integer(6144, allow_none=True, help="Address-space limit (MB); None: off").tag(
        config=True
    )
    cpu_seconds = Integer(1800, allow_none=True, help="CPU-time limit; None: off").tag(config=True)
    allow_network = Bool(False, help="Let student code use the network").tag(config=True)
    unsafe = Bool(False, help="Grade even where the sandbox cannot isolate student code").tag(
        config=True
    )

    def preprocess(self, nb, resources):
        limits = SandboxLimits(
            wall_s=self.wall_timeout,
            cell_s=self.cell_timeout,
            memory_mb=self.memory_mb,
            cpu_s=self.cpu_seconds,
            network=self.allow_network,
        )
        isolation = check_isolation(limits, unsafe=self.unsafe)
        template = _template(resources)
        provided, answers = provided_sources(template), answer_names(template)
        return grade_notebook(nb, limits, isolation, provided, answers), resources


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows what a hidden test said, not its code."""

    note = Unicode("# (hidden tests ran here; their messages are in the output)")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "### BEGIN HIDDEN TESTS" in cell.source:
            cell.source = _HIDDEN.sub(self.note, cell.source)
        return cell, resources


__all__ = ["GradeInSandbox", "HideHiddenTests", "RestoreFromSource", "nbformat"]
