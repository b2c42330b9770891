"""A cell of Python as normalised tokens, one logical line (a statement) at a time.

Tokens come from Python's own ``tokenize`` (a cell it cannot read, half-written code, falls back
to a line-by-line scan). What a token becomes:

- comments, blank lines, indentation, line breaks and ``;`` are dropped, and so are a trailing
  comma before a closing bracket and parentheses around a whole value or doubled (a formatter
  adds or removes them);
- a keyword, an operator, a number (by value: ``1e-5`` and ``0.00001`` are alike) stays itself;
- every string is ``S`` (quotes and wording do not matter);
- a name stays itself when it is API: an attribute (``tf.matmul``: ``matmul``), a keyword
  argument (``axis=``), a builtin, or a name in ``keep`` (what the starter code defines at the
  top level: ``tf``, ``np``, the graded functions, given helpers and constants; what the
  submission imports), unless a function makes it its own local variable or parameter;
- every other name, one the student chose, is ``V``: renaming variables changes nothing.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass

VAR = "V"
STR = "S"

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12 splits f-strings
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)
_CLOSE = {")", "]", "}"}
_BUILTINS = frozenset(dir(builtins))
MAGIC = re.compile(r"^\s*[%!]")  # IPython magics and shell lines are no Python
_SCAN = re.compile(r"""(?P<comment>\#.*)|(?P<string>[rbuf]*("[^"\n]*"?|'[^'\n]*'?))
                       |(?P<name>[^\W\d]\w*)|(?P<number>\d[\w.]*)
                       |(?P<op>\*\*=?|//=?|>>=?|<<=?|[-+*/%&|^@<>=!:]=|->|\.\.\.|\S)""", re.X)


@dataclass(frozen=True)
class Token:
    """One normalised token and where it stands: code cell ``cell``, ``(row, col)`` from
    ``start`` to ``end`` (rows from 1, as ``tokenize`` counts)."""

    norm: str
    cell: int
    start: tuple[int, int]
    end: tuple[int, int]


@dataclass
class Line:
    """A logical line (a statement, however many rows it spans)."""

    tokens: list[Token]
    top: bool  # starts in column 0
    text: str = ""  # the first name or keyword, to tell a ``def`` from other code

    def key(self) -> tuple[str, ...]:
        return tuple(t.norm for t in self.tokens)


def _raw_tokens(source: str) -> Iterator[tuple[int, str, tuple[int, int], tuple[int, int]]]:
    """``(type, string, start, end)`` from tokenize; a source it cannot read is scanned line by
    line instead (each physical line a logical line)."""
    source = "\n".join("" if MAGIC.match(line) else line for line in source.split("\n"))
    try:
        found = [(t.type, t.string, t.start, t.end)
                 for t in tokenize.generate_tokens(io.StringIO(source).readline)]
    except (tokenize.TokenError, SyntaxError):
        found = list(_scan(source))
    yield from found


def _scan(source: str) -> Iterator[tuple[int, str, tuple[int, int], tuple[int, int]]]:
    kinds = {"comment": tokenize.COMMENT, "string": tokenize.STRING, "name": tokenize.NAME,
             "number": tokenize.NUMBER, "op": tokenize.OP}
    for row, line in enumerate(source.split("\n"), start=1):
        for match in _SCAN.finditer(line):
            kind = kinds[match.lastgroup or "op"]
            yield kind, match.group(), (row, match.start()), (row, match.end())
        yield tokenize.NEWLINE, "\n", (row, len(line)), (row, len(line) + 1)


def _number(text: str) -> str:
    try:
        return repr(ast.literal_eval(text.replace("_", "")))
    except (ValueError, SyntaxError):
        return text


def lines(source: str, cell: int, keep: frozenset[str]) -> list[Line]:
    """The logical lines of ``source`` (code cell number ``cell``) as normalised tokens; names in
    ``keep`` (and keywords, builtins, attributes, keyword arguments) stay themselves."""
    raw = list(_raw_tokens(source))
    scopes = _scopes(source)
    out: list[Line] = []
    current: list[Token] = []
    first: tuple[str, int] | None = None  # the line's first token and its column
    depth = 0  # of brackets
    fstring = 0
    fstring_start: tuple[int, int] = (0, 0)
    for i, (kind, text, start, end) in enumerate(raw):
        if fstring:
            fstring += (kind == _FSTRING_START) - (kind == _FSTRING_END)
            if not fstring:
                current.append(Token(STR, cell, fstring_start, end))
            continue
        if kind == _FSTRING_START:
            fstring, fstring_start = 1, start
            first = first or (STR, start[1])
            continue
        if kind == tokenize.NEWLINE or kind == tokenize.ENDMARKER:
            if current:
                out.append(Line(_unwrapped(current), top=first is not None and first[1] == 0,
                                text=first[0] if first else ""))
            current, first, depth = [], None, 0
            continue
        if kind in _SKIP or (kind == tokenize.ERRORTOKEN and not text.strip()):
            continue
        if first is None:
            first = (text, start[1])
        local = frozenset()
        if kind == tokenize.NAME and (text in keep or text in _BUILTINS):  # unless a local's
            local = next((names for first_row, last_row, names in scopes
                          if first_row <= start[0] <= last_row), local)
        norm = _normalise(kind, text, raw, i, depth, keep, local)
        if kind == tokenize.OP:
            depth += (text in "([{") - (text in _CLOSE)
            if text in _CLOSE and current and current[-1].norm == ",":
                current.pop()  # a trailing comma is the formatter's choice
        if norm is not None:
            current.append(Token(norm, cell, start, end))
    if current:
        out.append(Line(_unwrapped(current), top=first is not None and first[1] == 0,
                        text=first[0] if first else ""))
    return out


_OPENS_VALUE = {"return", "yield", "=", "in", "+=", "-=", "*=", "/=", "@=", "//="}


def _unwrapped(tokens: list[Token]) -> list[Token]:
    """The statement without parentheses a formatter adds or drops: around a whole value
    (``return (a, b)``, ``x = (y)``, ``for i in (a, b):``) and doubled ones (``sum((x for x in
    y))``)."""
    partner: dict[int, int] = {}
    stack: list[int] = []
    for i, token in enumerate(tokens):
        if token.norm in ("(", "[", "{"):
            stack.append(i)
        elif token.norm in _CLOSE and stack:
            partner[stack.pop()] = i
    drop: set[int] = set()
    for i, j in partner.items():
        if tokens[i].norm != "(":
            continue
        after = tokens[j + 1].norm if j + 1 < len(tokens) else ""
        whole = (i == 0 or tokens[i - 1].norm in _OPENS_VALUE) and after in ("", "=", ":")
        doubled = i > 0 and partner.get(i - 1) == j + 1 and tokens[i - 1].norm == "("
        if whole or doubled:
            drop |= {i, j}
    return [t for i, t in enumerate(tokens) if i not in drop] if drop else tokens


def _normalise(kind: int, text: str, raw: list, i: int, depth: int,
               keep: frozenset[str], local: frozenset[str]) -> str | None:
    if kind == tokenize.STRING:
        return STR
    if kind == tokenize.NUMBER:
        return _number(text)
    if kind == tokenize.OP:
        return None if text == ";" else text
    if kind != tokenize.NAME:
        return text
    if keyword.iskeyword(text) or ((text in keep or text in _BUILTINS) and text not in local):
        return text
    before = _neighbour(raw, i, -1)
    after = _neighbour(raw, i, +1)
    if before == "." or (depth > 0 and after == "=" and before in ("(", ",")):
        return text  # an attribute, or a keyword argument's name
    return VAR


def _scopes(source: str) -> list[tuple[int, int, frozenset[str]]]:
    """``(first row, last row, local names)`` of each top-level function: a parameter or a
    variable of a function is the student's name even where the notebook has a global of that
    name (a demo cell's ``theta``)."""
    try:
        tree = ast.parse("\n".join("" if MAGIC.match(s) else s for s in source.split("\n")))
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # code too deep to parse
        return []
    out = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names, shared = set(), set()
            for n in ast.walk(node):
                if isinstance(n, ast.arg):
                    names.add(n.arg)
                elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    names.add(n.id)
                elif isinstance(n, ast.Global):
                    shared.update(n.names)
            names -= shared
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            out.append((start, node.end_lineno or node.lineno, frozenset(names)))
    return out


def _neighbour(raw: list, i: int, step: int) -> str:
    j = i + step
    while 0 <= j < len(raw) and raw[j][0] in (tokenize.NL, tokenize.COMMENT):
        j += step
    return raw[j][1] if 0 <= j < len(raw) else ""
