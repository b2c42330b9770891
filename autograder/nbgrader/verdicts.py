"""From the hidden suite's results to the outputs of nbgrader's autograded test cells.

The verdicts themselves (a test cell's outputs, matching tests to cells) are the student
package's (:mod:`coursekit.verdicts`): Validate on a student's server writes them the same way the
instructor's autograde does. What only autograde needs is here: the note in the notebook's
metadata of what grading gave, read back by the export's ``needs_attention`` column.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode

from coursekit.validate import submission
from coursekit.verdicts import (
    FAILED,
    NOT_GRADED,
    describe,
    is_test_cell,
    named_test,
    outputs_for,
    write_verdicts,
)

__all__ = ["FAILED", "NOT_GRADED", "describe", "is_test_cell", "named_test", "outputs_for",
           "problem_of", "remember", "submission", "write_verdicts"]


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
