"""A synthetic class for the similarity check: independent correct solutions and disguised copies.

Independent solutions, per assignment: the reference (from the master), the differently written
correct solution of the assignment's own tests (``DIFFERENT`` in ``tests/test_<a>.py``), and two
more written here (``OWN``), with other idioms and another structure. Each earns full marks (as
``test_similarity.py`` does not grade, that was checked once by grading them: see
``benchmarks/README.md``).

Disguises, each a function of a percent-format source: variables renamed, the code reformatted,
the functions reordered, comments added, and their combinations.
"""

from __future__ import annotations

import ast
import functools
import io
import re
import textwrap
import tokenize
from collections.abc import Callable
from pathlib import Path

from similarity_own import OWN
from util import mutate_all, replace_body, solution_source

from autograder.generate import notebook
from autograder.generate.cells import parse_master

ASSIGNMENTS = ("losses", "backprop", "gradient_descent")


def tests_variant(assignment: str) -> str:
    """The reference with the replacements of ``DIFFERENT`` in the assignment's own tests."""
    module = __import__(f"test_{assignment}")
    return mutate_all(solution_source(assignment), list(module.DIFFERENT))


def own_variant(assignment: str, name: str) -> str:
    source = solution_source(assignment)
    for function, body in OWN[assignment][name].items():
        source = replace_body(source, function, body)
    return source


def independent(assignment: str) -> dict[str, str]:
    """Name -> percent-format source of each independent correct solution."""
    return dict(_independent(assignment))


@functools.cache
def _independent(assignment: str) -> tuple[tuple[str, str], ...]:
    out = {"reference": solution_source(assignment), "tests": tests_variant(assignment)}
    out.update({name: own_variant(assignment, name) for name in OWN[assignment]})
    return tuple(out.items())


# --- disguises ---------------------------------------------------------------------------------

_WORDS = ("alpha", "beta", "gamma", "delta", "acc", "tmp", "val", "res", "out_", "arr", "buf",
          "cur", "nxt", "prev", "item", "elem", "part", "piece", "thing", "stuff")


def _cells(source: str) -> list[str]:
    """The source cut before each ``# %%`` marker (the first part may be empty)."""
    return re.split(r"(?m)^(?=# %%)", source)


def _body(cell: str) -> tuple[str, str]:
    header, _, body = cell.partition("\n")
    return header + "\n", body


