"""From the hidden suite's results to the outputs of nbgrader's autograded test cells.

nbgrader gives a code test cell its points when the cell's outputs hold no error and nothing on
stderr. So each test cell's outputs are replaced: a line saying the test passed, or an error whose
``ename``/``evalue`` say why it failed, in the words of the suite (which never state an expected
value). Whatever the student's kernel printed into the cell (TensorFlow's log lines, say) is gone.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_output

from autograder.generate.nbgrader_source import check_grade_id

FAILED = "HiddenTestFailed"
NOT_GRADED = "NotGraded"
_NAMED = re.compile(r"""hidden_test\(\s*(['"])(?P<assignment>[\w-]+)\1\s*,\s*(['"])(?P<test>[^'"]+)\3\s*\)""")


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograded test cell: nbgrader ``grade`` metadata on a code cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def named_test(source: str) -> tuple[str, str] | None:
    """``(assignment, test id)`` of the ``hidden_test(...)`` call in a test cell's source."""
    match = _NAMED.search(source)
    return (match["assignment"], match["test"]) if match else None


def submission(nb: NotebookNode) -> NotebookNode:
    """The notebook as the grader should see it: test cells emptied, no outputs.

    Test cells stay (empty) so that the cell numbers in the grader's messages are the notebook's.
    """
    copied = copy.deepcopy(nb)
    for cell in copied.cells:
        if cell.get("cell_type") == "code":
            cell.outputs, cell.execution_count = [], None
            if is_test_cell(cell):
                cell.source = ""
    return copied


def _error(ename: str, evalue: str) -> NotebookNode:
    return new_output("error", ename=ename, evalue=evalue,
                      traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


def outputs_for(test: dict[str, Any] | None, problem: str, note: str = "") -> list[NotebookNode]:
    """The outputs of one test cell, given its result in ``results.json`` (or why there is none).

    ``note`` (validation's total, say) is a second line of a failure's traceback: nbgrader prints
    the traceback, while the error's value stays the test's name and reason.
    """
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


def describe(test: dict[str, Any] | None, problem: str) -> dict[str, Any]:
    """``{"test", "passed", "why"}`` of one test cell, as its outputs and the feedback show it."""
    if test is None:
        return {"test": "not graded", "passed": False, "why": problem}
    visible = test.get("visibility", "visible") != "hidden"
    name = test.get("name", "") if visible else "a hidden check"
    passed = test.get("status") == "passed"
    why = "" if passed or not visible else test.get("output") or "failed"
    return {"test": name, "passed": passed, "why": why}


def write_verdicts(nb: NotebookNode, results: dict[str, Any] | None, problem: str,
                   *, assignment: str, note: str = "") -> dict[str, bool]:
    """Replace every test cell's outputs by its verdict; returns ``{grade_id: passed}``.

    ``results`` is the ``results.json`` of ``autograder grade``, or None when grading failed
    (then ``problem`` says why, and every test cell gets that as its error). A test cell is known
    by the ``hidden_test(...)`` call in its source (a cell nbgrader restored from the gradebook)
    or, in a student's copy of the release, where that call was removed, by its ``grade_id``.
    Each cell also gets ``metadata.autograder`` (see :func:`describe`) for the feedback page.
    """
    tests = (results or {}).get("tests", [])
    by_id = {t.get("extra_data", {}).get("id"): t for t in tests}
    by_cell = {check_grade_id(str(i)): t for i, t in by_id.items() if i}
    verdicts = {}
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        named = named_test(cell.source)
        grade_id = cell.metadata.nbgrader.get("grade_id", "?")
        if results is None:
            test, why = None, problem
        elif named is None:
            test = by_cell.get(grade_id)
            why = "this cell's test is not in the hidden suite (regenerate the course)"
        elif named[0] != assignment:
            test, why = None, "this cell names no hidden test of this assignment"
        else:
            test = by_id.get(named[1])
            why = "this cell's test is not in the hidden suite (regenerate the course)"
        cell.outputs = outputs_for(test, why, note)
        cell.metadata["autograder"] = describe(test, why)
        verdicts[grade_id] = bool(test and test.get("status") == "passed")
    return verdicts


def remember(nb: NotebookNode, assignment: str, results: dict[str, Any] | None,
             problem: str) -> None:
    """Note in the notebook's metadata what grading gave, or why it could not grade."""
    meta = dict(nb.metadata.get("autograder") or {})
    meta["graded"] = {"assignment": assignment, "problem": problem,
                      "score": None if results is None else results.get("score"),
                      "max_score": None if results is None else results.get("max_score")}
    nb.metadata["autograder"] = meta


def problem_of(nb: NotebookNode) -> str:
    """Why the hidden suite could not grade this notebook ("" if it did); see :func:`remember`."""
    graded = (nb.metadata.get("autograder") or {}).get("graded") or {}
    return str(graded.get("problem") or "")
