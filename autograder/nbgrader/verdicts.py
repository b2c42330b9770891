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


def outputs_for(test: dict[str, Any] | None, problem: str) -> list[NotebookNode]:
    """The outputs of one test cell, given its result in ``results.json`` (or why there is none)."""
    if test is None:
        return [_error(NOT_GRADED, problem)]
    visible = test.get("visibility", "visible") != "hidden"
    name = test.get("name", "") if visible else "a hidden check"
    if test.get("status") == "passed":
        return [new_output("stream", name="stdout", text=f"passed: {name}\n")]
    why = test.get("output") or "failed"
    return [_error(FAILED, f"{name}: {why}" if visible else f"{name} failed")]


def write_verdicts(nb: NotebookNode, results: dict[str, Any] | None, problem: str,
                   *, assignment: str) -> dict[str, bool]:
    """Replace every test cell's outputs by its verdict; returns ``{grade_id: passed}``.

    ``results`` is the ``results.json`` of ``autograder grade``, or None when grading failed
    (then ``problem`` says why, and every test cell gets that as its error).
    """
    by_id = {t.get("extra_data", {}).get("id"): t for t in (results or {}).get("tests", [])}
    verdicts = {}
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        named = named_test(cell.source)
        if results is None:
            test, why = None, problem
        elif named is None or named[0] != assignment:
            test, why = None, "this cell names no hidden test of this assignment"
        else:
            test = by_id.get(named[1])
            why = "this cell's test is not in the hidden suite (regenerate the course)"
        cell.outputs = outputs_for(test, why)
        verdicts[cell.metadata.nbgrader.get("grade_id", "?")] = bool(
            test and test.get("status") == "passed")
    return verdicts
