"""What the class got wrong, at a glance: one static HTML page (and the same data as CSV).

`course.py report ID` reads the gradebook and the autograded notebooks and writes
`reports/<ID>/report.html` (it opens offline: the plots are embedded, nothing is fetched) and
`reports/<ID>/report.csv`:

- the score distribution, and each test's pass rate;
- the causes the grader named, counted over the class, with the students behind each (a
  message with its numbers masked is one cause: "with D(x) = (#, #) ... the labels are swapped");
- the static flags and the grading events (a notebook of another assignment, restored
  metadata, a process that died);
- similar answers: every pair of students' answer cells, with names, comments and whitespace
  normalised away (Python's own tokenizer) and the released starter code left out, compared
  with difflib's sequence matcher; the closest pairs side by side, for the instructor to read.
  A similarity is never a verdict: two right answers to a short question look alike.
"""

from __future__ import annotations

import base64
import csv
import difflib
import html
import io
import itertools
import json
import keyword
import re
import tokenize
from collections import defaultdict
from pathlib import Path

SIMILAR = 0.9  # pairs at least this similar are listed for the instructor to read
SHOWN_PAIRS = 10


def _cells(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return []


def _meta(cell: dict) -> dict:
    return (cell.get("metadata") or {}).get("nbgrader") or {}


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def normalised_tokens(source: str) -> list[str]:
    """The code's tokens with every name that is not a keyword or builtin written as `_`,
    and comments, strings' contents and layout dropped: renaming variables changes nothing."""
    import builtins

    kept = set(keyword.kwlist) | set(dir(builtins))
    out = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.NEWLINE,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENCODING,
                tokenize.ENDMARKER,
            ):
                continue
            if token.type == tokenize.NAME:
                out.append(token.string if token.string in kept else "_")
            elif token.type == tokenize.STRING:
                out.append("'s'")
            else:
                out.append(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = source.split()
    return out


def _plot(values: list, bins, title: str, xlabel: str, upper: float = 1.0) -> str:
    """A small histogram or bar chart as an embedded PNG (data URI)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2.6))
    ax = fig.subplots()
    if bins is None:  # a bar chart: values are (label, value) pairs
        labels, heights = zip(*values, strict=True) if values else ((), ())
        ax.barh(range(len(heights)), heights, color="tab:blue")
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
    else:
        ax.hist(values, bins=bins, range=(0, upper), color="tab:blue", edgecolor="white")
        ax.set_ylabel("students")
    ax.set(title=title, xlabel=xlabel)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def build(root: Path, assignment: str) -> Path:
    """Write reports/<assignment>/report.html and report.csv; return the HTML's path."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        tests = {
            c.name: c.max_score
            for nb in gradebook.find_assignment(assignment).notebooks
            for c in nb.grade_cells
        }
        max_total = gradebook.find_assignment(assignment).max_score
        scores, per_test = {}, defaultdict(dict)
        for submission in gradebook.assignment_submissions(assignment):
            scores[submission.student_id] = submission.score
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    per_test[grade.name][submission.student_id] = grade.score
    students = sorted(scores)
    causes: dict[tuple[str, str], list[str]] = defaultdict(list)
    events: dict[str, list[str]] = defaultdict(list)
    answers: dict[str, str] = {}
    release = root / "release" / assignment / f"{assignment}.ipynb"
    starter = {
        line.strip()
        for cell in _cells(release)
        if _meta(cell).get("solution")
        for line in _text(cell.get("source")).splitlines()
    }
    for student in students:
        for notebook in sorted((root / "autograded" / student / assignment).glob("*.ipynb")):
            cells = _cells(notebook)
            for cell in cells:
                report = (cell.get("metadata") or {}).get("gancourse") or {}
                for note in report.get("notes", []):
                    events[re.sub(r"\d+", "#", note)].append(student)
                for flag in report.get("flags", []):
                    events["flag: " + re.sub(r"\d+", "#", flag)].append(student)
                meta = _meta(cell)
                if meta.get("grade") and not meta.get("solution"):
                    for output in cell.get("outputs", []):
                        if output.get("output_type") == "error":
                            message = str(output.get("evalue", "")).splitlines()[0][:400]
                            masked = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", message)
                            causes[(meta.get("grade_id", "?"), masked)].append(student)
                if meta.get("solution"):
                    own = [
                        line
                        for line in _text(cell.get("source")).splitlines()
                        if line.strip() not in starter
                    ]
                    answers[student] = answers.get(student, "") + "\n".join(own) + "\n"
    tokens = {s: normalised_tokens(answers.get(s, "")) for s in students}
    pairs = []
    for a, b in itertools.combinations(students, 2):
        if not tokens[a] or not tokens[b]:
            continue
        matcher = difflib.SequenceMatcher(None, tokens[a], tokens[b], autojunk=False)
        if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
            continue
        ratio = matcher.ratio()
        if ratio >= SIMILAR:
            pairs.append((ratio, a, b))
    pairs.sort(reverse=True)
    out = root / "reports" / assignment
    out.mkdir(parents=True, exist_ok=True)
    _write_csv(out / "report.csv", students, scores, tests, per_test, causes, pairs)
    page = _html(
        assignment, students, scores, max_total, tests, per_test, causes, events, pairs, answers
    )
    (out / "report.html").write_text(page, encoding="utf-8")
    return out / "report.html"


