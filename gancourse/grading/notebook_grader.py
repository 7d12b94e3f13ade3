"""Grade one submitted notebook: the student's cells run in the sandbox, the tests run here.

1. `rebuild` puts the submission back into the assignment's shape: every cell the instructor
   wrote (instructions, set-up, test cells with their hidden tests, their metadata and points)
   comes from the source notebook; only the answer cells and the student's own extra cells come
   from the submission. Deleted or edited test cells and changed grading metadata are thereby
   restored, never trusted.
2. `grade_notebook` walks the cells in order. Answer cells and extra cells run in the sandbox
   (`remote.Submission`); locked set-up cells run there and here; test cells run only here, in
   this process, which never executes student code: the names the student defined are proxies
   (`remote.RemoteName`), so every verdict is computed here from data the sandbox returned.
3. A process death costs only what needed it: the sandbox restarts and replays the earlier
   cells, and grading goes on.

Test cells get an error output (costing their points) or none; a failure shows its message,
never the hidden test's code.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import io
import re
import time
from typing import Any

import nbformat
import torch

from gancourse.grading.provenance import static_flags, without_magics
from gancourse.grading.remote import RemoteName, Submission, SubmissionError
from gancourse.grading.sandbox import Isolation, SandboxLimits, storage_hint

GRADING_SEED = 0  # every notebook's tests start from the same torch RNG state
STUB = "# This answer cell was missing from the submission.\nraise NotImplementedError()\n"
_SOLUTION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION", re.S)


def _meta(cell) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _id(cell) -> str | None:
    grade_id = _meta(cell).get("grade_id")
    return str(grade_id) if grade_id else None


def is_test(cell) -> bool:
    m = _meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def is_setup(cell) -> bool:
    m = _meta(cell)
    return (
        cell.get("cell_type") == "code"
        and bool(m.get("locked"))
        and not m.get("grade")
        and not m.get("solution")
    )


def answer_names(template: dict) -> set[str]:
    """The names the assignment asks the student to define: top-level functions, classes and
    assignments of its answer cells (what the tests may call). Only these become proxies in the
    grader's namespace; a student's own `enumerate` or `abs` never does."""
    names: set[str] = set()
    for cell in template["cells"]:
        if cell.get("cell_type") != "code" or not _meta(cell).get("solution"):
            continue
        try:
            tree = ast.parse(without_magics(_text(cell.get("source", ""))))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names - set(dir(builtins))


def provided_sources(template: dict) -> set[str]:
    """The template's unlocked code cells without nbgrader metadata (demos the student runs)."""
    return {
        _text(c.get("source", "")).strip()
        for c in template["cells"]
        if c.get("cell_type") == "code" and not _id(c)
    }


def rebuild(submitted: dict, template: dict) -> nbformat.NotebookNode:
    """The submission in the assignment's shape (see the module docstring). Cells the student
    added stay where they were, after the instructor's cell they followed.

    A copy that lost nbgrader's metadata (some tools strip it) is matched by first lines: a
    cell that starts like a missing answer cell (its signature line) is that answer, a cell
    that starts like one of the instructor's cells is a copy of it (dropped, the original is
    used); either one is where the student's next own cells are put back."""
    cells_in = [c for c in submitted.get("cells", []) if isinstance(c, dict)]
    known = {_id(c): c for c in template["cells"] if _id(c)}
    order = [_id(c) for c in template["cells"] if _id(c)]
    answers: dict[str, Any] = {}
    for cell in cells_in:  # answers that kept their metadata come first, wherever they are
        grade_id = _id(cell)
        if grade_id in known and _meta(known[grade_id]).get("solution"):
            answers.setdefault(grade_id, cell.get("source", ""))
    unmatched = [g for g in order if _meta(known[g]).get("solution") and g not in answers]
    instructor = [g for g in order if not _meta(known[g]).get("solution")]
    extras: dict[str | None, list] = {}
    anchor: str | None = None
    restored = 0
    for cell in cells_in:
        grade_id = _id(cell)
        if grade_id in known:
            anchor = grade_id
            continue
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        source = _text(cell.get("source", ""))
        first = _first_line(source)
        if first and cell["cell_type"] == "code":
            answer = _next_match(first, unmatched, known, order, anchor)
            if answer is not None:
                answers[answer] = source
                unmatched.remove(answer)
                anchor, restored = answer, restored + 1
                continue
        if first:
            copied = _next_match(first, instructor, known, order, anchor)
            if copied is not None:
                anchor = copied
                continue
        extra = {"cell_type": cell["cell_type"], "metadata": {}, "source": source}
        if cell["cell_type"] == "code":
            extra.update(outputs=[], execution_count=None)
        extras.setdefault(anchor, []).append(extra)
    cells = list(extras.get(None, []))
    for cell in template["cells"]:
        grade_id = _id(cell)
        if grade_id is None:
            continue  # an unlocked cell of the template: the student's copy is kept as an extra
        rebuilt = copy.deepcopy(cell)
        if cell.get("cell_type") == "code":
            rebuilt["outputs"], rebuilt["execution_count"] = [], None
        if _meta(cell).get("solution"):
            if grade_id in answers:
                rebuilt["source"] = _text(answers[grade_id])
            elif cell.get("cell_type") == "code":
                rebuilt["source"] = _SOLUTION.sub(STUB.strip(), _text(cell["source"]))
        cells.append(rebuilt)
        cells.extend(extras.get(grade_id, []))
    notebook = copy.deepcopy(template)
    notebook["cells"] = cells
    metadata = notebook.setdefault("metadata", {})
    metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if restored:
        metadata.setdefault("gancourse", {})["restored_answers"] = restored
    return nbformat.from_dict(notebook)


