"""Which transforms, in which order, make each output of a master.

The order is code, not a comment: each pipeline is a tuple run front to back by ``transforms.run``.
"""

from __future__ import annotations

import re
from pathlib import Path

from autograder.generate import nbgrader_source as nbg
from autograder.generate import transforms as t
from autograder.generate.cells import Cell, parse_master

MASTERS = Path(__file__).resolve().parent.parent / "masters"

STUDENT: tuple[t.Transform, ...] = (t.tag_solution_cells, t.guard_demos, t.clear_solutions,
                                    t.check_no_solution_text)
SOLUTION: tuple[t.Transform, ...] = (t.tag_solution_cells, t.guard_demos, t.strip_solution_markers)
# What the grader executes as the reference: the solution without demos and self-checks.
REFERENCE: tuple[t.Transform, ...] = (*SOLUTION, t.drop_ungraded)
# The nbgrader source: solutions keep their markers, every cell gets nbgrader metadata (command.py
# then adds one autograded cell per hidden test with nbgrader_source.add_test_cells).
NBGRADER_SOURCE: tuple[t.Transform, ...] = (t.tag_solution_cells, t.guard_demos,
                                            nbg.mark_solution_cells, nbg.lock_given_cells)


def master_path(assignment: str) -> Path:
    return MASTERS / f"{assignment}.py"


def master_cells(assignment: str) -> list[Cell]:
    path = master_path(assignment)
    return parse_master(path.read_text(encoding="utf-8"), name=str(path))


def build(assignment: str, pipeline: tuple[t.Transform, ...]) -> list[Cell]:
    return t.run(master_cells(assignment), pipeline)


def graded_functions(assignment: str) -> list[str]:
    """The functions of ``assignment``'s master that have a solution region, in order: what
    students write and the suite grades."""
    text = master_path(assignment).read_text(encoding="utf-8")
    parts = re.split(r"^def (\w+)\(", text, flags=re.MULTILINE)
    return [name for name, body in zip(parts[1::2], parts[2::2], strict=True)
            if "### BEGIN SOLUTION" in body.split("\ndef ", 1)[0]]
