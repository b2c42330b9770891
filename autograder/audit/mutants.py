"""Small wrong versions of the reference solution: one change each, made on the AST of a graded
function (a function with a solution region in the master).

Each operator below names a mistake students make; :func:`mutants` applies every operator at
every place it fits, one at a time, and keeps each mutant that compiles and differs from the
reference. A mutant carries the cells to grade (the reference's, with that one function changed),
a one-line description of the change and a diff of the function.
"""

from __future__ import annotations

import ast
import copy
import difflib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from autograder.generate import pipelines

# (operator, what it does): the kinds of change. Calls of print are left alone: what a
# notebook shows is not graded.
OPERATORS = {
    "arithmetic": "an arithmetic operator swapped (+ -, * /, @ *)",
    "comparison": "a comparison swapped (< <=, > >=, == !=)",
    "constant": "a number changed (0, 1, twice, half, negated)",
    "drop-term": "a term or factor of a sum or product dropped",
    "sign": "a minus sign dropped",
    "axis": "an axis changed or removed",
    "keepdims": "keepdims toggled",
    "transpose": "a transpose added or removed",
    "swap-arguments": "the first two arguments of a call swapped",
    "keyword-dropped": "a keyword argument left out (feed_dict=, dtype=, ...)",
    "index-dropped": "an index left out (X[batch] -> X)",
    "call-to-argument": "a call replaced by its first argument",
    "reduction": "a function swapped for its sibling (mean sum, max min, argmax argmin)",
    "loop-bound": "a loop bound off by one",
    "statement": "a statement deleted",
    "parameter": "a parameter ignored (its default used instead)",
    "return-constant": "the returned value replaced by zeros of its shape",
}
ARITHMETIC = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
              ast.FloorDiv: ast.Div, ast.MatMult: ast.Mult, ast.Pow: ast.Mult}
COMPARISON = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
              ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}
SIBLINGS = {"reduce_mean": "reduce_sum", "reduce_sum": "reduce_mean", "mean": "sum",
            "sum": "mean", "reduce_max": "reduce_min", "reduce_min": "reduce_max", "max": "min",
            "min": "max", "argmax": "argmin", "argmin": "argmax", "maximum": "minimum",
            "minimum": "maximum", "amax": "amin", "amin": "amax"}


@dataclass(frozen=True)
class Mutant:
    id: str  # function name and a hash of the mutated function: stable while the master is
    function: str
    operator: str
    change: str  # one line: "a + b  ->  a - b"
    diff: str  # unified diff of the function
    cells: tuple[tuple[int, str], ...]  # (index, source) of the cells to grade

    def as_cells(self) -> list[dict[str, Any]]:
        return [{"index": i, "source": s} for i, s in self.cells]


def _snippet(node: ast.AST) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


Edit = tuple[str, str, Callable[[ast.AST], ast.AST | None]]  # operator, change, new node


def _number(node: ast.Constant) -> Iterator[Edit]:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    new_values: list[Any] = [0, 1, -value]
    new_values += [value * 2, value // 2] if isinstance(value, int) else [value * 2, value / 2]
    seen = {value}
    for new in new_values:
        if new in seen:
            continue
        seen.add(new)
        yield "constant", f"{value!r}  ->  {new!r}", lambda _n, new=new: ast.Constant(new)


def _edits(node: ast.AST, tf: bool) -> Iterator[Edit]:
    """Every single change that fits ``node`` itself."""
    if isinstance(node, ast.BinOp):
        swap = ARITHMETIC.get(type(node.op))
        if swap is not None:
            def swapped(n: ast.AST, swap: type = swap) -> ast.AST:
                return ast.BinOp(n.left, swap(), n.right)

            yield "arithmetic", f"{_snippet(node)}  ->  {_snippet(swapped(node))}", swapped
        if isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult)):
            yield "drop-term", f"{_snippet(node)}  ->  {_snippet(node.left)}", lambda n: n.left
            if not isinstance(node.op, ast.Sub):
                yield ("drop-term", f"{_snippet(node)}  ->  {_snippet(node.right)}",
                       lambda n: n.right)
        if isinstance(node.op, ast.MatMult):
            for side in ("left", "right"):
                operand = getattr(node, side)
                if isinstance(operand, ast.Name):
                    def transposed(n: ast.AST, side: str = side) -> ast.AST:
                        new = copy.copy(n)
                        setattr(new, side, ast.Attribute(getattr(n, side), "T", ast.Load()))
                        return new

                    yield ("transpose", f"{_snippet(node)}  ->  {_snippet(transposed(node))}",
                           transposed)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign", f"{_snippet(node)}  ->  {_snippet(node.operand)}", lambda n: n.operand
    elif isinstance(node, ast.Compare) and len(node.ops) == 1:
        swap = COMPARISON.get(type(node.ops[0]))
        if swap is not None:
            def compared(n: ast.AST, swap: type = swap) -> ast.AST:
                return ast.Compare(n.left, [swap()], n.comparators)

            yield "comparison", f"{_snippet(node)}  ->  {_snippet(compared(node))}", compared
    elif isinstance(node, ast.Constant):
        yield from _number(node)
    elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        yield "index-dropped", f"{_snippet(node)}  ->  {_snippet(node.value)}", lambda n: n.value
    elif isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.ctx, ast.Load):
        yield "transpose", f"{_snippet(node)}  ->  {_snippet(node.value)}", lambda n: n.value
    elif isinstance(node, ast.Call):
        yield from _call_edits(node)
    elif isinstance(node, ast.Return) and node.value is not None:
        zeros = _zeros_like(node.value, tf)
        yield ("return-constant", f"return {_snippet(node.value)}  ->  return {_snippet(zeros)}",
               lambda n, z=zeros: ast.Return(copy.deepcopy(z)))


