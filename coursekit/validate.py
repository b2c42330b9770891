"""nbgrader's *Validate* (the button and ``nbgrader validate``) tells what the notebook would earn.

nbgrader validates by running the notebook in a kernel and looking for errors (or anything on
stderr) in its test cells. The course's test cells hold only a comment in the release (the hidden
tests never run in the student's kernel), so plain validation says "Success!" for any notebook,
the untouched stub included.

So nbgrader's kernel run gets two cell hooks (in ``nbgrader_config.py``: the student bundle ships
one, the instructor's course has its own). When nbgrader is validating (it sets
``NBGRADER_VALIDATING=1``) and the cell about to run is a test cell, :meth:`Hooks.before_test_cell`
grades the notebook being validated (once) and has the kernel run, instead of the comment, one
line that prints the verdict: ``passed: <test>`` on stdout, or ``HiddenTestFailed: <test>: <why>``
on stderr, which nbgrader counts as a failure; under the last failing test, the notebook's points.
:meth:`Hooks.after_test_cell` puts the comment back once the kernel has the line, so nbgrader's
report quotes the cell as the student sees it.

On a student's server the grade comes from the course's grading service (:mod:`coursekit.config`
says where it is): the students' image needs this package and nbgrader, not the instructor's kit.
In the instructor's course, the kit grades the notebook itself.

nbclient passes its hooks only the cell, so the notebook is found as the ``self.nb`` of the
``NotebookClient`` that is running the hook (up the call stack). Should that ever fail, the test
cell fails with a line saying so: a validation that cannot grade never says "Success!".
"""

from __future__ import annotations

import copy
import os
import sys
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from coursekit import verdicts

# Shown by nbgrader above the failed cells (its `{num_failed}` is filled in by nbgrader).
FAILED_WARNING = ("{num_failed} HIDDEN TEST(S) FAIL: the course's grader ran them now on the "
                  "notebook as saved. If you submit it as it is, you will not receive full credit.")
WIDTH = 80  # nbgrader's validator indents by 4 and cuts lines at 87 characters
_GRADED = "_coursekit_validation"  # the attribute of the client that keeps the grade
_SOURCE = "_coursekit_sources"  # ... and the test cells' own sources while the kernel runs them

Grader = Callable[[str, NotebookNode], "tuple[dict[str, Any] | None, str]"]


def assignment_of(nb: NotebookNode) -> str | None:
    """The assignment the notebook says it is (``metadata.autograder.assignment``)."""
    name = (nb.metadata.get("autograder") or {}).get("assignment")
    return name if isinstance(name, str) and name else None


def submission(nb: NotebookNode) -> NotebookNode:
    """The notebook as the grader should see it: test cells emptied, no outputs.

    Test cells stay (empty) so that the cell numbers in the grader's messages are the notebook's.
    """
    copied = copy.deepcopy(nb)
    for cell in copied.cells:
        if cell.get("cell_type") == "code":
            cell.outputs, cell.execution_count = [], None
            if verdicts.is_test_cell(cell):
                cell.source = ""
    return copied


def grade_with_service(assignment: str, nb: NotebookNode) -> tuple[dict[str, Any] | None, str]:
    """The grade of ``nb`` by the grader :mod:`coursekit.config` names (the course's service, or
    the instructor's kit on this machine), or ``(None, why not)``."""
    from coursekit import checker, client, config

    try:
        settings = config.settings()
    except config.ConfigError as exc:
        return None, str(exc)
    if settings.service is None:
        return None, ("the course's grading service is not configured: set COURSEKIT_SERVICE "
                      "and COURSEKIT_TOKEN, or run `python -m coursekit login <token>`")
    with tempfile.TemporaryDirectory(prefix="coursekit-validate-") as tmp:
        path = Path(tmp) / f"{assignment}.ipynb"
        nbformat.write(nb, path)
        try:
            return checker.grade(path, assignment, settings), ""
        except (checker.CheckError, client.ServiceError) as exc:
            return None, f"the notebook could not be graded: {exc}"


