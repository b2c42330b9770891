"""The class dashboard, ``<grades>/index.html``, and one report page per submission.

Made from the gradebook's rows alone (``autograder batch`` writes it at the end of a batch;
``autograder report <grades>`` makes it again without grading). For each assignment:

- the submissions by status, the median score and the median grading time;
- the score histogram (one bar per point);
- each test's pass rate across the class, the hardest first;
- the most common failure reasons, with how many students hit each;
- a histogram of the grading time per submission (the charts: ``charts.py``);
- every student with a link to their report (``<assignment>/<student>/report.html``), with the
  score or "not graded" and why (a file that could not be graded has no score, not a 0).

Paths are named relative to the folder that was graded (``submission.graded_folder``), and all
text from a submission is inert on the page (``autograder/text.py``).

The figures are also in the page as numbers (``data-*`` attributes and tables), so a test and a
screen reader read the same figures as the eye.
"""

from __future__ import annotations

import functools
import json
import statistics
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from autograder.report import charts
from autograder.report.pages import esc, figure, page, write
from autograder.report.submission import graded_folder, relative, write_report

TOP_REASONS = 10


def report_path(assignment: str, student: str) -> str:
    """Where a student's report lies, relative to the dashboard."""
    return f"{quote(assignment)}/{quote(student)}/report.html"


def histogram(scores: list[float], max_score: float) -> list[int]:
    """Students per point: bin ``k`` counts the scores ``k <= s < k + 1`` (the last holds max)."""
    top = max(int(max_score), 0)
    bins = [0] * (top + 1)
    for score in scores:
        bins[min(max(int(score), 0), top)] += 1
    return bins