def resemblance(submitted: dict, template: dict) -> float:
    """The share of the template's answer cells that the submission has, by grade id or by
    first line (so a stripped copy counts too): how much it looks like this assignment."""
    wanted = [c for c in template.get("cells", []) if _meta(c).get("solution")]
    if not wanted:
        return 0.0
    cells = [c for c in submitted.get("cells", []) if isinstance(c, dict)]
    ids = {_id(c) for c in cells}
    firsts = {_first_line(c.get("source", "")) for c in cells}
    found = sum(1 for c in wanted if _id(c) in ids or _first_line(c.get("source", "")) in firsts)
    return found / len(wanted)


def _first_line(source: Any) -> str:
    return next((line.strip() for line in _text(source).splitlines() if line.strip()), "")


def _next_match(
    first: str, candidates: list[str], known: dict, order: list[str], anchor: str | None
) -> str | None:
    """The candidate cell whose first line is `first`: the first one after `anchor` in the
    template's order (cells often share a first line, e.g. an import), else the first one."""
    matching = [g for g in candidates if _first_line(known[g].get("source", "")) == first]
    if not matching:
        return None
    after = order.index(anchor) if anchor in order else -1
    return next((g for g in matching if order.index(g) > after), matching[0])


def _text(source: Any) -> str:
    if isinstance(source, list):
        return "".join(str(s) for s in source)
    return str(source)