class Hooks:
    """nbclient's ``on_cell_execute`` and ``on_cell_complete`` hooks, grading with ``grade``."""

    def __init__(self, grade: Grader = grade_with_service):
        self.grade = grade

    def _grade(self, nb: NotebookNode) -> tuple[dict[str, Any] | None, str, str]:
        """``(results, problem, note)`` for the notebook being validated."""
        assignment = assignment_of(nb)
        if assignment is None:
            return None, ("this notebook does not say which assignment it is (its metadata was "
                          "lost): ask your course staff"), ""
        results, problem = self.grade(assignment, submission(nb))
        if results is None:
            return None, problem, ""
        return results, "", (f"Points if handed in now: {results['score']:g} / "
                             f"{results['max_score']:g}")

    def before_test_cell(self, cell: NotebookNode, cell_index: int, **_: Any) -> None:
        """nbclient's ``on_cell_execute`` hook; see the module's docstring."""
        if os.environ.get("NBGRADER_VALIDATING") != "1" or not verdicts.is_test_cell(cell):
            return
        client = _client_running(cell)
        if client is None:
            why = "the notebook being validated was not found; ask your course staff"
            text = wrap(f"{verdicts.NOT_GRADED}: {why}") + "\n"
            line = f"import sys; sys.stderr.write({text!r})"
        else:
            if not hasattr(client, _GRADED):
                setattr(client, _GRADED, self._grade(client.nb))
            line = verdict_line(client.nb, cell, getattr(client, _GRADED))
            sources = getattr(client, _SOURCE, {})
            sources[cell_index] = cell.source
            setattr(client, _SOURCE, sources)
        cell.source = line

    def after_test_cell(self, cell: NotebookNode, cell_index: int, **_: Any) -> None:
        """nbclient's ``on_cell_complete`` hook: the kernel has the line; the cell gets its text
        back."""
        if os.environ.get("NBGRADER_VALIDATING") != "1" or not verdicts.is_test_cell(cell):
            return
        client = _client_running(cell)
        sources = getattr(client, _SOURCE, {}) if client is not None else {}
        if cell_index in sources:
            cell.source = sources.pop(cell_index)


def _client_running(cell: NotebookNode) -> NotebookClient | None:
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, NotebookClient) and any(c is cell for c in candidate.nb.cells):
            return candidate
        frame = frame.f_back
    return None


def verdict_line(nb: NotebookNode, cell: NotebookNode,
                 graded: tuple[dict[str, Any] | None, str, str]) -> str:
    """The Python line the kernel runs instead of a test cell's comment: it prints the verdict.

    nbgrader's report quotes each failing cell (whose comment names its test) above its error, so
    the error says only why; the points go under the last failing cell, and a reason that holds
    for every cell (the notebook could not be graded) is given in full once, under the first."""
    results, problem, note = graded
    copied = copy.deepcopy(nb)
    copied.cells = [c for c in copied.cells if verdicts.is_test_cell(c)]
    verdicts.write_verdicts(copied, results, problem, assignment=assignment_of(nb) or "")
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
    mine = next((c for c in copied.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id), None)
    verdict = mine.metadata["autograder"] if mine is not None else \
        verdicts.describe(None, problem or "this test cell was not found in the notebook")
    if verdict["passed"]:
        return f"print({'passed: ' + verdict['test']!r})"
    failing = [c for c in copied.cells if not c.metadata["autograder"]["passed"]]
    if results is None:
        first = not failing or failing[0] is mine
        text = (f"{verdicts.NOT_GRADED}: {verdict['why']}" if first else
                f"{verdicts.NOT_GRADED}: see the first test cell")
    else:
        text = f"{verdicts.FAILED}: {verdict['why'] or 'failed'}"
        if note and failing and failing[-1] is mine:
            text += f"\n{note}"
    return f"import sys; sys.stderr.write({wrap(text) + chr(10)!r})"


def wrap(text: str) -> str:
    """Lines short enough that nbgrader's report (90 columns, indented 4) cuts none of them."""
    return "\n".join(textwrap.fill(line, WIDTH, subsequent_indent="  ", break_on_hyphens=False)
                     for line in text.splitlines())


_default = Hooks()
before_test_cell = _default.before_test_cell
after_test_cell = _default.after_test_cell
