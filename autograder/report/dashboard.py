"""The class dashboard, ``<grades>/index.html``, and one report page per submission.

Made from the gradebook's rows alone (``autograder batch`` writes it at the end of a batch;
``autograder report <grades>`` makes it again without grading). For each assignment:

- the submissions by status, the median score and the median grading time;
- the score histogram (one bar per point);
- each test's pass rate across the class, the hardest first;
- the most common failure reasons, with how many students hit each;
- grading time per submission;
- every student with a link to their report (``<assignment>/<student>/report.html``).

The figures are also in the page as numbers (``data-*`` attributes and tables), so a test and a
screen reader read the same figures as the eye.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from autograder.report.pages import esc, figure, page, pyplot, write
from autograder.report.submission import write_report

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


def reasons(graded: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    """``(test, reason, students)`` of the most common failures."""
    count: Counter[tuple[str, str]] = Counter()
    for row in graded:
        for t in row["results"].get("tests", []):
            if t.get("status") != "passed" and t.get("visibility") != "hidden":
                count[(str(t.get("name", "")), str(t.get("output") or "failed"))] += 1
    return [(test, why, n) for (test, why), n in count.most_common(TOP_REASONS)]


def _figures(assignment: str, bins: list[int], rates: list[tuple[str, int, int]],
             seconds: list[float]) -> list[str]:
    plt = pyplot()
    out = []
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.bar(range(len(bins)), bins, color="#2c7fb8")
    ax.set_xlabel("points")
    ax.set_ylabel("students")
    ax.set_title(f"{assignment}: scores")
    out.append(figure(fig, f"histogram of the scores of {assignment}"))
    if rates:
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(rates) + 0.8))
        labels = [name if len(name) <= 60 else name[:57] + "..." for name, _, _ in rates]
        ax.barh(range(len(rates)), [100 * p / n for _, p, n in rates], color="#27ae60")
        ax.set_yticks(range(len(rates)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of students passing")
        out.append(figure(fig, f"pass rate of each test of {assignment}"))
    if seconds:
        fig, ax = plt.subplots(figsize=(7, 2.2))
        ax.hist(seconds, bins=min(20, max(len(seconds), 1)), color="#7f8c8d")
        ax.set_xlabel("seconds per submission")
        ax.set_ylabel("submissions")
        out.append(figure(fig, f"grading time per submission of {assignment}"))
    return out


def section(assignment: str, rows: list[dict[str, Any]]) -> str:
    """The dashboard's part about one assignment."""
    graded = [r for r in rows if r["status"] == "graded"]
    scores = [float(r["score"]) for r in graded]
    max_score = max((float(r["max_score"]) for r in rows), default=0.0)
    bins = histogram(scores, max_score)
    rates = pass_rates(graded)
    seconds = [float(r["seconds"]) for r in graded]
    status = Counter(r["status"] for r in rows)
    median = f"{statistics.median(scores):g} / {max_score:g}" if scores else "none graded"
    took = f"{statistics.median(seconds):.1f} s" if seconds else "-"
    parts = [f'<section class="assignment" id="{esc(assignment)}">',
             f"<h2>{esc(assignment)}</h2>",
             f'<p id="counts-{esc(assignment)}" data-graded="{status["graded"]}" '
             f'data-invalid="{status["invalid"]}" data-failed="{status["failed"]}">'
             f'{len(rows)} submissions: {status["graded"]} graded, {status["invalid"]} invalid, '
             f'{status["failed"]} failed. Median score {esc(median)}; median grading time '
             f"{took}.</p>",
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
    common = reasons(graded)
    if common:
        cells = "".join(f'<tr><td>{esc(t)}</td><td class="why">{esc(w)}</td>'
                        f'<td class="num">{n}</td></tr>' for t, w, n in common)
        parts.append('<h3>The most common failures</h3><table class="reasons"><tr><th>test</th>'
                     f'<th>reason</th><th class="num">students</th></tr>{cells}</table>')
    cells = []
    for r in sorted(rows, key=lambda r: r["student"]):
        link = f'<a href="{report_path(assignment, r["student"])}">{esc(r["student"])}</a>'
        what = (f'{float(r["score"]):g} / {float(r["max_score"]):g}' if r["status"] == "graded"
                else r["status"])
        cells.append(f'<tr class="student" data-student="{esc(r["student"])}" '
                     f'data-score="{float(r["score"]):g}"><td>{link}</td>'
                     f'<td class="num">{esc(what)}</td><td class="num">{float(r["seconds"]):.1f} s'
                     f'</td><td class="why">{esc(r.get("error") or "")}</td></tr>')
    parts.append('<h3>Students</h3><table class="students"><tr><th>student</th>'
                 '<th class="num">score</th><th class="num">time</th><th>note</th></tr>'
                 f'{"".join(cells)}</table></section>')
    return "\n".join(parts)


def build(out: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``<out>/index.html`` and each submission's report from the gradebook's ``rows``
    (dicts with its columns, ``results`` parsed); returns the dashboard's path."""
    out = Path(out)
    by_assignment: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_assignment.setdefault(row["assignment"], []).append(row)
        write_report(row["results"] or {"output": row.get("error", "")},
                     out / row["assignment"] / row["student"] / "report.html",
                     student=row["student"], back="../../index.html")
    body = ["<h1>Grades</h1>"]
    if not by_assignment:
        body.append("<p>The gradebook holds no submissions yet.</p>")
    body.extend(section(a, by_assignment[a]) for a in sorted(by_assignment))
    return write(out / "index.html", page("Grades", "\n".join(body)))