def pass_rates(graded: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """``(test name, passed, graded)`` for every test, the lowest pass rate first."""
    passed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    order: dict[str, int] = {}
    for row in graded:
        for t in row["results"].get("tests", []):
            name = str(t.get("name", ""))
            order.setdefault(name, len(order))
            seen[name] += 1
            passed[name] += t.get("status") == "passed"
    return sorted(((n, passed[n], seen[n]) for n in seen),
                  key=lambda r: (r[1] / r[2], order[r[0]]))


def reasons(graded: list[dict[str, Any]],
            folders: dict[str, str] | None = None) -> list[tuple[str, str, int]]:
    """``(test, reason, students)`` of the most common failures; paths in a reason are named
    relative to the student's graded folder (``folders[student]``)."""
    count: Counter[tuple[str, str]] = Counter()
    for row in graded:
        folder = (folders or {}).get(row["student"], "")
        for t in row["results"].get("tests", []):
            if t.get("status") != "passed" and t.get("visibility") != "hidden":
                why = relative(t.get("output") or "failed", folder)
                count[(str(t.get("name", "")), why)] += 1
    return [(test, why, n) for (test, why), n in count.most_common(TOP_REASONS)]


def _figures(assignment: str, bins: list[int], rates: list[tuple[str, int, int]],
             seconds: list[float]) -> list[str]:
    shown = [(charts.scores(assignment, bins), f"histogram of the scores of {assignment}")]
    if rates:
        shown.append((charts.pass_rates(assignment, rates),
                      f"pass rate of each test of {assignment}"))
    if seconds:
        shown.append((charts.timing(assignment, seconds),
                      f"histogram of the grading time per submission of {assignment}"))
    return [figure(fig, alt, functools.partial(charts.drawn, draw=False)) for fig, alt in shown]


def why_not(row: dict[str, Any]) -> str:
    """Why a gradebook row holds no grade: its error, and for a failed one what happens next."""
    error = str(row.get("error") or row["status"])
    if row["status"] == "failed":
        return f"{error} (the next run of `autograder batch` grades it again)"
    return error


def _student(assignment: str, row: dict[str, Any], folder: str) -> str:
    """A row of the students' table: a score, or "not graded" and why."""
    link = f'<a href="{report_path(assignment, row["student"])}">{esc(row["student"])}</a>'
    if row["status"] == "graded":
        return (f'<tr class="student" data-student="{esc(row["student"])}" data-status="graded" '
                f'data-score="{float(row["score"]):g}"><td>{link}</td>'
                f'<td class="num">{float(row["score"]):g} / {float(row["max_score"]):g}</td>'
                f'<td class="num">{float(row["seconds"]):.1f} s</td><td class="why"></td></tr>')
    return (f'<tr class="student" data-student="{esc(row["student"])}" '
            f'data-status="{esc(row["status"])}"><td>{link}</td><td class="num">not graded</td>'
            f'<td class="num">-</td><td class="why">{esc(relative(why_not(row), folder))}</td>'
            "</tr>")


def section(assignment: str, rows: list[dict[str, Any]]) -> str:
    """The dashboard's part about one assignment."""
    graded = [r for r in rows if r["status"] == "graded"]
    folders = {r["student"]: graded_folder(r["submission"], r["student"]) for r in rows}
    scores = [float(r["score"]) for r in graded]
    max_score = max((float(r["max_score"]) for r in rows), default=0.0)
    bins = histogram(scores, max_score)
    rates = pass_rates(graded)
    seconds = [float(r["seconds"]) for r in graded]
    status = Counter(r["status"] for r in rows)
    median = f"{statistics.median(scores):g} / {max_score:g}" if scores else "none graded"
    took = f"{statistics.median(seconds):.1f} s" if seconds else "-"
    failed = (f', {status["failed"]} not graded because the grader failed (the next run grades '
              "them again)" if status["failed"] else "")
    parts = [f'<section class="assignment" id="{esc(assignment)}">',
             f"<h2>{esc(assignment)}</h2>",
             f'<p id="counts-{esc(assignment)}" data-graded="{status["graded"]}" '
             f'data-invalid="{status["invalid"]}" data-failed="{status["failed"]}">'
             f'{len(rows)} submissions: {status["graded"]} graded, {status["invalid"]} not graded '
             f"(each says why, below){failed}. Median score "
             f"{esc(median)}; median grading time {took}.</p>",
             f'<div class="histogram" data-bins="{esc(json.dumps(bins))}"></div>',
             *_figures(assignment, bins, rates, seconds)]
    if rates:
        cells = "".join(
            f'<tr class="rate" data-test="{esc(n)}" data-passed="{p}" data-graded="{g}">'
            f"<td>{esc(n)}</td><td class=\"num\">{p} / {g}</td>"
            f'<td><span class="bar" style="width:{6 * p / g:.2f}em"></span>'
            f'<span class="bar miss" style="width:{6 * (g - p) / g:.2f}em"></span></td></tr>'
            for n, p, g in rates)
        parts.append(f'<h3>Tests, the hardest first</h3><table class="rates"><tr><th>test</th>'
                     f'<th class="num">passed</th><th></th></tr>{cells}</table>')
    common = reasons(graded, folders)
    if common:
        cells = "".join(f'<tr><td>{esc(t)}</td><td class="why">{esc(w)}</td>'
                        f'<td class="num">{n}</td></tr>' for t, w, n in common)
        parts.append('<h3>The most common failures</h3><table class="reasons"><tr><th>test</th>'
                     f'<th>reason</th><th class="num">students</th></tr>{cells}</table>')
    cells = [_student(assignment, r, folders[r["student"]])
             for r in sorted(rows, key=lambda r: r["student"])]
    parts.append('<h3>Students</h3><table class="students"><tr><th>student</th>'
                 '<th class="num">score</th><th class="num">time</th><th>note</th></tr>'
                 f'{"".join(cells)}</table></section>')
    return "\n".join(parts)


def build(out: Path, rows: list[dict[str, Any]], extras: Sequence[str] = ()) -> Path:
    """Write ``<out>/index.html`` and each submission's report from the gradebook's ``rows``
    (dicts with its columns, ``results`` parsed); returns the dashboard's path. ``extras`` are
    sections other tools add at the end (the similar pairs of ``autograder similarity``): this
    room imports none of them, whoever builds the page passes them."""
    out = Path(out)
    by_assignment: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_assignment.setdefault(row["assignment"], []).append(row)
        results = row["results"] or {"extra_data": {"assignment": row["assignment"],
                                                    "submission": row["submission"]}}
        write_report(results, out / row["assignment"] / row["student"] / "report.html",
                     student=row["student"], back="../../index.html",
                     folder=graded_folder(row["submission"], row["student"]),
                     not_graded="" if row["status"] == "graded" else why_not(row))
    body = ["<h1>Grades</h1>"]
    if not by_assignment:
        body.append("<p>The gradebook holds no submissions yet.</p>")
    body.extend(section(a, by_assignment[a]) for a in sorted(by_assignment))
    body.extend(extras)
    return write(out / "index.html", page("Grades", "\n".join(body)))
