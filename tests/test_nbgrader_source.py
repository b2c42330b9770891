"""The nbgrader side without running nbgrader: source notebooks, config, verdicts, stubs."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.utils import determine_grade
from util import ROOT

from autograder import manifest
from autograder.generate import nbgrader_source, pipelines
from autograder.generate.cells import Cell
from autograder.grading import results as grading_results
from autograder.nbgrader import config, suite, verdicts
from autograder.nbgrader.grade import grade_notebook
from autograder.nbgrader.preprocessors import ClearSolutionsNamingFunction

MASTERS = [a.name for a in manifest.ASSIGNMENTS if pipelines.master_path(a.name).exists()]


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "course" / "source" / assignment / f"{assignment}.ipynb", 4)


def nbg(cell: nbformat.NotebookNode) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("assignment", MASTERS)
def test_test_cells_are_worth_the_suites_points(assignment: str):
    tests = suite.collect(assignment)
    cells = [c for c in source_notebook(assignment).cells if nbg(c).get("grade")]
    named = [verdicts.named_test(c.source) for c in cells]
    assert named == [(assignment, t.id) for t in tests]  # each test once, in suite order
    assert [nbg(c)["points"] for c in cells] == [t.max_score for t in tests]
    assert sum(nbg(c)["points"] for c in cells) == manifest.get(assignment).points
    for cell in cells:
        assert nbg(cell)["locked"] and not nbg(cell)["solution"]
        visible = cell.source.split(nbgrader_source.BEGIN_HIDDEN)[0]
        assert all(line.startswith("#") for line in visible.strip().split("\n")), visible


@pytest.mark.parametrize("assignment", MASTERS)
def test_every_cell_is_solution_read_only_or_test(assignment: str):
    nb = source_notebook(assignment)
    ids = [nbg(c)["grade_id"] for c in nb.cells]
    assert len(ids) == len(set(ids))
    for cell in nb.cells:
        meta = nbg(cell)
        if "solution" in cell.metadata.get("tags", []):
            assert meta["solution"] and not meta["locked"] and "### BEGIN SOLUTION" in cell.source
        elif not meta["grade"]:
            assert meta["locked"] and "BEGIN SOLUTION" not in cell.source


@pytest.mark.parametrize("assignment", MASTERS)
def test_test_cells_follow_a_solution_or_test_cell(assignment: str):
    # nbgrader puts a deleted test cell back after its predecessor among the solution and grade
    # cells; a read-only cell there would make it fail (a KeyError in add_missing_grade_cells).
    cells = source_notebook(assignment).cells
    for before, cell in itertools.pairwise(cells):
        if nbg(cell).get("grade"):
            assert nbg(before).get("grade") or nbg(before).get("solution"), cell.source[:80]


def test_a_test_goes_after_the_last_function_it_mentions():
    cells = [Cell("code", "def f(x):\n    return x", ("solution",)),
             Cell("markdown", "text"),
             Cell("code", "def g(x):\n    return x", ("solution",)),
             Cell("code", "print(1)")]
    result = grading_results.TestResult
    tests = [result("test_g_shape", "g: shape", 1), result("test_f_values", "f: values", 2),
             result("test_both", "f then g", 1), result("test_other", "anything", 1)]
    out = nbgrader_source.add_test_cells(cells, tests, assignment="a")
    names = [named[1] if (named := verdicts.named_test(c.source)) else c.source[:5] for c in out]
    assert names == ["def f", "test_f_values", "text", "def g", "test_g_shape", "test_both",
                     "test_other", "print"]


def test_grade_ids_are_safe_and_differ_from_the_test_names():
    assert nbgrader_source.check_grade_id("test_loss[batch-3]") == "check-loss-batch-3"
    assert nbgrader_source.check_grade_id("test_build_model") == "check-build_model"


def test_config_is_nbgraders_pipelines_with_only_our_changes():
    def default(converter: type, trait: str) -> list[str]:
        return [f"{c.__module__}.{c.__qualname__}" for c in converter.class_traits()[trait].default()]

    own = config.OWN
    release = [f"{own}.ClearSolutionsNamingFunction" if n.endswith(".ClearSolutions") else n
               for n in default(GenerateAssignment, "preprocessors")]
    assert release == config.RELEASE
    sanitize = [n for n in config.SANITIZE if not n.startswith(own)]
    assert sanitize == default(Autograde, "sanitize_preprocessors")
    assert config.SANITIZE.index(f"{own}.ForgetDuplicates") == \
        config.SANITIZE.index("nbgrader.preprocessors.deduplicateids.DeduplicateIds") + 1
    autograde = [n for n in config.AUTOGRADE if not n.startswith(own)]
    assert autograde == default(Autograde, "autograde_preprocessors")
    assert config.AUTOGRADE.index(f"{own}.GradeWithHiddenSuites") == \
        config.AUTOGRADE.index("nbgrader.preprocessors.saveautogrades.SaveAutoGrades") - 1
    assert config.AUTOGRADE.index(f"{own}.FlagForAttention") == \
        config.AUTOGRADE.index("nbgrader.preprocessors.saveautogrades.SaveAutoGrades") + 1
    assert config.SANITIZE[0] == f"{own}.FindCellsByFunction"  # before nbgrader reads grade_ids
    assert config.FEEDBACK[1:] == default(GenerateFeedback, "preprocessors")
    assert config.FEEDBACK[0].endswith(".ClearHiddenTests")
    text = (ROOT / "course" / "nbgrader_config.py").read_text()
    assert text == config.config_text()
    namespace: dict = {}
    exec(compile(text, "nbgrader_config.py", "exec"), {"get_config": lambda: _Config(namespace)})
    assert namespace["Autograde.autograde_preprocessors"] == config.AUTOGRADE
    assert namespace["OverwriteCells.add_missing_cells"] is True


class _Config:
    """Just enough of traitlets' config object to read what nbgrader_config.py sets."""

    def __init__(self, store: dict, prefix: str = ""):
        object.__setattr__(self, "_store", store)
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name: str) -> _Config:
        return _Config(self._store, f"{self._prefix}{name}.")

    def __setattr__(self, name: str, value: object) -> None:
        self._store[f"{self._prefix}{name}"] = value


