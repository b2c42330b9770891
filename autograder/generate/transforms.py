"""Small single-purpose transforms over a list of cells; pipelines.py puts them in order."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable, Sequence

from autograder.generate.cells import DEMO, NOT_GRADED, SOLUTION, Cell, defined_functions

Transform = Callable[[list[Cell]], list[Cell]]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_DEF = re.compile(r"^\s*def\s+(\w+)\s*\(")


def stub_line(function: str | None) -> str:
    """The line that replaces a solution region: a clear "not implemented" naming the function."""
    where = f"{function} is" if function else "this part is"
    return f'raise NotImplementedError("{where} not implemented yet: replace this line with your code")'


def enclosing_function(lines: Sequence[str], index: int) -> str | None:
    """Name of the innermost ``def`` above ``lines[index]`` that encloses it, if any."""
    indent = len(lines[index]) - len(lines[index].lstrip())
    for line in reversed(lines[:index]):
        match = _DEF.match(line)
        if match and len(line) - len(line.lstrip()) < indent:
            return match[1]
    return None


def _regions(source: str) -> list[tuple[int, int]]:
    lines = source.split("\n")
    regions, start = [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN:
            if start is not None:
                raise ValueError(f"nested {BEGIN} at line {i + 1}")
            start = i
        elif stripped == END:
            if start is None:
                raise ValueError(f"{END} without {BEGIN} at line {i + 1}")
            regions.append((start, i))
            start = None
    if start is not None:
        raise ValueError(f"{BEGIN} at line {start + 1} is never closed")
    return regions


def clear_solutions(cells: list[Cell]) -> list[Cell]:
    """Replace each solution region by a ``raise NotImplementedError`` naming its function."""
    out = []
    for cell in cells:
        regions = _regions(cell.source) if cell.kind == "code" else []
        if not regions:
            out.append(cell)
            continue
        lines = cell.source.split("\n")
        for start, end in reversed(regions):
            indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
            function = enclosing_function(lines, start)
            lines[start : end + 1] = [indent + stub_line(function)]
        out.append(cell.with_source("\n".join(lines)))
    return out


def strip_solution_markers(cells: list[Cell]) -> list[Cell]:
    """Keep the solutions, drop the marker lines (the reference solution)."""
    out = []
    for cell in cells:
        if cell.kind != "code" or not _regions(cell.source):
            out.append(cell)
            continue
        lines = [ln for ln in cell.source.split("\n") if ln.strip() not in (BEGIN, END)]
        out.append(cell.with_source("\n".join(lines)))
    return out


def tag_solution_cells(cells: list[Cell]) -> list[Cell]:
    """Tag every code cell that holds a solution region with ``solution``."""
    return [
        Cell(c.kind, c.source, (*c.tags, SOLUTION), c.metadata)
        if c.kind == "code" and _regions(c.source) and SOLUTION not in c.tags
        else c
        for c in cells
    ]


def guard_demos(cells: list[Cell]) -> list[Cell]:
    """Start each demo cell that needs the student's functions with ``needs(...)`` naming them.

    A demo cell needs the graded functions it names, and those needed by the earlier cells (demo
    or self-check) that define a name it uses: the evaluation needs what the training cell
    needed, since it uses the session that cell made, and a plot of a self-check's results needs
    what the self-check needed. See ``coursekit/demo.py``.
    """
    graded = [name for c in cells if SOLUTION in c.tags for name in defined_functions(c)]
    made: dict[str, set[str]] = {}  # a name a demo or self-check cell defines -> what it needs
    out = []
    for cell in cells:
        if cell.kind != "code" or not NOT_GRADED & set(cell.tags):
            out.append(cell)
            continue
        used, assigned = _used(cell.source), _assigned(cell.source)
        need = {f for f in graded if f in used}
        for name in used - assigned:  # a name the cell makes itself owes nothing to earlier ones
            need |= made.get(name, set())
        for name in assigned:
            made[name] = need
        if need and DEMO in cell.tags:
            call = textwrap.fill(f"needs({', '.join(f for f in graded if f in need)})", 99,
                                 subsequent_indent="      ", break_long_words=False)
            lines = f"from coursekit import needs  # this cell stops here until these work:\n{call}\n"
            cell = Cell(cell.kind, lines + cell.source, cell.tags, cell.metadata)
        out.append(cell)
    return out


def _used(source: str) -> set[str]:
    """Names a cell reads (not attributes: ``mnist.train`` does not use ``train``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(re.findall(r"\b[A-Za-z_]\w*\b", source))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _assigned(source: str) -> set[str]:
    """Top-level names a cell binds (assignments, with-as, for targets, defs and imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def drop_ungraded(cells: list[Cell]) -> list[Cell]:
    """Keep only what grading runs: code cells not tagged demo or selfcheck."""
    return [c for c in cells if c.kind == "code" and not NOT_GRADED & set(c.tags)]


def check_no_solution_text(cells: list[Cell]) -> list[Cell]:
    """Refuse to go on if any solution marker survived (a guard for student-facing outputs)."""
    for i, cell in enumerate(cells):
        if BEGIN in cell.source or END in cell.source:
            raise ValueError(f"cell {i} still holds a solution marker")
    return cells


def run(cells: list[Cell], transforms: Sequence[Transform]) -> list[Cell]:
    for transform in transforms:
        cells = transform(cells)
    return cells
