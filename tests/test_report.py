"""Report pages with the figures a suite measures, checked as data and in a real browser."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from util import PAGE_FIGURES, ROOT, in_chromium, mutate, needs_chromium, solution_source

from autograder.grading.run import grade
from autograder.report.submission import write_report
from autograder.suites.mlp_mnist import lecture

pytestmark = pytest.mark.slow

A = "mlp_mnist"
LAZY_TRAIN = ("    costs = []\n    for step in range(n_iter):",
              "    return [0.1] * len(range(0, n_iter, n_prt))  # fabricated\n    costs = []\n"
              "    for step in range(n_iter):")


def figures(result: Any) -> dict[str, dict[str, Any]]:
    return {f["kind"]: f for f in result.figures}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return grade(assignment=A, submission=ROOT / "solutions" / A / f"{A}.ipynb", figures=True)


def test_the_figures_are_the_graders_measures_of_the_students_network(reference: Any):
    shown = figures(reference)
    assert set(shown) == {"curves", "matrix", "digits"}
    matrix = np.asarray(shown["matrix"]["values"])
    assert matrix.shape == (10, 10) and matrix.sum() == 10_000
    accuracy = float(re.search(r"classifies ([\d.]+)%", reference.notes[-1]).group(1))
    assert np.trace(matrix) / 100 == pytest.approx(accuracy, abs=0.01)
    mine, ref = shown["curves"]["series"]
    n_iter, every = lecture.SETTINGS["n_iter"], lecture.SNAPSHOT_EVERY
    assert mine["x"] == list(range(0, n_iter + 1, every)) and len(mine["x"]) == 11
    assert mine["y"][-1] < 0.5 * mine["y"][0]  # the loss the grader measured went down
    assert ref["x"] == mine["x"] and ref["y"][-1] < 0.5 * ref["y"][0]  # the same settings
    assert abs(ref["y"][-1] - mine["y"][-1]) < 0.1  # another start, the same code: close
    captions = shown["digits"]["captions"]
    assert 0 < len(captions) <= 16 and all(len(img) == 784 for img in shown["digits"]["images"])
    assert all(a != b for a, b in (re.findall(r"read (\d), is (\d)", c)[0] for c in captions))


def test_a_train_that_fabricates_its_costs_draws_a_flat_curve(tmp_path: Path):
    path = tmp_path / "lazy.py"
    path.write_text(mutate(solution_source(A), *LAZY_TRAIN), encoding="utf-8")
    shown = figures(grade(assignment=A, submission=path, figures=True))
    mine = shown["curves"]["series"][0]
    assert len(set(mine["y"])) == 1  # the weights never moved, whatever train returned
    assert np.trace(np.asarray(shown["matrix"]["values"])) < 3000


def test_gradient_descent_figures_draw_each_optimizer_next_to_the_reference():
    result = grade(assignment="gradient_descent",
                   submission=ROOT / "solutions" / "gradient_descent" / "gradient_descent.ipynb",
                   figures=True)
    assert [f["title"].split(":")[0] for f in result.figures] == [
        "batch_gradient_descent", "stochastic_gradient_descent", "minibatch_gradient_descent"]
    for shown in result.figures:
        mine, ref, final = shown["series"]
        assert mine["y"] == ref["y"] and mine["x"][-1] == 50
        assert final["x"] == [50.0] and final["y"][0] == pytest.approx(mine["y"][-1], rel=1e-5)


def test_backprop_figures_show_where_the_gradients_go_wrong(tmp_path: Path):
    right = grade(assignment="backprop",
                  submission=ROOT / "solutions" / "backprop" / "backprop.ipynb", figures=True)
    assert right.figures == []  # nothing is wrong, so nothing to show
    path = tmp_path / "bug.py"
    path.write_text(mutate(solution_source("backprop"), "    db = dout.sum(axis=0)",
                           "    db = dout.mean(axis=0)"), encoding="utf-8")
    wrong = grade(assignment="backprop", submission=path, figures=True)
    titles = [f["title"] for f in wrong.figures]
    assert titles and all(t.startswith("dL/db of the") for t in titles)
    assert all(max(map(max, np.atleast_2d(f["values"]))) > 0.1 for f in wrong.figures)


@needs_chromium
def test_the_report_page_renders_with_every_figure(reference: Any, tmp_path: Path):
    page = write_report(reference.to_gradescope(), tmp_path / "report.html", student="alice")
    text = page.read_text(encoding="utf-8")
    assert re.findall(r'data-kind="(\w+)"', text) == ["curves", "matrix", "digits"]
    seen = in_chromium(text, PAGE_FIGURES + "out.total = document.getElementById('total')"
                       ".dataset.score;", tmp_path)
    assert seen["images"] == seen["decoded"] == 3, seen
    assert seen["page"] <= seen["view"] and float(seen["total"]) == reference.score == 20


def test_batch_with_figures_puts_them_in_each_report_and_keeps_them_for_report(tmp_path: Path):
    from autograder.batch import command

    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ann.py").write_text(solution_source("gradient_descent"), encoding="utf-8")
    summary = command.main(assignment="gradient_descent", folder=folder, out=tmp_path / "grades",
                           workers=1, figures=True)
    assert summary.graded == 1, summary.describe()
    page = (tmp_path / "grades" / "gradient_descent" / "ann" / "report.html").read_text()
    assert page.count('data-kind="curves"') == 3
    (tmp_path / "grades" / "gradient_descent" / "ann" / "report.html").unlink()
    done = subprocess.run([sys.executable, "-m", "autograder", "report", str(tmp_path / "grades")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    again = (tmp_path / "grades" / "gradient_descent" / "ann" / "report.html").read_text()
    assert again == page  # drawn again from the gradebook alone
