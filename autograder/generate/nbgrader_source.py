"""Transforms that turn a master's cells into an nbgrader source notebook.

nbgrader reads what a cell is from its ``metadata["nbgrader"]``:

- a *solution* cell (``solution: true``) is where the student writes; it keeps its
  ``### BEGIN SOLUTION`` regions, which ``nbgrader generate_assignment`` replaces by stubs;
- a *read-only* cell (``locked: true``) is given text or code; nbgrader restores it before grading;
- an *autograded test* cell (``grade: true``, locked, ``points``) earns its points when its
  outputs hold no error. Ours hold, between nbgrader's hidden-test markers, only a call naming a
  test of the hidden suite; ``autograder.nbgrader.preprocessors.GradeWithHiddenSuites`` grades
  the notebook with that suite in a separate process and writes the verdict into the cell.

A test cell goes right after the solution cell of the last function its name or one-line
description mentions (else after the last solution cell). That placement also keeps nbgrader able
to put back a test cell a student deleted: it re-inserts it after its predecessor among the
solution and test cells.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from autograder.generate.cells import SOLUTION, Cell, defined_functions
from autograder.grading.results import TestResult
from coursekit.verdicts import check_grade_id

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
SCHEMA_VERSION = 3


def nbgrader_metadata(grade_id: str, *, solution: bool = False, grade: bool = False,
                      locked: bool = False, points: float | None = None) -> dict:
    """The ``metadata["nbgrader"]`` of one cell (schema version 3)."""
    meta: dict = {"grade": grade, "grade_id": grade_id, "locked": locked,
                  "schema_version": SCHEMA_VERSION, "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def _with_metadata(cell: Cell, metadata: dict) -> Cell:
    return Cell(cell.kind, cell.source, cell.tags, {**cell.metadata, **metadata})


def mark_solution_cells(cells: list[Cell]) -> list[Cell]:
    """Give each cell tagged ``solution`` nbgrader's solution metadata, named by its function."""
    out, seen = [], set()
    for i, cell in enumerate(cells):
        if SOLUTION not in cell.tags:
            out.append(cell)
            continue
        names = defined_functions(cell)
        grade_id = f"solution-{names[0]}" if names else f"solution-{i:02d}"
        if grade_id in seen:
            grade_id = f"{grade_id}-{i:02d}"
        seen.add(grade_id)
        out.append(_with_metadata(cell, nbgrader_metadata(grade_id, solution=True)))
    return out


def lock_given_cells(cells: list[Cell]) -> list[Cell]:
    """Make every cell that is not a solution cell read-only: nbgrader restores it when grading."""
    return [
        cell if SOLUTION in cell.tags
        else _with_metadata(cell, nbgrader_metadata(f"given-{i:02d}", locked=True))
        for i, cell in enumerate(cells)
    ]


def _mentions(test: TestResult, function: str) -> bool:
    in_id = re.search(rf"(?:^|_){re.escape(function)}(?:_|$|\[)", test.id)
    in_name = re.search(rf"(?<!\w){re.escape(function)}(?!\w)", test.name)
    return bool(in_id or in_name)


def check_cell(assignment: str, test: TestResult) -> Cell:
    """One autograded cell: what the student may read, then the hidden call naming the test."""
    points = f"{test.max_score:g} point{'s' if test.max_score != 1 else ''}"
    what = test.name if test.visibility == "visible" else "a hidden check"
    # Lines of at most 83 characters: nbgrader's validator cuts longer ones when it quotes a cell.
    title = textwrap.wrap(f"Autograded test ({points}): {what}", 81, subsequent_indent="  ")
    source = "\n".join([
        *(f"# {line}" for line in title),
        "# Hidden: it runs when the notebook is graded; the self-checks test your code now.",
        BEGIN_HIDDEN,
        "from autograder.nbgrader import hidden_test",
        f"hidden_test({assignment!r}, {test.id!r})",
        END_HIDDEN,
    ])
    meta = nbgrader_metadata(check_grade_id(test.id), grade=True, locked=True,
                             points=test.max_score)
    return Cell("code", source, (), meta)


def add_test_cells(cells: list[Cell], tests: Sequence[TestResult], *,
                   assignment: str) -> list[Cell]:
    """Insert one autograded test cell per hidden test after the solution cell it checks."""
    solutions = [i for i, c in enumerate(cells) if SOLUTION in c.tags]
    after: dict[int, list[Cell]] = {}
    for test in tests:
        homes = [i for i in solutions
                 if any(_mentions(test, f) for f in defined_functions(cells[i]))]
        home = max(homes) if homes else (solutions[-1] if solutions else len(cells) - 1)
        after.setdefault(home, []).append(check_cell(assignment, test))
    ids = [check_grade_id(t.id) for t in tests]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{assignment}: two hidden tests map to the same nbgrader cell id")
    out = []
    for i, cell in enumerate(cells):
        out.append(cell)
        out.extend(after.get(i, []))
    return out
