"""The class dashboard and the report pages, as data: charts that read at a glance, "not graded"
instead of a score, and paths named relative to the graded folder. No grading here: the rows
are made up (the batch tests open a real class's dashboard in a browser)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from autograder.report import charts, dashboard
from autograder.report.submission import body, graded_folder, relative

A = "mlp_mnist"
LONG = ("train: returns the cost on the current batch at steps 0, n_prt, 2 n_prt, ... below n_iter, "
        "as a list of floats, measured before each step's update")
INTEGER = re.compile(r"\d+")


def drawn(fig: Any) -> dict[str, Any]:
    return charts.drawn(fig)


@pytest.mark.parametrize("bins", [[0, 1, 0, 0], [2, 0, 3, 1], [0] * 20 + [1]])
def test_the_score_histogram_counts_students_in_whole_numbers(bins: list[int]):
    shown = drawn(charts.scores(A, bins))
    assert shown["title"] == f"{A}: scores"
    assert shown["y_ticks"] and all(INTEGER.fullmatch(t) for t in shown["y_ticks"]), shown
    assert all(INTEGER.fullmatch(t) for t in shown["x_ticks"]), shown


def test_pass_rates_have_a_title_and_every_name_in_full():
    rates = [(LONG, 1, 6), ("predict: the class with the largest logit", 6, 6)]
    shown = drawn(charts.pass_rates(A, rates))
    assert shown["title"] == f"{A}: pass rate of each test, the hardest first"
    assert [" ".join(label.split("\n")) for label in shown["y_ticks"]] == [name for name, _, _ in rates]
    assert "\n" in shown["y_ticks"][0] and all(
        len(line) <= charts.LABEL_WIDTH for line in shown["y_ticks"][0].split("\n"))
    assert not any(t.endswith(("...", "\u2026")) for t in shown["y_ticks"])  # as they were cut


def test_a_word_longer_than_a_line_is_kept_whole():
    word = "x" * (charts.LABEL_WIDTH + 10)
    assert charts.wrap(f"f: {word} end").split("\n") == ["f:", word, "end"]


@pytest.mark.parametrize("seconds", [[3.0], [0.7, 0.9, 2.4, 2.8, 3.3], [40.0, 41.0, 300.0], [0.0]])
def test_grading_time_is_a_histogram_from_zero_in_round_bins(seconds: list[float]):
    width, counts = charts.time_bins(seconds)
    assert width in charts.STEPS and sum(counts) == len(seconds)
    assert len(counts) <= charts.TIME_BINS
    assert width <= max(max(seconds), 1.0) / 4  # never one bar as wide as the chart
    for s in seconds:  # each submission is counted in the bin that holds it
        assert counts[int(s / width)] >= 1
    shown = drawn(charts.timing(A, seconds))
    assert shown["title"] == f"{A}: grading time per submission"
    assert shown["x_ticks"][0] == "0" or float(shown["x_ticks"][0]) == 0
    assert all(INTEGER.fullmatch(t) for t in shown["y_ticks"]), shown


@pytest.mark.parametrize("submission, student, folder, shown", [
    ("/srv/class/alice.py", "alice", "/srv/class", "alice.py"),
    ("/srv/class/alice.py", "alice.py", "/srv/class", "alice.py"),  # beside an alice.ipynb
    ("/srv/class/frank", "frank", "/srv/class", "frank"),  # a folder holding none
    ("/srv/class/bob/work.ipynb", "bob", "/srv/class", "bob/work.ipynb"),
    ("/srv/course/submitted/carol/mlp_mnist/mlp_mnist.ipynb", "carol", "/srv/course/submitted",
     "carol/mlp_mnist/mlp_mnist.ipynb"),
    ("/srv/course/submitted/carol/mlp_mnist", "carol", "/srv/course/submitted",
     "carol/mlp_mnist"),
    ("class/alice.py", "alice", "class", "alice.py"),
    ("/elsewhere/x.py", "someone", "/elsewhere", "x.py"),
])
def test_paths_are_named_relative_to_the_graded_folder(submission: str, student: str, folder: str,
                                                      shown: str):
    assert graded_folder(submission, student) == folder
    assert relative(f"{submission}: not a notebook", folder) == f"{shown}: not a notebook"
    assert relative(f"see '{submission}'", folder) == f"see '{shown}'"


def test_only_whole_paths_are_made_relative():
    assert relative("class/a.py and subclass/b.py, ../class/c.py", "class") == \
        "a.py and subclass/b.py, ../class/c.py"


def _row(student: str, status: str, score: float = 0.0, error: str = "", seconds: float = 1.0,
         tests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    path = f"/grading/machine/class/{student}.py"
    results = {} if status == "failed" else {
        "score": score, "max_score": 20.0, "output": error, "tests": tests or [],
        "extra_data": {"assignment": A, "submission": path}}
    return {"assignment": A, "student": student, "submission": path, "status": status,
            "score": score, "max_score": 20.0, "error": error, "seconds": seconds,
            "results": results}


def test_a_file_that_could_not_be_graded_says_why_and_shows_no_score(tmp_path: Path):
    why = "/grading/machine/class/dave.py: not a notebook (invalid JSON at line 1)"
    test = {"name": "build_model: values", "score": 0, "max_score": 4, "status": "failed",
            "output": "/grading/machine/class/erin.py: cell 2 raised ValueError"}
    rows = [_row("dave", "invalid", error=why, seconds=0.0),
            _row("erin", "graded", score=3.0, tests=[test]),
            _row("gus", "failed", error="the grader failed: MemoryError")]
    index = dashboard.build(tmp_path, rows).read_text(encoding="utf-8")
    assert "/grading/machine" not in index
    students = dict(re.findall(r'<tr class="student" data-student="(\w+)"(.*?)</tr>', index))
    assert "not graded</td>" in students["dave"] and "dave.py: not a notebook" in students["dave"]
    assert "data-score" not in students["dave"] and "0 / 20" not in students["dave"]
    assert "not graded</td>" in students["gus"] and "MemoryError" in students["gus"]
    assert 'data-score="3"' in students["erin"] and "3 / 20" in students["erin"]
    dave = (tmp_path / A / "dave" / "report.html").read_text(encoding="utf-8")
    assert "not graded: dave.py: not a notebook (invalid JSON at line 1)" in dave
    assert "points" not in dave and "/grading/machine" not in dave
    gus = (tmp_path / A / "gus" / "report.html").read_text(encoding="utf-8")
    assert "not graded: the grader failed: MemoryError" in gus and "points" not in gus
    erin = (tmp_path / A / "erin" / "report.html").read_text(encoding="utf-8")
    assert 'data-score="3"' in erin and "erin.py: cell 2 raised ValueError" in erin
    assert "/grading/machine" not in erin


def test_every_chart_on_the_dashboard_carries_its_title_and_ticks(tmp_path: Path):
    rows = [_row(s, "graded", score=float(i), seconds=0.5 + i) for i, s in enumerate("abc")]
    index = dashboard.build(tmp_path, rows).read_text(encoding="utf-8")
    facts = [{k: json.loads(v.replace("&quot;", '"')) for k, v in re.findall(
        r'data-(title|y-ticks)="([^"]*)"', img)} for img in re.findall(r"<img [^>]*>", index)]
    assert [f["title"] for f in facts] == [f"{A}: scores", f"{A}: grading time per submission"]
    assert all(INTEGER.fullmatch(t) for f in facts for t in f["y-ticks"]), facts


def test_a_report_without_its_folder_names_the_file_alone():
    results = {"score": 1, "max_score": 2, "tests": [],
               "extra_data": {"assignment": A, "submission": "/home/ta/class/alice.py"}}
    page = body(results)
    assert '<p class="file">alice.py</p>' in page and "/home/ta" not in page


def test_the_reference_curve_stays_visible_under_a_student_curve_that_agrees():
    """mlp_mnist's training curve: the reference, trained with the same code, lies exactly under
    the student's line; it is drawn as a wide pale band beneath, and the legend says so."""
    from autograder.report.figures import AGREE, DRAW
    from autograder.report.pages import pyplot

    steps, loss = [0, 250, 500, 750], [2.4, 1.3, 0.8, 0.6]
    data = {"kind": "curves", "title": "training", "x_label": "step", "y_label": "loss",
            "series": [{"label": "your network", "x": steps, "y": loss},
                       {"label": "the reference", "x": steps, "y": loss}]}
    plt = pyplot()
    fig = DRAW["curves"](plt, data)
    try:
        ax = fig.axes[0]
        lines = {line.get_label(): line for line in ax.get_lines()}
        yours, theirs = lines["your network"], lines["the reference"]
        assert theirs.get_linewidth() >= 3 * yours.get_linewidth()  # it shows on both sides
        assert theirs.get_zorder() < yours.get_zorder() and (theirs.get_alpha() or 1) < 1
        assert yours.get_marker() not in ("", "None")
        legend = ax.get_legend()
        assert legend.get_title().get_text() == AGREE
        assert [t.get_text() for t in legend.get_texts()] == ["your network", "the reference"]
    finally:
        plt.close(fig)
