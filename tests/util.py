"""Helpers for the kit's own tests: reference sources, mutated (buggy) variants, grading them."""

from __future__ import annotations

from pathlib import Path

from autograder.generate import pipelines
from autograder.grading.results import GradeResult
from autograder.grading.run import grade

ROOT = Path(__file__).resolve().parent.parent


def solution_source(assignment: str) -> str:
    """The reference solution as a percent-format .py file (demo and selfcheck cells tagged)."""
    parts = []
    for cell in pipelines.build(assignment, pipelines.SOLUTION):
        if cell.kind != "code":
            continue
        tags = f' tags={list(cell.tags)!r}'.replace("'", '"') if cell.tags else ""
        parts.append(f"# %%{tags}\n{cell.source}\n")
    return "\n".join(parts)


def mutate(source: str, old: str, new: str) -> str:
    """Replace the one occurrence of ``old`` with ``new``; fails loudly if ``old`` is not unique."""
    count = source.count(old)
    assert count == 1, f"expected exactly one {old!r} in the reference, found {count}"
    return source.replace(old, new)


def grade_text(tmp_path: Path, assignment: str, text: str, name: str = "submission.py",
               **kwargs: object) -> GradeResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return grade(assignment=assignment, submission=path, **kwargs)


def failed(result: GradeResult) -> set[str]:
    """Ids of the tests that did not pass."""
    return {t.id for t in result.tests if t.status != "passed"}


def points_lost(result: GradeResult) -> float:
    return result.max_score - result.score