def _call_edits(node: ast.Call) -> Iterator[Edit]:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(
        func, ast.Name) else ""
    if name in SIBLINGS and isinstance(func, ast.Attribute):
        def sibling(n: ast.AST) -> ast.AST:
            new = copy.copy(n)
            new.func = ast.Attribute(n.func.value, SIBLINGS[n.func.attr], ast.Load())
            return new

        yield "reduction", f"{_snippet(node)}  ->  {_snippet(sibling(node))}", sibling
    for i, keyword in enumerate(node.keywords):
        if keyword.arg not in (None, "axis", "keepdims"):
            def dropped(n: ast.AST, i: int = i) -> ast.AST:
                new = copy.copy(n)
                new.keywords = [k for j, k in enumerate(n.keywords) if j != i]
                return new

            yield "keyword-dropped", f"{_snippet(node)}  ->  {_snippet(dropped(node))}", dropped
        if keyword.arg == "axis":
            def without(n: ast.AST, i: int = i) -> ast.AST:
                new = copy.copy(n)
                new.keywords = [k for j, k in enumerate(n.keywords) if j != i]
                return new

            yield "axis", f"{_snippet(node)}  ->  {_snippet(without(node))}", without
            value = keyword.value
            if isinstance(value, ast.Constant) and isinstance(value.value, int):
                other = 0 if value.value in (1, -1) else 1

                def moved(n: ast.AST, i: int = i, other: int = other) -> ast.AST:
                    new = copy.copy(n)
                    new.keywords = [ast.keyword("axis", ast.Constant(other)) if j == i else k
                                    for j, k in enumerate(n.keywords)]
                    return new

                yield "axis", f"{_snippet(node)}  ->  {_snippet(moved(node))}", moved
        if keyword.arg == "keepdims" and isinstance(keyword.value, ast.Constant):
            def toggled(n: ast.AST, i: int = i) -> ast.AST:
                new = copy.copy(n)
                new.keywords = [ast.keyword("keepdims", ast.Constant(not k.value.value))
                                if j == i else k for j, k in enumerate(n.keywords)]
                return new

            yield "keepdims", f"{_snippet(node)}  ->  {_snippet(toggled(node))}", toggled
    if name == "range" and node.args:
        for delta, op in ((1, ast.Sub), (1, ast.Add)):
            def bound(n: ast.AST, op: type = op, delta: int = delta) -> ast.AST:
                new = copy.copy(n)
                stop = 0 if len(n.args) == 1 else 1
                args = list(n.args)
                args[stop] = ast.BinOp(args[stop], op(), ast.Constant(delta))
                new.args = args
                return new

            yield "loop-bound", f"{_snippet(node)}  ->  {_snippet(bound(node))}", bound
        return
    if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
        def swapped(n: ast.AST) -> ast.AST:
            new = copy.copy(n)
            new.args = [n.args[1], n.args[0], *n.args[2:]]
            return new

        yield "swap-arguments", f"{_snippet(node)}  ->  {_snippet(swapped(node))}", swapped
    if node.args and not isinstance(node.args[0], ast.Starred) and name not in ("float", "int"):
        yield ("call-to-argument", f"{_snippet(node)}  ->  {_snippet(node.args[0])}",
               lambda n: n.args[0])


def _zeros_like(value: ast.expr, tf: bool) -> ast.expr:
    """``zeros_like(value)`` of NumPy or TensorFlow; for a tuple, of each element."""
    if isinstance(value, ast.Tuple):
        return ast.Tuple([_zeros_like(v, tf) for v in value.elts], ast.Load())
    module = "tf" if tf else "np"
    return ast.Call(ast.Attribute(ast.Name(module, ast.Load()), "zeros_like", ast.Load()),
                    [value], [])


