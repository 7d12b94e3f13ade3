"""nbgrader preprocessors that make autograding safe for a whole class.

`SandboxedExecute` replaces nbgrader's `Execute` in `c.Autograde.autograde_preprocessors`: the
submission runs in `gancourse.grading.sandbox` (own process, limits, no network, no course
files). A notebook that does not finish (an infinite loop, a crash, too much memory) gets an
error in every graded cell, so that student scores zero on what did not run, with the reason
in the feedback, and grading goes on with the next student.
"""

from __future__ import annotations

import nbformat
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from gancourse.grading.sandbox import SandboxAbort, SandboxLimits, execute_in_sandbox


class SandboxedExecute(Execute):
    """nbgrader's Execute, run in the sandbox with limits for the whole notebook."""

    wall_timeout = Integer(900, help="Seconds for the whole notebook").tag(config=True)
    memory_mb = Integer(6144, allow_none=True, help="Address-space limit (MB); None: off").tag(
        config=True
    )
    cpu_seconds = Integer(1800, allow_none=True, help="CPU-time limit; None: off").tag(config=True)
    allow_network = Bool(False, help="Let student code use the network").tag(config=True)

    def preprocess(self, nb, resources, km=None):
        limits = SandboxLimits(
            wall_s=self.wall_timeout,
            cell_s=self.timeout or 120,
            memory_mb=self.memory_mb,
            cpu_s=self.cpu_seconds,
            network=self.allow_network,
        )
        kernel = self.kernel_name or "python3"
        try:
            executed = execute_in_sandbox(nb, limits, kernel_name=kernel)
        except SandboxAbort as abort:
            self.log.warning("Execution aborted: %s", abort)
            return mark_not_run(nb, str(abort)), resources
        return executed, resources


def mark_not_run(nb, reason: str):
    """Put an error with `reason` into every graded code cell (so none scores by default)."""
    for cell in nb.cells:
        grading = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and grading.get("grade"):
            cell.outputs = [
                nbformat.v4.new_output(
                    "error",
                    ename="ExecutionAborted",
                    evalue=reason,
                    traceback=[f"ExecutionAborted: {reason}"],
                )
            ]
    return nb