def _transform(source: str) -> str:
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _error_output(ename: str, evalue: str):
    return nbformat.v4.new_output(
        "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def _stream(name: str, text: str):
    return nbformat.v4.new_output("stream", name=name, text=text)


def grade_notebook(
    notebook: nbformat.NotebookNode,
    limits: SandboxLimits,
    isolation: Isolation,
    provided: set[str] | None = None,
    answers: set[str] | None = None,
) -> nbformat.NotebookNode:
    """Execute a rebuilt notebook as described in the module docstring; return it with outputs
    and a first cell that reports the sandbox's guarantees and anything flagged for review.
    `provided`: sources of the assignment's own unlocked cells (demos), not flagged if unchanged.
    `answers`: the names the tests may take from the submission (`answer_names`; default:
    those the notebook's answer cells define as the submission wrote them)."""
    if answers is None:
        answers = answer_names(notebook)
    submission = Submission(limits, isolation)
    trusted: dict[str, Any] = {"__name__": "__main__", "get_ipython": lambda: None}
    own_names: set[str] = set()  # names the instructor's set-up cells define (kept trusted)
    notes: list[str] = []
    looks_like = (notebook.get("metadata") or {}).get("gancourse", {}).get("looks_like")
    if looks_like:
        notes.append(
            f"this notebook looks like assignment {looks_like}'s, not this assignment's: its "
            f"answers to this assignment were missing (was another file handed in?)"
        )
    restored = (notebook.get("metadata") or {}).get("gancourse", {}).get("restored_answers")
    if restored:
        notes.append(
            f"this copy had lost nbgrader's cell metadata (as some tools, e.g. Colab downloads, "
            f"do): {restored} answer cell(s) were recognised by their first line, and your "
            f"other cells were put back after the cells they followed"
        )
    # The submission sets this process's torch RNG (its draws travel back), so each notebook
    # starts from the same state and leaves the next student's untouched: grades do not depend
    # on who was graded before.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(GRADING_SEED)
        try:
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                source = _text(cell.source)
                cell.outputs = []
                cell.execution_count = index + 1
                if is_test(cell):
                    _run_test(cell, source, trusted)
                    continue
                if is_setup(cell):
                    before = dict(trusted)
                    _run_trusted(cell, source, trusted)
                    own_names |= {
                        k for k, v in trusted.items() if before.get(k, own_names) is not v
                    }
                run, names = submission.run_cell(source)
                if not is_setup(cell):
                    if run.stdout:
                        cell.outputs.append(_stream("stdout", run.stdout))
                    if run.stderr:
                        cell.outputs.append(_stream("stderr", run.stderr))
                    if run.error:
                        ename, evalue = str(run.error.get("ename")), str(run.error.get("evalue"))
                        cell.outputs.append(_error_output(ename, storage_hint(evalue)))
                if run.fatal:
                    notes.append(
                        f"cell {index + 1}: the submission's process stopped here "
                        f"({run.error['evalue'] if run.error else ''}); it was restarted without "
                        f"this cell"
                    )
                for name, kind in names.items():
                    if name in answers and name not in own_names and kind != "module":
                        trusted[name] = RemoteName(submission, name, kind)
        finally:
            submission.close()
    student_code = {
        _id(c) or f"cell {i + 1}": _text(c.source)
        for i, c in enumerate(notebook.cells)
        if c.cell_type == "code"
        and not is_test(c)
        and not is_setup(c)
        and _text(c.source).strip() not in (provided or set())
    }
    flags = static_flags(student_code)
    notebook.cells.insert(0, report_cell(isolation, flags, notes))
    return notebook


def report_cell(isolation: Isolation, flags: list[str], notes: list[str]):
    """The graded notebook's first cell: which guarantees held, what happened, what to review."""
    lines = [
        "**How this notebook was graded.** Your code ran in a sandbox; the tests ran in a "
        "separate process that never ran your code, on answers your code returned."
    ]
    lines += [f"- {line}" for line in isolation.report()]
    if notes:
        lines += ["", "**Events while grading:**"] + [f"- {n}" for n in notes]
    if flags:
        lines += ["", "**For the instructor to review:**"] + [f"- {f}" for f in flags]
    cell = nbformat.v4.new_markdown_cell("\n".join(lines))
    cell.metadata["gancourse"] = {
        "grading_report": True,
        "flags": flags,
        "notes": notes,
        "graded_at": time.time(),  # merges keep the newest grade by it (file times can lie)
    }
    return cell


def _run_trusted(cell, source: str, namespace: dict) -> None:
    """An instructor's set-up cell, here (its errors are the instructor's, shown in the cell)."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(_transform(source), f"<setup {_id(cell)}>", "exec"), namespace)
    except Exception as error:  # noqa: BLE001
        cell.outputs.append(_error_output(type(error).__name__, f"(grader set-up) {error}"))


def _run_test(cell, source: str, namespace: dict) -> None:
    """A test cell, here: any exception fails it; its message (not its code) is shown."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(_transform(source), f"<test {_id(cell)}>", "exec"), namespace)
    except SubmissionError as error:
        cell.outputs.append(_error_output(error.ename, _explain(error)))
    except Exception as error:  # noqa: BLE001  (a failed assert, or any other error)
        cell.outputs.append(_error_output(type(error).__name__, str(error)))
    if printed.getvalue():
        cell.outputs.insert(0, _stream("stdout", printed.getvalue()[:20_000]))


def _explain(error: SubmissionError) -> str:
    if error.ename == "SubmissionDied":
        return f"your code's process stopped during this test: {error.evalue}"
    return f"your code raised {error.ename}: {storage_hint(error.evalue)}"