def _write_csv(path, students, scores, tests, per_test, causes, pairs) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["section", "item", "value", "students"])
        for student in students:
            writer.writerow(["score", student, scores[student], ""])
        for test, max_score in tests.items():
            passed = [s for s in students if per_test[test].get(s) == max_score]
            writer.writerow(["pass rate", test, f"{len(passed) / max(len(students), 1):.3f}", ""])
        for (test, message), who in sorted(causes.items(), key=lambda kv: -len(kv[1])):
            writer.writerow(["cause", f"{test}: {message}", len(who), " ".join(sorted(who))])
        for ratio, a, b in pairs:
            writer.writerow(["similar answers", f"{a} ~ {b}", f"{ratio:.3f}", f"{a} {b}"])


def _html(
    assignment, students, scores, max_total, tests, per_test, causes, events, pairs, answers
) -> str:
    e = html.escape
    n = len(students)
    totals = [scores[s] for s in students]
    rates = [
        (t, sum(per_test[t].get(s) == m for s in students) / max(n, 1)) for t, m in tests.items()
    ]
    bins = max(int(max_total or 1), 1)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(assignment)}: the class at a glance</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
        "vertical-align:top;font-size:.9em}pre{white-space:pre-wrap;font-size:.8em;margin:0}"
        "</style></head><body>",
        f"<h1>{e(assignment)}: the class at a glance</h1>",
        f"<p>{n} graded submissions; mean score {sum(totals) / max(n, 1):.2f} of "
        f"{max_total:g}.</p>",
        f"<img alt='score distribution' "
        f"src='{_plot(totals, bins, 'scores', 'score', upper=max_total or 1)}'>",
        f"<img alt='pass rate per test' src='{_plot(rates, None, 'pass rate', 'share passed')}'>",
        "<h2>What the grader named, over the class</h2><table><tr><th>test</th>"
        "<th>message (numbers masked)</th><th>students</th></tr>",
    ]
    for (test, message), who in sorted(causes.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        parts.append(
            f"<tr><td>{e(test)}</td><td>{e(message)}</td><td><b>{len(who)}</b>: "
            f"{e(', '.join(sorted(who)))}</td></tr>"
        )
    if not causes:
        parts.append("<tr><td colspan=3>no test failed</td></tr>")
    parts.append("</table><h2>Flags and grading events</h2><table>")
    if not events:
        parts.append("<tr><td>none</td></tr>")
    for event, who in sorted(events.items(), key=lambda kv: -len(kv[1])):
        parts.append(
            f"<tr><td>{e(event)}</td><td><b>{len(who)}</b>: {e(', '.join(sorted(who)))}</td></tr>"
        )
    parts.append(
        f"</table><h2>Similar answers (at least {SIMILAR:.0%} alike after normalising names)"
        "</h2><p>For the instructor to read, never a penalty: short right answers look alike."
        "</p><table>"
    )
    for ratio, a, b in pairs[:SHOWN_PAIRS]:
        parts.append(
            f"<tr><td>{ratio:.0%}</td><td><b>{e(a)}</b><pre>{e(answers.get(a, ''))}</pre></td>"
            f"<td><b>{e(b)}</b><pre>{e(answers.get(b, ''))}</pre></td></tr>"
        )
    if len(pairs) > SHOWN_PAIRS:
        parts.append(f"<tr><td colspan=3>{len(pairs) - SHOWN_PAIRS} more in report.csv</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)
