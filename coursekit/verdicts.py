"""From a grade to the outputs of nbgrader's autograded test cells.

nbgrader gives a code test cell its points when the cell's outputs hold no error and nothing on
stderr. So each test cell's outputs are replaced: a line saying the test passed, or an error whose
``ename``/``evalue`` say why it failed, in the words of the grader (which never state an expected
value). Used by Validate on a student's server (:mod:`coursekit.validate`) and by the instructor's
autograde alike.

A grade is the ``results.json`` of ``autograder grade`` (each test's ``extra_data.id``) or the
grading service's answer (each test's ``cell``): either way each test is matched to the test cell
whose ``grade_id`` is :func:`check_grade_id` of it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat is imported where outputs are made: its import takes over a second
    from nbformat import NotebookNode

FAILED = "HiddenTestFailed"
NOT_GRADED = "NotGraded"
_GRADE_ID = re.compile(r"[^A-Za-z0-9_-]+")
_NAMED = re.compile(r"""hidden_test\(\s*(['"])(?P<assignment>[\w-]+)\1\s*,\s*(['"])(?P<test>[^'"]+)\3\s*\)""")


def check_grade_id(test_id: str) -> str:
    """The cell id of a hidden test: its name without ``test_``, safe for nbgrader.

    It deliberately differs from the test's function name, which stays out of the release.
    """
    return "check-" + _GRADE_ID.sub("-", test_id.removeprefix("test_")).strip("-")


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: nbgrader ``grade`` metadata on a code cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def named_test(source: str) -> tuple[str, str] | None:
    """``(assignment, test id)`` of the ``hidden_test(...)`` call in a test cell's source (a cell
    nbgrader restored from the instructor's gradebook)."""
    match = _NAMED.search(source)
    return (match["assignment"], match["test"]) if match else None


def cell_of(test: dict[str, Any]) -> str:
    """The grade id of the cell a test of a grade belongs to."""
    if isinstance(test.get("cell"), str) and test["cell"]:
        return test["cell"]
    test_id = (test.get("extra_data") or {}).get("id")
    return check_grade_id(str(test_id)) if test_id else ""


def _error(ename: str, evalue: str) -> NotebookNode:
    from nbformat.v4 import new_output

    return new_output("error", ename=ename, evalue=evalue,
                      traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def describe(test: dict[str, Any] | None, problem: str) -> dict[str, Any]:
    """``{"test", "passed", "why"}`` of one test cell, as its outputs and the feedback show it."""
    if test is None:
        return {"test": "not graded", "passed": False, "why": problem}
    visible = test.get("visibility", "visible") != "hidden"
    name = test.get("name", "") if visible else "a hidden check"
    passed = test.get("status") == "passed"
    why = "" if passed or not visible else test.get("output") or "failed"
    return {"test": name, "passed": passed, "why": why}


def outputs_for(test: dict[str, Any] | None, problem: str, note: str = "") -> list[NotebookNode]:
    """The outputs of one test cell, given its result (or why there is none).

    ``note`` (validation's total, say) is a second line of a failure's traceback: nbgrader prints
    the traceback, while the error's value stays the test's name and reason.
    """
    from nbformat.v4 import new_output

    verdict = describe(test, problem)
    if verdict["passed"]:
        return [new_output("stream", name="stdout", text=f"passed: {verdict['test']}\n")]
    ename = NOT_GRADED if test is None else FAILED
    evalue = (verdict["why"] if test is None else f"{verdict['test']}: {verdict['why']}"
              if verdict["why"] else f"{verdict['test']} failed")
    output = _error(ename, evalue)
    if note:
        output.traceback.append(note)
    return [output]


def verdict_of(cell: NotebookNode, results: dict[str, Any] | None, problem: str,
               assignment: str) -> tuple[dict[str, Any] | None, str]:
    """``(the test of this cell, why there is none)`` in a grade (None: could not grade)."""
    if results is None:
        return None, problem
    tests = results.get("tests", [])
    missing = "this cell's test is not in the hidden suite (regenerate the course)"
    named = named_test(cell.source)
    if named is None:  # a student's copy of the release: the cell is known by its grade_id
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        return next((t for t in tests if cell_of(t) == grade_id), None), missing
    if named[0] != assignment:
        return None, "this cell names no hidden test of this assignment"
    wanted = check_grade_id(named[1])
    return next((t for t in tests if cell_of(t) == wanted), None), missing


def write_verdicts(nb: NotebookNode, results: dict[str, Any] | None, problem: str,
                   *, assignment: str, note: str = "") -> dict[str, bool]:
    """Replace every test cell's outputs by its verdict; returns ``{grade_id: passed}``.

    ``results`` is a grade, or None when grading failed (then ``problem`` says why, and every test
    cell gets that as its error). Each cell also gets ``metadata.autograder`` (see
    :func:`describe`) for the feedback page. ``note`` goes under the last failing cell only.
    """
    cells = [c for c in nb.cells if is_test_cell(c)]
    found = [verdict_of(c, results, problem, assignment) for c in cells]
    failing = [i for i, (test, _) in enumerate(found)
               if not (test and test.get("status") == "passed")]
    verdicts = {}
    for i, (cell, (test, why)) in enumerate(zip(cells, found, strict=True)):
        cell.outputs = outputs_for(test, why, note if failing and i == failing[-1] else "")
        cell.metadata["autograder"] = describe(test, why)
        verdicts[cell.metadata.nbgrader.get("grade_id", "?")] = bool(
            test and test.get("status") == "passed")
    return verdicts