def _is_print(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "print")


def _statement_edits(body: list[ast.stmt]) -> Iterator[tuple[int, str]]:
    """(index in body, description) of each statement that may be deleted."""
    for i, stmt in enumerate(body):
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Expr, ast.AnnAssign)):
            if isinstance(stmt, ast.Expr) and (isinstance(stmt.value, ast.Constant)
                                               or _is_print(stmt.value)):
                continue  # a docstring, or what the notebook shows
            yield i, f"{_snippet(stmt)}  ->  (deleted)"


def _parameters(function: ast.FunctionDef) -> dict[str, ast.expr]:
    args = function.args.args
    defaults = function.args.defaults
    return {a.arg: d for a, d in zip(args[len(args) - len(defaults):], defaults, strict=True)}


def _variants(function: ast.FunctionDef, tf: bool) -> Iterator[tuple[str, str, ast.FunctionDef]]:
    """(operator, change, mutated copy) for every single change of ``function``'s body."""
    nodes = [n for stmt in function.body for n in ast.walk(stmt)]
    shown = {id(n) for call in nodes if _is_print(call) for n in ast.walk(call)}
    for index, node in enumerate(nodes):
        if id(node) in shown:
            continue  # what a print shows changes no result
        for operator, change, make in _edits(node, tf):
            clone = copy.deepcopy(function)
            target = [n for stmt in clone.body for n in ast.walk(stmt)][index]
            replacement = make(target)
            if replacement is None or not _replace(clone, target, replacement):
                continue
            yield operator, change, clone
    blocks = [function] + [n for n in ast.walk(function) if isinstance(n, (ast.For, ast.While, ast.If,
                                                                          ast.With))]
    for block_index, block in enumerate(blocks):
        for i, change in _statement_edits(block.body):
            clone = copy.deepcopy(function)
            clone_blocks = [clone] + [n for n in ast.walk(clone)
                                      if isinstance(n, (ast.For, ast.While, ast.If, ast.With))]
            target = clone_blocks[block_index]
            del target.body[i]
            if not target.body:
                target.body.append(ast.Pass())
            yield "statement", change, clone
    for name, default in _parameters(function).items():
        clone = copy.deepcopy(function)
        uses = [n for stmt in clone.body for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
        for use in uses:
            _replace(clone, use, copy.deepcopy(default))
        if uses:
            yield "parameter", f"{name}  ->  {_snippet(default)} (everywhere)", clone


def _replace(root: ast.AST, target: ast.AST, new: ast.AST) -> bool:
    """Put ``new`` in ``target``'s place below ``root``."""
    for parent in ast.walk(root):
        for field, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, field, new)
                return True
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = new
                        return True
    return False


def _uses_tensorflow(function: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Name) and n.id in ("tf", "tf1") for n in ast.walk(function))


def mutants(assignment: str, functions: list[str] | None = None) -> list[Mutant]:
    """Every mutant of ``assignment``'s graded functions (or of ``functions`` only)."""
    graded = pipelines.graded_functions(assignment)
    wanted = [f for f in graded if functions is None or f in functions]
    cells = [c.source for c in pipelines.build(assignment, pipelines.REFERENCE) if c.kind == "code"]
    found: list[Mutant] = []
    seen: set[str] = set()
    for cell_index, source in enumerate(cells):
        tree = ast.parse(source)
        lines = source.split("\n")
        for node in tree.body:
            if not (isinstance(node, ast.FunctionDef) and node.name in wanted):
                continue
            original = ast.unparse(node)
            seen.add(original)
            for operator, change, clone in _variants(node, _uses_tensorflow(node)):
                ast.fix_missing_locations(clone)
                try:
                    text = ast.unparse(clone)
                    compile(text, "<mutant>", "exec")
                except (SyntaxError, ValueError, TypeError, RecursionError):
                    continue
                if text in seen:
                    continue  # the same as the reference or as another mutant
                seen.add(text)
                mutated = "\n".join(lines[:node.lineno - 1] + text.split("\n")
                                    + lines[node.end_lineno:])
                diff = "\n".join(difflib.unified_diff(original.split("\n"), text.split("\n"),
                                                      "reference", "mutant", lineterm="", n=1))
                digest = hashlib.sha256(text.encode()).hexdigest()[:10]
                found.append(Mutant(
                    id=f"{node.name}-{digest}", function=node.name, operator=operator,
                    change=change, diff=diff,
                    cells=tuple((i, mutated if i == cell_index else s)
                                for i, s in enumerate(cells))))
    return found