@pytest.mark.parametrize("assignment", MASTERS)
def test_nbgraders_clear_solutions_gives_the_stub_lines(assignment: str):
    nb = source_notebook(assignment)
    preprocessor = ClearSolutionsNamingFunction()
    cleared, _ = preprocessor.preprocess(nb, {})
    release = [c.source for c in cleared.cells if not nbg(c).get("grade")]
    stub = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", 4)
    assert release == [c.source for c in stub.cells]


def _test_cell(assignment: str, test: str, outputs: list) -> nbformat.NotebookNode:
    cell = new_code_cell(f"# visible\n### BEGIN HIDDEN TESTS\nfrom autograder.nbgrader import "
                         f"hidden_test\nhidden_test({assignment!r}, {test!r})\n### END HIDDEN TESTS")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 3,
                                 "grade_id": f"check-{test}", "task": False, "schema_version": 3}
    cell.outputs = outputs
    return cell


def test_verdicts_replace_what_the_kernel_left_in_test_cells():
    stderr = new_output("stream", name="stderr", text="W tensorflow/core: a log line\n")
    faked = new_output("stream", name="stdout", text="all tests passed!\n")
    nb = new_notebook(cells=[
        new_code_cell("x = 1"),
        _test_cell("a", "test_ok", [stderr]),
        _test_cell("a", "test_bad", [faked]),
        _test_cell("a", "test_hidden", []),
        _test_cell("a", "test_gone", []),
    ])
    results = {"tests": [
        {"name": "ok: works", "status": "passed", "output": "", "extra_data": {"id": "test_ok"}},
        {"name": "bad: values", "status": "failed", "output": "differs on random input",
         "extra_data": {"id": "test_bad"}},
        {"name": "secret: thing", "status": "failed", "output": "differs by 0.123",
         "visibility": "hidden", "extra_data": {"id": "test_hidden"}},
    ]}
    passed = verdicts.write_verdicts(nb, results, "", assignment="a")
    assert passed == {"check-test_ok": True, "check-test_bad": False,
                      "check-test_hidden": False, "check-test_gone": False}
    grades = [determine_grade(c)[0] for c in nb.cells[1:]]  # nbgrader's own rule
    assert grades == [3, 0, 0, 0]
    assert nb.cells[2].outputs[0].evalue == "bad: values: differs on random input"
    assert "secret" not in json.dumps(nb.cells[3].outputs) and "0.123" not in json.dumps(nb.cells)
    assert nb.cells[4].outputs[0].ename == verdicts.NOT_GRADED
    assert nb.cells[0].outputs == []  # other cells are left alone


