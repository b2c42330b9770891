"""nbgrader's *Validate* in the instructor's course: the student package's hooks
(:mod:`coursekit.validate`), grading with the kit itself, exactly as ``nbgrader autograde`` does
(:func:`autograder.nbgrader.grade.grade_notebook`: a fork of the warm template running
``autograder grade``). A course on JupyterHub gives its students the bundle's hooks instead,
which ask the course's grading service.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode

from autograder.nbgrader.grade import grade_notebook
from coursekit.validate import FAILED_WARNING, Hooks, verdict_line, wrap

__all__ = ["FAILED_WARNING", "after_test_cell", "before_test_cell", "verdict_line", "wrap"]


def _grade(assignment: str, nb: NotebookNode) -> tuple[dict[str, Any] | None, str]:
    return grade_notebook(assignment, nb)


hooks = Hooks(grade=_grade)
before_test_cell = hooks.before_test_cell
after_test_cell = hooks.after_test_cell
