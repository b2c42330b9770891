"""Similar submissions: fingerprints of each student's own code, every pair scored, the most
alike shown side by side (``autograder similarity``; see docs/similarity.md).

:func:`section` is the class dashboard's part: the top pairs with links to their pages.
"""

from __future__ import annotations

from pathlib import Path


def section(folder: Path, assignment: str | None = None, *, top: int = 5) -> str | None:
    """HTML for the dashboard in ``folder`` (the ``--out`` of ``autograder similarity``): the
    ``top`` most similar pairs of each assignment checked, or None where none was; see
    :mod:`autograder.similarity.summary`."""
    from autograder.similarity.summary import section as make

    return make(folder, assignment, top=top)
