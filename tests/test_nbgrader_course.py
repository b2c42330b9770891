"""A class with the real nbgrader: release, submissions, autograde, feedback and export.

A copy of ``course/`` goes through the commands an instructor runs, with the venv's bin on PATH
(nbgrader runs ``alembic`` through it) and nbgrader's own SQLite gradebook. Three students submit
``mlp_mnist``: alice the full solution, carol the untouched stub, and bob two bugs and everything
else students do: cells of his own (one prints a lot, one replaces the test cells' function in his
kernel by one that logs through TensorFlow on stderr and claims success), a deleted, a duplicated
and a moved test cell, a moved solution cell and a cell that runs too long. The grades nbgrader
records must be those ``autograder grade`` gives the same notebooks."""

from __future__ import annotations

import copy
import csv
import html
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from util import ROOT, mutate

from autograder import manifest
from autograder.generate import pipelines
from autograder.generate.nbgrader_source import check_grade_id

pytestmark = pytest.mark.slow

A = "mlp_mnist"
BIN = Path(sys.executable).parent
CELL_TIMEOUT = 30  # the class's Execute.timeout: importing TensorFlow fits in it on a loaded machine
LONG_CELL = 35  # seconds bob's cell sleeps: longer than CELL_TIMEOUT, well under the grader's limit
STUDENTS = ("alice", "bob", "carol")
BUGS = {"test_build_loss_values", "test_build_accuracy"}  # what bob's two bugs must fail


def run(*command: str, cwd: Path, timeout: float = 900) -> str:
    """Run a command the way an instructor would: venv bin first on PATH, TF's logs not silenced."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (f"{' '.join(command)} failed ({done.returncode}):\n"
                                  f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout + done.stderr


def course_assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "course" / "source").iterdir() if p.is_dir())


# --- the students ---------------------------------------------------------------------------

def nbg(cell: Any) -> dict:
    return cell.metadata.get("nbgrader", {})


def after_imports(nb: Any) -> int:
    return 1 + next(i for i, c in enumerate(nb.cells) if "import tensorflow as tf" in c.source)


def index_of(nb: Any, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == grade_id)


def solved(release: Any, assignment: str = A) -> Any:
    """The release with every solution cell filled in from the reference solution."""
    nb = copy.deepcopy(release)
    answers = iter(c.source for c in pipelines.build(assignment, pipelines.SOLUTION)
                   if "solution" in c.tags)
    for cell in nb.cells:
        if nbg(cell).get("solution"):
            cell.source = next(answers)
    return nb


def bob(release: Any) -> Any:
    """Two bugs, one through a helper cell of his own, and everything else students do."""
    nb = solved(release)
    loss = nb.cells[index_of(nb, "solution-build_loss")]
    loss.source = mutate(loss.source, "tf.reduce_mean(", "tf.reduce_sum(")
    accuracy = nb.cells[index_of(nb, "solution-build_accuracy")]
    accuracy.source = mutate(accuracy.source, "tf.reduce_mean(tf.cast(correct, tf.float32))",
                             "fraction(correct)")
    helper = new_code_cell("def fraction(correct):\n"
                           "    return tf.reduce_sum(tf.cast(correct, tf.float32))  # a count!")
    nb.cells.insert(index_of(nb, "solution-build_accuracy"), helper)
    nb.cells.insert(index_of(nb, "solution-build_accuracy"), new_markdown_cell("My helper:"))
    nb.cells.insert(after_imports(nb), new_code_cell(
        "for step in range(5000):\n    print('debug: step', step)"))
    nb.cells.insert(after_imports(nb), new_code_cell(
        "import autograder.nbgrader\n\n"
        "def _all_pass(assignment, test):\n"
        "    tf.get_logger().warning('TensorFlow logs on stderr')\n"
        "    print('passed, trust me')\n\n"
        "autograder.nbgrader.hidden_test = _all_pass\n"
        "print('patched')"))
    long_cell = f"import time\ntime.sleep({LONG_CELL})  # my long experiment"
    nb.cells.insert(after_imports(nb), new_code_cell(long_cell))
    del nb.cells[index_of(nb, "check-build_model_shape")]  # a test he passes
    values = index_of(nb, "check-build_loss_values")
    duplicate = copy.deepcopy(nb.cells[values])
    duplicate.id = "my-copy"  # Jupyter gives a copied cell an id of its own, metadata and all
    nb.cells.insert(values + 1, duplicate)
    nb.cells.insert(0, nb.cells.pop(index_of(nb, "check-train_costs")))
    predict = nb.cells.pop(index_of(nb, "solution-predict"))
    nb.cells.insert(index_of(nb, "solution-build_model"), predict)
    return nb


# --- the class --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of course/ with every assignment released by `nbgrader generate_assignment`."""
    root = tmp_path_factory.mktemp("class") / "course"
    root.mkdir()
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "source", root / "source")
    run("nbgrader", "generate_assignment", "*", cwd=root)  # all of them in one go
    return root


