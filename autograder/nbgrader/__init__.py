"""The kit as an nbgrader course: release, autograde and feedback with nbgrader's own commands.

How the pieces fit:

- ``autograder generate`` writes ``course/source/<assignment>/<assignment>.ipynb`` (see
  ``autograder/generate/nbgrader_source.py``): solution cells, read-only given cells and one
  autograded test cell per hidden test, worth that test's ``points``.
- A test cell holds, between nbgrader's hidden-test markers, only a call of :func:`hidden_test`
  naming its test. nbgrader removes that region from the release.
- ``nbgrader autograde`` runs the student's notebook in a kernel as usual; then
  :class:`~autograder.nbgrader.preprocessors.GradeWithHiddenSuites` grades the same notebook with
  ``python -m autograder grade`` in a separate process and rewrites each test cell's outputs from
  the result, so the points nbgrader records are those of the hidden suite.

This module is imported inside the student's kernel, so it stays tiny and imports nothing.
"""

from __future__ import annotations


def hidden_test(assignment: str, test: str) -> None:
    """Name the hidden test that grades this cell; does nothing in the kernel.

    The test itself never runs in the student's kernel (earlier cells could tamper with it): it
    runs in ``autograder grade``'s own process after the kernel has finished, and its verdict
    replaces this cell's outputs.
    """
    del assignment, test