def test_without_results_every_test_cell_says_why():
    nb = new_notebook(cells=[_test_cell("a", "test_ok", []), _test_cell("b", "test_ok", [])])
    verdicts.write_verdicts(nb, None, "the notebook could not be graded: x", assignment="a")
    assert [c.outputs[0].evalue for c in nb.cells] == ["the notebook could not be graded: x"] * 2
    nb = new_notebook(cells=[_test_cell("b", "test_ok", [])])
    verdicts.write_verdicts(nb, {"tests": []}, "", assignment="a")
    assert "names no hidden test of this assignment" in nb.cells[0].outputs[0].evalue


def test_a_released_test_cell_is_known_by_its_grade_id():
    """In a student's copy of the release the hidden call is gone; Validate still finds the test."""
    cell = _test_cell("a", "test_bad", [])
    cell.source = "# Autograded test (3 points): bad: values"
    cell.metadata["nbgrader"]["grade_id"] = "check-bad"
    nb = new_notebook(cells=[cell])
    results = {"tests": [{"name": "bad: values", "status": "failed", "output": "differs",
                          "extra_data": {"id": "test_bad"}}]}
    verdicts.write_verdicts(nb, results, "", assignment="a", note="Points: 0 / 3")
    assert nb.cells[0].outputs[0].evalue == "bad: values: differs"
    assert nb.cells[0].outputs[0].traceback[-1] == "Points: 0 / 3"
    assert nb.cells[0].metadata["autograder"] == {"test": "bad: values", "passed": False,
                                                  "why": "differs"}


def test_a_test_cell_nbgrader_put_back_still_names_its_test():
    restored = ("# This cell (id:check-x) was missing from the submission. It was added back by "
                "nbgrader.\n\n# visible\n### BEGIN HIDDEN TESTS\nhidden_test('mlp_mnist', 'test_x')")
    assert verdicts.named_test(restored) == ("mlp_mnist", "test_x")


def test_the_grader_sees_the_notebook_without_test_code_or_outputs():
    nb = new_notebook(cells=[new_code_cell("x = 1", outputs=[faked_output()]),
                             _test_cell("a", "test_ok", [])])
    seen = verdicts.submission(nb)
    assert [c.source for c in seen.cells] == ["x = 1", ""] and seen.cells[0].outputs == []
    assert len(nb.cells) == 2 and nb.cells[0].outputs  # the original is untouched


def faked_output() -> nbformat.NotebookNode:
    return new_output("stream", name="stdout", text="hello\n")


def test_a_notebook_the_grader_refuses_gives_its_one_line_reason(tmp_path: Path):
    nb = new_notebook(cells=[new_code_cell("   ")])
    results, problem = grade_notebook("mlp_mnist", nb)
    assert results is None
    assert problem == "the notebook could not be graded: notebook: holds no code to grade"
    assert not re.search(r"/tmp|Traceback", problem)
