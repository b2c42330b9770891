"""nbgrader's *Validate* (the button and ``nbgrader validate``) tells what the notebook would earn.

nbgrader validates by running the notebook in a kernel and looking for errors (or anything on
stderr) in its test cells. The kit's test cells hold only a comment in the release (the hidden
tests never run in the student's kernel), so plain validation says "Success!" for any notebook,
the untouched stub included.

So the course's ``nbgrader_config.py`` gives nbgrader's kernel run two cell hooks. When nbgrader
is validating (it sets ``NBGRADER_VALIDATING=1``) and the cell about to run is a test cell,
:func:`before_test_cell` grades the notebook being validated (once; with ``python -m autograder
grade`` in a separate process, exactly as ``nbgrader autograde`` grades it) and has the kernel run,
instead of the comment, one line that prints the verdict: ``passed: <test>`` on stdout, or
``HiddenTestFailed: <test>: <why>`` and the notebook's points on stderr, which nbgrader counts as
a failure. :func:`after_test_cell` puts the comment back once the kernel has the line, so
nbgrader's report quotes the cell as the student sees it. While autograding, neither does
anything: ``GradeWithHiddenSuites`` grades, and writes the verdicts itself.

nbclient passes its hooks only the cell, so the notebook is found as the ``self.nb`` of the
``NotebookClient`` that is running the hook (up the call stack). Should that ever fail, the test
cell fails with a line saying so: a validation that cannot grade never says "Success!".
"""

from __future__ import annotations

import os
import sys
import textwrap
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder.nbgrader import verdicts
from autograder.nbgrader.grade import grade_notebook

# Shown by nbgrader above the failed cells (its `{num_failed}` is filled in by nbgrader).
FAILED_WARNING = ("{num_failed} HIDDEN TEST(S) FAIL: the course's grader ran them now on the "
                  "notebook as saved. If you submit it as it is, you will not receive full credit.")
WIDTH = 80  # nbgrader's validator indents by 4 and cuts lines at 87 characters
_GRADED = "_autograder_validation"  # the attribute of the client that keeps the grade
_SOURCE = "_autograder_sources"  # ... and the test cells' own sources while the kernel runs them


def assignment_of(nb: NotebookNode) -> str | None:
    """The assignment the notebook says it is (``metadata.autograder.assignment``)."""
    name = (nb.metadata.get("autograder") or {}).get("assignment")
    return name if isinstance(name, str) and name else None


def _client_running(cell: NotebookNode) -> NotebookClient | None:
    frame = sys._getframe(1)
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, NotebookClient) and any(c is cell for c in candidate.nb.cells):
            return candidate
        frame = frame.f_back
    return None


def _grade(nb: NotebookNode) -> tuple[dict[str, Any] | None, str, str]:
    """``(results, problem, note)`` for the notebook being validated."""
    assignment = assignment_of(nb)
    if assignment is None:
        problem = ("this notebook does not say which assignment it is (its metadata was lost): "
                   "grade it with `autograder grade <assignment> <notebook>`")
        return None, problem, ""
    results, problem = grade_notebook(assignment, verdicts.submission(nb))
    if results is None:
        return None, problem, ""
    return results, "", f"Points if handed in now: {results['score']:g} / {results['max_score']:g}"


def verdict_line(nb: NotebookNode, cell: NotebookNode,
                 graded: tuple[dict[str, Any] | None, str, str]) -> str:
    """The Python line the kernel runs instead of a test cell's comment: it prints the verdict."""
    results, problem, note = graded
    copy = NotebookNode(nbformat=4, nbformat_minor=5, metadata={}, cells=[NotebookNode(cell)])
    verdicts.write_verdicts(copy, results, problem, assignment=assignment_of(nb) or "")
    outputs = copy.cells[0].outputs
    if outputs and outputs[0].output_type == "stream":
        return f"print({outputs[0].text.rstrip()!r})"
    error = outputs[0] if outputs else NotebookNode(ename=verdicts.NOT_GRADED, evalue=problem)
    text = f"{error.ename}: {error.evalue}" + (f"\n{note}" if note else "")
    return f"import sys; sys.stderr.write({wrap(text) + chr(10)!r})"


def wrap(text: str) -> str:
    """Lines short enough that nbgrader's report (90 columns, indented 4) cuts none of them."""
    return "\n".join(textwrap.fill(line, WIDTH, subsequent_indent="  ", break_on_hyphens=False)
                     for line in text.splitlines())


def before_test_cell(cell: NotebookNode, cell_index: int, **_: Any) -> None:
    """nbclient's ``on_cell_execute`` hook; see the module's docstring."""
    if os.environ.get("NBGRADER_VALIDATING") != "1" or not verdicts.is_test_cell(cell):
        return
    client = _client_running(cell)
    if client is None:
        why = "the notebook being validated was not found; grade it with `autograder grade`"
        text = wrap(f"{verdicts.NOT_GRADED}: {why}") + "\n"
        line = f"import sys; sys.stderr.write({text!r})"
    else:
        if not hasattr(client, _GRADED):
            setattr(client, _GRADED, _grade(client.nb))
        line = verdict_line(client.nb, cell, getattr(client, _GRADED))
        sources = getattr(client, _SOURCE, {})
        sources[cell_index] = cell.source
        setattr(client, _SOURCE, sources)
    cell.source = line


def after_test_cell(cell: NotebookNode, cell_index: int, **_: Any) -> None:
    """nbclient's ``on_cell_complete`` hook: the kernel has the line; the cell gets its text back."""
    if os.environ.get("NBGRADER_VALIDATING") != "1" or not verdicts.is_test_cell(cell):
        return
    client = _client_running(cell)
    sources = getattr(client, _SOURCE, {}) if client is not None else {}
    if cell_index in sources:
        cell.source = sources.pop(cell_index)
