"""A submission's student-written code: its code cut into segments (a function, or a run of
top-level statements), with the starter code left out.

The starter code is what every student receives: the stub's cells. A line of a submission whose
normalised tokens equal a line of the stub's function of the same name (its ``def`` line, its
``raise NotImplementedError``), or of the stub's top-level code, is no student's own, and is left
out; so is a docstring, and a function the stub gives whole (a helper), however it is formatted.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from autograder.similarity.tokens import MAGIC, STR, Line, Token, lines

MODULE = "top-level code"


@dataclass
class Segment:
    """A top-level function (or class), or a run of top-level statements: the unit that is
    fingerprinted, so that moving functions around changes nothing."""

    name: str
    tokens: list[Token] = field(default_factory=list)
    header: tuple[int, int] | None = None  # (cell, row) of its ``def`` line, shown for context


@dataclass
class Code:
    """The student-written code of one submission: its segments and the cells they come from."""

    segments: list[Segment]
    cells: dict[int, str]  # cell number -> its source, for showing the code

    @property
    def size(self) -> int:
        return sum(len(s.tokens) for s in self.segments)


def top_level_names(sources: Iterable[str]) -> frozenset[str]:
    """Names bound at the top level of the code (functions, classes, assignments, imports)."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse("\n".join("" if MAGIC.match(s) else s for s in source.split("\n")))
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # code too deep to parse
            continue
        for node in tree.body:
            names.update(_bound(node))
    return frozenset(names)


def imported_names(sources: Iterable[str]) -> frozenset[str]:
    """Names that ``import`` statements bind anywhere in the code (modules are API); code that
    does not parse is read line by line."""
    names: set[str] = set()
    for source in sources:
        try:
            tree = ast.parse("\n".join("" if MAGIC.match(s) else s for s in source.split("\n")))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            for match in _IMPORT.finditer(source):
                names.update(w.split(".")[0] for part in match.group(1).strip("() \\").split(",")
                             for w in part.split()[:1] + part.split()[-1:])
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
                names.update(a.name.split(".")[0] for a in node.names)
    return frozenset(n for n in names if n.isidentifier())


_IMPORT = re.compile(r"^\s*(?:from\s+\S+\s+)?import\s+(.+)$", re.M)


def _bound(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def segments(cells: list[tuple[int, str]], keep: frozenset[str]) -> list[tuple[str, list[Line]]]:
    """The code of ``(cell number, source)`` pairs cut into segments of logical lines: each
    top-level ``def`` or ``class`` (with its decorators) one, each run of other top-level
    statements another (named :data:`MODULE`). A cell ends every segment."""
    out: list[tuple[str, list[Line]]] = []
    for cell, source in cells:
        current: tuple[str, list[Line]] | None = None
        pending: list[Line] = []  # decorators wait for their def
        for line in lines(source, cell, keep):
            if line.top and line.text == "@":
                pending.append(line)
                continue
            if line.top and line.text in ("def", "class", "async"):
                names = [t for t in line.tokens if t.norm not in ("async", "def", "class")]
                current = (_name_at(source, names[0]) if names else MODULE, [*pending, line])
                out.append(current)
            elif current is None or (line.top and (current[0] != MODULE or pending)):
                current = (MODULE, [*pending, line])
                out.append(current)
            else:
                current[1].append(line)
            pending = []
        if pending:
            out.append((MODULE, pending))
    return out


@dataclass(frozen=True)
class Starter:
    """What every student receives: the names it defines, its lines (normalised) by the function
    they belong to (:data:`MODULE` for top-level code), and its token sequences by segment."""

    keep: frozenset[str]
    lines: dict[str, frozenset[tuple[str, ...]]]
    sequences: list[list[str]]
    helpers: frozenset[str]  # functions the stub gives whole (no ``raise NotImplementedError``)


def starter(given: Sequence[str], shown: Sequence[str] = ()) -> Starter:
    """The starter code: the stub's cells that are graded (``given``: their top-level names are
    API) and those that are not (``shown``: self-checks and demos, which a student may keep)."""
    keep = top_level_names(given) | imported_names(given)
    found: dict[str, set[tuple[str, ...]]] = {}
    sequences = []
    for name, body in segments(list(enumerate([*given, *shown])), keep):
        found.setdefault(name, set()).update(line.key() for line in body)
        sequences.append([t.norm for line in body for t in line.tokens])
    stubbed = {name for name, keys in found.items()
               if any(key[:2] == ("raise", "NotImplementedError") for key in keys)}
    return Starter(keep, {name: frozenset(keys) for name, keys in found.items()}, sequences,
                   frozenset(found) - stubbed - {MODULE})


def student_code(cells: list[tuple[int, str]], given: Starter) -> Code:
    """The student-written code of a submission's ``(cell number, source)`` pairs: its lines
    that are not the starter's, nor a docstring, cut into segments (a function the stub gives
    whole is left out whole)."""
    keep = given.keep | imported_names(source for _, source in cells)
    out = []
    for name, body in segments(cells, keep):
        if name in given.helpers:
            continue  # a given function, however it is formatted
        theirs = given.lines.get(name, frozenset())
        tokens = [t for line in body if line.key() not in theirs and line.key() != (STR,)
                  for t in line.tokens]
        if tokens:
            heads = [line.tokens[0] for line in body if line.text in ("def", "class", "async")]
            header = (heads[0].cell, heads[0].start[0]) if heads else None
            out.append(Segment(name, tokens, header))
    return Code(out, dict(cells))


def _name_at(source: str, token: Token) -> str:
    row, col = token.start
    return source.split("\n")[row - 1][col:token.end[1]]
