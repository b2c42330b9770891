"""The master format: a Python file in the "percent" layout (as jupytext writes it).

A line ``# %%`` opens a code cell and ``# %% [markdown]`` a markdown cell; either may carry
``tags=["demo", ...]``. Markdown lines are written as comments (``# text``). Text before the first
cell marker is the master's own header and belongs to no notebook.

Cell tags the kit understands:

``demo``       runs in the notebook (training, plots) but not while grading;
``selfcheck``  visible self-checks for students; not run while grading;
``solution``   a cell the student edits (it holds ``### BEGIN SOLUTION`` regions).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

MARKER = re.compile(r"^# %%(?P<kind> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")

DEMO = "demo"
SELFCHECK = "selfcheck"
SOLUTION = "solution"
NOT_GRADED = frozenset({DEMO, SELFCHECK})


class MasterError(ValueError):
    """A master file that cannot be parsed."""


@dataclass(frozen=True)
class Cell:
    kind: str  # "code" or "markdown"
    source: str
    tags: tuple[str, ...] = ()
    metadata: dict = field(default_factory=dict, compare=False)

    def with_source(self, source: str) -> Cell:
        return replace(self, source=source)


def _markdown_line(line: str) -> str:
    if line == "#":
        return ""
    if line.startswith("# "):
        return line[2:]
    raise MasterError(f"markdown line does not start with '# ': {line!r}")


def parse_master(text: str, name: str = "<master>") -> list[Cell]:
    """Split a percent-format master into cells."""
    cells: list[Cell] = []
    kind: str | None = None
    tags: tuple[str, ...] = ()
    lines: list[str] = []

    def flush() -> None:
        if kind is None:
            return
        body = list(lines)
        while body and not body[-1].strip():
            body.pop()
        if kind == "markdown":
            body = [_markdown_line(line) for line in body]
        cells.append(Cell(kind, "\n".join(body), tags))

    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("# %%"):
            match = MARKER.match(line)
            if match is None:
                raise MasterError(f"{name}:{number}: malformed cell marker {line!r}")
            flush()
            kind = "markdown" if match["kind"] else "code"
            try:
                tags = tuple(json.loads(match["tags"])) if match["tags"] else ()
            except json.JSONDecodeError as exc:
                raise MasterError(f"{name}:{number}: tags are not a JSON list") from exc
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    if not cells:
        raise MasterError(f"{name}: no '# %%' cell markers")
    return cells


_TOP_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.MULTILINE)


def defined_functions(cell: Cell) -> list[str]:
    """Names of the functions a code cell defines at its top level, in order."""
    return _TOP_DEF.findall(cell.source) if cell.kind == "code" else []