def renamed(source: str) -> str:
    """Every local variable of every function renamed (parameters kept: the grader passes some
    by keyword)."""
    tree = ast.parse(source)
    mapping: dict[tuple[int, int], str] = {}  # (row, col) of a Name -> its new name
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        params = {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
        stores = [n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                  and isinstance(n.ctx, ast.Store) and n.id not in params and n.id != "_"]
        new = {old: f"{_WORDS[i % len(_WORDS)]}{i // len(_WORDS) or ''}"
               for i, old in enumerate(dict.fromkeys(stores))}
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.id in new:
                mapping[(n.lineno, n.col_offset)] = new[n.id]
    lines = source.split("\n")
    for (row, col), name in sorted(mapping.items(), reverse=True):
        line = lines[row - 1]
        col = len(line.encode("utf-8")[:col].decode("utf-8"))  # ast counts bytes
        old = re.match(r"\w+", line[col:]).group()
        lines[row - 1] = line[:col] + name + line[col + len(old):]
    return "\n".join(lines)


def _in_strings(text: str) -> set[int]:
    """The rows (from 1) that a string spanning several rows covers."""
    return {row for tok in tokenize.generate_tokens(io.StringIO(text).readline)
            if tok.type == tokenize.STRING for row in range(tok.start[0], tok.end[0] + 1)
            if tok.start[0] != tok.end[0]}


def _wrap(line: str) -> str:
    """A statement's bracketed arguments one per line (a formatter's style), if it has no
    string on it."""
    if "'" in line or '"' in line or "(" not in line or line.lstrip().startswith("def "):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    out, depth = [], 0
    for ch in line:
        if ch in "([{":
            depth += 1
            out.append(ch + ("\n" + indent + "        " if depth == 1 else ""))
            continue
        if ch in ")]}":
            depth -= 1
        if ch == "," and depth >= 1:
            out.append(",\n" + indent + "        ")
            continue
        out.append(ch)
    return "".join(out).replace("\n" + indent + "         ", "\n" + indent + "        ")


def reformatted(source: str) -> str:
    """Each code cell written again by ``ast.unparse`` (other spaces, quotes and parentheses),
    indented by two spaces, and calls wrapped one argument per line."""
    out = []
    for cell in _cells(source):
        if not cell.startswith("# %%"):
            out.append(cell)
            continue
        header, body = _body(cell)
        try:
            text = ast.unparse(ast.parse(body))
        except SyntaxError:
            out.append(cell)
            continue
        lines = []
        strings = _in_strings(text)
        for row, line in enumerate(text.split("\n"), start=1):
            stripped = line.lstrip(" ")
            indent = " " * ((len(line) - len(stripped)) // 2)
            lines.append(indent + stripped if row in strings or not indent
                         else _wrap(indent + stripped))
        out.append(header + "\n".join(lines) + "\n\n")
    return "".join(out)


def reordered(source: str) -> str:
    """The untagged cells that define functions, in the reverse order (self-checks stay)."""
    cells = _cells(source)
    slots = [i for i, c in enumerate(cells) if c.startswith("# %%")
             and not re.match(r".*(demo|selfcheck)", c) and re.search(r"(?m)^def \w+\(", c)]
    for i, cell in zip(slots, [cells[i] for i in slots][::-1], strict=True):
        cells[i] = cell
    return "".join(cells)


_REMARKS = ("# compute this step", "# see the lecture", "# TODO check", "# works", "# here",
            "# important!", "# as in the slides")


def commented(source: str) -> str:
    """A comment at the end of every statement in a function, and a comment line before each
    ``return``."""
    ends: set[int] = set()
    returns: set[int] = set()
    first: tokenize.TokenInfo | None = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if first is None:
            first = tok
        if tok.type == tokenize.NEWLINE:
            if first.start[1] > 0 and first.type != tokenize.STRING:
                ends.add(tok.start[0])
                if first.string == "return":
                    returns.add(first.start[0])
            first = None
    lines = source.split("\n")
    out = []
    for row, line in enumerate(lines, start=1):
        if row in returns:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# the result")
        out.append(f"{line}  {_REMARKS[row % len(_REMARKS)]}" if row in ends else line)
    return "\n".join(out)


DISGUISES: dict[str, Callable[[str], str]] = {
    "renamed": renamed,
    "reformatted": reformatted,
    "reordered": reordered,
    "commented": commented,
    "renamed+reformatted": lambda s: reformatted(renamed(s)),
    "renamed+reordered+commented": lambda s: commented(reordered(renamed(s))),
    "all four": lambda s: commented(reformatted(reordered(renamed(s)))),
}


def as_notebook(source: str, assignment: str) -> str:
    """A percent-format source as the notebook a student hands in."""
    cells = parse_master(source.replace("# %% [markdown]", "# %%"), name=assignment)
    nb = notebook.to_notebook(cells, assignment=assignment, role="submission")
    return notebook.dumps(nb)


def write(folder: Path, assignment: str, sources: dict[str, str]) -> Path:
    """A flat class folder: one ``<student>.ipynb`` per source."""
    folder.mkdir(parents=True, exist_ok=True)
    for student, source in sources.items():
        (folder / f"{student}.ipynb").write_text(as_notebook(source, assignment), encoding="utf-8")
    return folder


# --- harder copies, measured apart (benchmarks/similarity.py --harder) ---------------------------

def half_rewritten(source: str, other: str, functions: list[str]) -> str:
    """A copy of ``source`` whose every other graded function is taken from ``other`` instead
    (half the work copied, half done by another hand)."""
    for function in functions[1::2]:
        body = _function_body(other, function)
        source = replace_body(source, function, body)
    return source


def _function_body(source: str, function: str) -> str:
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function)
    first = node.body[1] if len(node.body) > 1 and isinstance(node.body[0], ast.Expr) \
        else node.body[0]
    lines = source.split("\n")[first.lineno - 1:node.end_lineno]
    return textwrap.dedent("\n".join(lines))


def padded(source: str) -> str:
    """A copy with a useless statement after every statement of every function (``_ = 0``,
    ``pass`` ...): each one breaks the k-grams across it."""
    fillers = ("_ = 0", "pass", "_ = None", "_ = []")
    lines = source.split("\n")
    ends = sorted(_statement_ends(source), reverse=True)
    for n, row in enumerate(ends):
        line = lines[row - 1]
        indent = line[: len(line) - len(line.lstrip())]
        if line.rstrip().endswith(":"):
            continue
        lines.insert(row, indent + fillers[n % len(fillers)])
    return "\n".join(lines)


def _statement_ends(source: str) -> set[int]:
    """Rows that end a simple statement inside a function (not a docstring, not a header)."""
    ends: set[int] = set()
    first: tokenize.TokenInfo | None = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            continue
        if first is None:
            first = tok
        if tok.type == tokenize.NEWLINE:
            if first.start[1] > 0 and first.type != tokenize.STRING and first.string != "return":
                ends.add(tok.start[0])
            first = None
    return ends
