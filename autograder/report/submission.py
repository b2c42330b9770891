"""The report of one submission: its total, every test with its points and its full reason, and
the figures its suite measured, if any (``autograder/report/figures.py``).

Made from Gradescope's ``results.json`` (what ``autograder grade --json`` and ``autograder batch``
write), so it shows exactly what was graded and nothing else: the suites' reasons never state
an expected value, and the page adds no hidden input. A test the suite declares hidden shows as
"a hidden check". A submission that could not be graded shows "not graded: <why>", never a score.

Paths are shown relative to the folder that was graded (:func:`graded_folder`): a page shows
``alice/mlp_mnist/mlp_mnist.ipynb``, not where the grading machine keeps it.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath
from typing import Any

from autograder.report.pages import esc, page, write


def graded_folder(submission: str, student: str) -> str:
    """The folder a batch was given, as far as one row tells: what precedes the student's entry
    in the submission's path (``<folder>/<student>.py``, ``<folder>/<student>/<file>``, nbgrader's
    ``<folder>/<student>/<assignment>/<file>``); else the file's own folder."""
    path = PurePath(submission)
    parts = path.parts
    for i in range(len(parts) - 1, max(len(parts) - 4, 0), -1):
        if student in (parts[i], PurePath(parts[i]).stem):
            return str(PurePath(*parts[:i]))
    return str(path.parent) if len(parts) > 1 else ""


def relative(text: Any, folder: str) -> str:
    """``text`` with every path under ``folder`` named relative to it (a path, not a part of
    a longer one: with ``folder`` ``class``, ``subclass/x`` stays as it is)."""
    text = str(text)
    if not folder or folder in (".", "/"):
        return text
    return re.sub(rf"(?<![\w./~-]){re.escape(folder.rstrip('/'))}/", "", text)


def _name(test: dict[str, Any]) -> str:
    return "a hidden check" if test.get("visibility") == "hidden" else str(test.get("name", ""))


def body(results: dict[str, Any], *, student: str = "", back: str = "", folder: str = "",
         not_graded: str = "") -> str:
    """The page's HTML body for one ``results.json``; paths under ``folder`` are shown relative
    to it (without ``folder``: the file's name). ``not_graded`` (why the submission could not
    be graded) replaces the total."""
    extra = results.get("extra_data") or {}
    assignment = extra.get("assignment", "")
    who = f"{esc(student)}: " if student else ""
    parts = [f"<h1>{who}{esc(assignment)}</h1>"]
    if back:
        parts.append(f'<p><a href="{esc(back)}">back to the class</a></p>')
    if not_graded:
        parts.append(f'<p class="total not-graded" id="total" data-status="not graded">'
                     f"not graded: {esc(relative(not_graded, folder))}</p>")
    else:
        parts.append(f'<p class="total" id="total" data-score="{results.get("score", 0):g}" '
                     f'data-max="{results.get("max_score", 0):g}">'
                     f'{results.get("score", 0):g} / {results.get("max_score", 0):g} points</p>')
    if extra.get("submission"):
        shown = (relative(extra["submission"], folder) if folder
                 else Path(str(extra["submission"])).name)
        parts.append(f'<p class="file">{esc(shown)}</p>')
    tests = results.get("tests") or []
    if tests:
        rows = []
        for t in tests:
            passed = t.get("status") == "passed"
            why = "" if passed or t.get("visibility") == "hidden" else t.get("output") or "failed"
            rows.append(f'<tr class="{"passed" if passed else "failed"}">'
                        f'<td class="mark">{"&#10004;" if passed else "&#10008;"}</td>'
                        f'<td class="name">{esc(_name(t))}</td>'
                        f'<td class="num">{t.get("score", 0):g} / {t.get("max_score", 0):g}</td>'
                        f'<td class="why">{esc(relative(why, folder))}</td></tr>')
        parts.append('<table id="tests"><tr><th></th><th>test</th><th class="num">points</th>'
                     f'<th>why it fails</th></tr>{"".join(rows)}</table>')
    if results.get("output") and results["output"] != not_graded:
        parts.append(f'<p class="note">{esc(relative(results["output"], folder))}</p>')
    shown = extra.get("figures") or []
    if shown:
        from autograder.report.figures import draw

        parts.extend(draw(f) for f in shown if isinstance(f, dict))
    return "\n".join(parts)


def write_report(results: dict[str, Any], path: Path, *, student: str = "", back: str = "",
                 folder: str = "", not_graded: str = "") -> Path:
    """Write the report of one submission to ``path`` (the keywords as :func:`body`'s)."""
    assignment = (results.get("extra_data") or {}).get("assignment", "grade")
    title = f"{student}: {assignment}" if student else str(assignment)
    return write(path, page(title, body(results, student=student, back=back, folder=folder,
                                        not_graded=not_graded)))
