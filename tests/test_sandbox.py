"""The sandbox that runs student notebooks: limits, network, and what it reports."""

from __future__ import annotations

import os
import shutil

import nbformat
import pytest

from gancourse.grading.nbgrader_plugins import mark_not_run
from gancourse.grading.sandbox import (
    SandboxAbort,
    SandboxLimits,
    execute_in_sandbox,
    isolation_report,
)

pytestmark = pytest.mark.autograder
FAST = SandboxLimits(
    wall_s=60, cell_s=20, memory_mb=6144, cpu_s=60
)  # torch needs ~4 GB of address space


def notebook(*sources: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_a_notebook_runs_in_an_empty_folder_with_errors_recorded():
    out = execute_in_sandbox(
        notebook("import os; print(sorted(os.listdir('.')))", "1 / 0", "print('after')"), FAST
    )
    visible = [name for name in eval(text(out.cells[0])) if not name.startswith(".")]
    assert visible == ["submission.ipynb"]  # no gradebook, no other submissions
    assert out.cells[1].outputs[-1].output_type == "error"
    assert out.cells[1].outputs[-1].ename == "ZeroDivisionError"
    assert text(out.cells[2]).strip() == "after"  # execution goes on after an error


def test_a_cell_that_runs_forever_is_interrupted_and_the_rest_still_runs():
    limits = SandboxLimits(wall_s=120, cell_s=3, memory_mb=None, cpu_s=None)
    out = execute_in_sandbox(notebook("while True: pass", "print('next')"), limits)
    assert out.cells[0].outputs[-1].output_type == "error"
    assert text(out.cells[1]).strip() == "next"


def test_the_whole_notebook_time_limit_aborts_with_the_reason():
    limits = SandboxLimits(wall_s=8, cell_s=60, memory_mb=None, cpu_s=None)
    with pytest.raises(SandboxAbort, match="did not finish within 8 s"):
        execute_in_sandbox(notebook("import time; time.sleep(30)"), limits)


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) is missing")
def test_memory_beyond_the_limit_fails_in_the_cell():
    out = execute_in_sandbox(notebook("x = bytearray(8 * 1024**3)", "print('ok')"), FAST)
    assert out.cells[0].outputs[-1].ename == "MemoryError"
    assert text(out.cells[1]).strip() == "ok"


@pytest.mark.skipif(
    not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("unshare")),
    reason="network isolation needs root and unshare",
)
def test_student_code_sees_no_network_interface_but_loopback():
    # /proc/net/dev lists the interfaces of the process's own network namespace
    code = "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev') if ':' in l))"
    out = execute_in_sandbox(notebook(code), FAST)
    assert text(out.cells[0]).strip() == "['lo']"


def test_the_report_says_what_is_and_is_not_isolated():
    report = "\n".join(isolation_report(FAST))
    assert "wall-clock limit 60 s" in report
    assert ("no network" in report) or ("network NOT blocked" in report)
    assert ("runs as user 'nobody'" in report) or ("CAN read" in report)


def test_a_notebook_that_did_not_run_scores_nothing_anywhere():
    nb = notebook("x = 1", "assert x == 1")
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1}
    marked = mark_not_run(nb, "the notebook did not finish within 9 s (time limit)")
    assert marked.cells[0].outputs == []
    assert marked.cells[1].outputs[0].ename == "ExecutionAborted"
    assert "9 s" in marked.cells[1].outputs[0].evalue