def autograder_grade(notebook: Path, out: Path) -> dict:
    run(str(BIN / "autograder"), "grade", A, str(notebook), "--json", str(out), cwd=out.parent)
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def graded(course: Path) -> dict[str, Any]:
    """Submit, autograde, give feedback, export; and grade the same notebooks with the CLI."""
    release = nbformat.read(course / "release" / A / f"{A}.ipynb", 4)
    notebooks = {"alice": solved(release), "bob": bob(release), "carol": release}
    paths = {}
    for student, nb in notebooks.items():
        paths[student] = course / "submitted" / student / A / f"{A}.ipynb"
        paths[student].parent.mkdir(parents=True)
        nbformat.write(nb, paths[student])
    outside = course.parent / "cli"
    outside.mkdir()
    with ThreadPoolExecutor(max_workers=1) as pool:  # meanwhile, on the other core
        expected = {s: pool.submit(autograder_grade, p, outside / f"{s}.json")
                    for s, p in paths.items()}
        log = run("nbgrader", "autograde", A, f"--Execute.timeout={CELL_TIMEOUT}", cwd=course)
        expected = {s: f.result() for s, f in expected.items()}
    run("nbgrader", "generate_feedback", A, cwd=course)
    run("nbgrader", "export", cwd=course)
    from nbgrader.api import Gradebook

    cells = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            grades = gb.find_submission_notebook(A, A, student).grades
            cells[student] = {g.name: (g.auto_score, g.max_score, g.needs_manual_grade)
                              for g in grades}
    with (course / "grades.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["assignment"] for r in rows} == set(course_assignments())  # every released one
    exported = {r["student_id"]: r for r in rows if r["assignment"] == A}
    autograded = {s: nbformat.read(course / "autograded" / s / A / f"{A}.ipynb", 4)
                  for s in STUDENTS}
    feedback = {s: (course / "feedback" / s / A / f"{A}.html").read_text(encoding="utf-8")
                for s in STUDENTS}
    return {"expected": expected, "cells": cells, "exported": exported, "log": log,
            "autograded": autograded, "feedback": feedback}


# --- the release ----------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", course_assignments())
def test_release_code_is_the_stub(course: Path, assignment: str):
    release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", 4)
    stub = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", 4)
    given = [c.source for c in release.cells if not nbg(c).get("grade")]
    assert given == [c.source for c in stub.cells]
    for cell in release.cells:
        if nbg(cell).get("grade"):
            assert all(line.startswith("#") for line in cell.source.splitlines()), cell.source
            assert cell.metadata.get("editable") is False and nbg(cell)["locked"]


@pytest.mark.parametrize("assignment", course_assignments())
def test_release_holds_no_solution_and_no_hidden_test(course: Path, assignment: str):
    text = (course / "release" / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8")
    stub_lines = {line.strip() for c in pipelines.build(assignment, pipelines.STUDENT)
                  for line in c.source.split("\n")}
    solution_lines = {line.strip() for c in pipelines.build(assignment, pipelines.SOLUTION)
                      if "solution" in c.tags for line in c.source.split("\n")} - stub_lines
    solution_lines = {line for line in solution_lines if len(line) > 12}
    assert solution_lines, "the check needs solution lines to look for"
    release = nbformat.reads(text, 4)
    code = {line.strip() for c in release.cells if c.cell_type == "code"
            for line in c.source.split("\n")}
    assert not solution_lines & code
    names = re.findall(r"^def (test_\w+)", "\n".join(
        p.read_text() for p in (ROOT / "autograder" / "suites" / assignment).glob("test_*.py")),
        re.MULTILINE)
    assert names and not [name for name in names if name in text]
    for marker in ("hidden_test", "HIDDEN TESTS", "BEGIN SOLUTION", "autograder.nbgrader"):
        assert marker not in text


# --- the grades -----------------------------------------------------------------------------

def test_exported_grades_are_those_of_autograder_grade(graded: dict):
    exported, expected = graded["exported"], graded["expected"]
    assert set(exported) == set(STUDENTS)
    for student in STUDENTS:
        verdicts = [c.outputs for c in graded["autograded"][student].cells if nbg(c).get("grade")]
        why = f"{student}: first test cell says {verdicts[0]}\n{graded['log'][-3000:]}"
        assert float(exported[student]["score"]) == expected[student]["score"], why
        assert float(exported[student]["max_score"]) == manifest.get(A).points
    assert expected["alice"]["score"] == manifest.get(A).points
    assert expected["carol"]["score"] == 0
    assert 0 < expected["bob"]["score"] < manifest.get(A).points


def test_each_test_cell_earned_what_its_test_earned(graded: dict):
    for student in STUDENTS:
        tests = graded["expected"][student]["tests"]
        want = {check_grade_id(t["extra_data"]["id"]): (t["score"], t["max_score"], False)
                for t in tests}
        assert graded["cells"][student] == want, student


def test_bobs_bugs_lose_the_points_of_their_tests(graded: dict):
    failed = {t["extra_data"]["id"] for t in graded["expected"]["bob"]["tests"]
              if t["status"] != "passed"}
    assert failed >= BUGS
    lost = {gid for gid, (score, _, _) in graded["cells"]["bob"].items() if score == 0}
    assert lost == {check_grade_id(t) for t in failed}


@pytest.mark.parametrize("assignment", [a for a in course_assignments() if a != A])
def test_the_other_assignments_autograde_full_and_zero(course: Path, assignment: str):
    """Every assignment goes through nbgrader's autograde: the solution earns every test cell's
    points and the stub none."""
    release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", 4)
    for student, nb in (("alice", solved(release, assignment)), ("carol", release)):
        path = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    log = run("nbgrader", "autograde", assignment, cwd=course)
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        cells = {s: {g.name: (g.auto_score, g.max_score)
                     for g in gb.find_submission_notebook(assignment, assignment, s).grades}
                 for s in ("alice", "carol")}
    points = manifest.get(assignment).points
    assert sum(m for _, m in cells["alice"].values()) == points, cells["alice"]
    assert all(a == m for a, m in cells["alice"].values()), (cells["alice"], log[-3000:])
    assert all(a == 0 for a, _ in cells["carol"].values()), cells["carol"]


# --- what students do -----------------------------------------------------------------------

def outputs(cell: Any) -> str:
    return json.dumps(cell.get("outputs", []))


def test_a_deleted_test_cell_is_put_back_and_graded(graded: dict):
    nb = graded["autograded"]["bob"]
    cell = nb.cells[index_of(nb, "check-build_model_shape")]
    assert "was missing from the submission" in cell.source
    assert graded["cells"]["bob"]["check-build_model_shape"][0] == 1


def test_a_duplicated_test_cell_counts_once(graded: dict):
    nb = graded["autograded"]["bob"]
    copies = [c for c in nb.cells if "build_loss: the mean softmax" in c.source]
    assert len(copies) == 2 and sum(bool(nbg(c).get("grade")) for c in copies) == 1
    assert len(graded["cells"]["bob"]) == len(graded["expected"]["bob"]["tests"])


def test_a_long_running_cell_is_interrupted_and_the_rest_still_runs(graded: dict):
    nb = graded["autograded"]["bob"]
    long_cell = next(c for c in nb.cells if "time.sleep(" in c.source)
    errors = [o for o in long_cell.outputs if o.output_type == "error"]
    assert errors and errors[0].ename in ("KeyboardInterrupt", "CellTimeoutError")
    later = [c for c in nb.cells if c.cell_type == "code" and "selfcheck" in
             c.metadata.get("tags", [])]
    assert later and all(c.execution_count for c in later)


def test_printing_a_lot_is_cut_short(graded: dict):
    nb = graded["autograded"]["bob"]
    cell = next(c for c in nb.cells if "debug: step" in c.source)
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "Output truncated" in text and text.count("\n") <= 1001


def test_tensorflow_stderr_and_tampering_in_the_kernel_change_no_grade(graded: dict):
    nb = graded["autograded"]["bob"]
    assert "patched" in outputs(next(c for c in nb.cells if "_all_pass" in c.source))
    tests = [c for c in nb.cells if nbg(c).get("grade")]
    assert tests and not [c for c in tests if "trust me" in outputs(c) or "stderr" in outputs(c)]
    failed = {gid for gid, (score, _, _) in graded["cells"]["bob"].items() if score == 0}
    assert {check_grade_id(t) for t in BUGS} <= failed


# --- the feedback ---------------------------------------------------------------------------

def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_feedback_names_the_failed_tests(graded: dict):
    for student in STUDENTS:
        page = text_of(graded["feedback"][student])
        for test in graded["expected"][student]["tests"]:
            if test["status"] == "passed":
                assert f"passed: {test['name']}" in page
            else:
                assert f"HiddenTestFailed: {test['name']}: {test['output']}" in page


def test_feedback_shows_no_hidden_test_or_expected_value(graded: dict):
    suite = "\n".join(p.read_text() for p in (ROOT / "autograder" / "suites" / A).glob("*.py"))
    master = pipelines.master_path(A).read_text()
    suite_lines = {line.strip() for line in suite.splitlines()
                   if len(line.strip()) > 25 and line.strip() not in master}
    names = re.findall(r"^def (test_\w+)", suite, re.MULTILINE)
    for student in STUDENTS:
        page = text_of(graded["feedback"][student])
        assert not re.search(r"hidden_test\(\s*['\"]", page) and "HIDDEN TESTS" not in page
        assert not [name for name in names if name in page], student
        assert not [line for line in suite_lines if line in page], student
        failures = re.findall(r"HiddenTestFailed: [^\n]*", page)
        assert all(not re.search(r"\d\.\d{3,}", f) for f in failures), failures
