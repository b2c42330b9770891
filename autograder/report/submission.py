"""The report of one submission: its total, every test with its points and its full reason, and
the figures its suite measured, if any (``autograder/report/figures.py``).

Made from Gradescope's ``results.json`` (what ``autograder grade --json`` and ``autograder batch``
write), so it shows exactly what was graded and nothing else: the suites' reasons never state
an expected value, and the page adds no hidden input. A test the suite declares hidden shows as
"a hidden check".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autograder.report.pages import esc, page, write


def _name(test: dict[str, Any]) -> str:
    return "a hidden check" if test.get("visibility") == "hidden" else str(test.get("name", ""))


def body(results: dict[str, Any], *, student: str = "", back: str = "") -> str:
    """The page's HTML body for one ``results.json``."""
    extra = results.get("extra_data") or {}
    assignment = extra.get("assignment", "")
    who = f"{esc(student)}: " if student else ""
    parts = [f"<h1>{who}{esc(assignment)}</h1>"]
    if back:
        parts.append(f'<p><a href="{esc(back)}">back to the class</a></p>')
    parts.append(f'<p class="total" id="total" data-score="{results.get("score", 0):g}" '
                 f'data-max="{results.get("max_score", 0):g}">'
                 f'{results.get("score", 0):g} / {results.get("max_score", 0):g} points</p>')
    if extra.get("submission"):
        parts.append(f"<p>{esc(Path(str(extra['submission'])).name)}</p>")
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
                        f'<td class="why">{esc(why)}</td></tr>')
        parts.append('<table id="tests"><tr><th></th><th>test</th><th class="num">points</th>'
                     f'<th>why it fails</th></tr>{"".join(rows)}</table>')
    if results.get("output"):
        parts.append(f'<p class="note">{esc(results["output"])}</p>')
    shown = extra.get("figures") or []
    if shown:
        from autograder.report.figures import draw

        parts.extend(draw(f) for f in shown if isinstance(f, dict))
    return "\n".join(parts)


def write_report(results: dict[str, Any], path: Path, *, student: str = "",
                 back: str = "") -> Path:
    """Write the report of one submission to ``path``."""
    assignment = (results.get("extra_data") or {}).get("assignment", "grade")
    title = f"{student}: {assignment}" if student else str(assignment)
    return write(path, page(title, body(results, student=student, back=back)))
