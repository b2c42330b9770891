"""The notebook ``check()`` grades: which file it is, which assignment, and whether it is saved.

The notebook is found from the path JupyterLab gives the kernel (``__session__``, from the
environment variable ``JPY_SESSION_NAME``: the notebook's path under the server's root, while the
kernel runs in the notebook's folder), else as the one notebook of the course in the kernel's
folder; ``check(path=...)`` names it (a relative path is taken from the notebook's folder). The
assignment is the one the notebook records in its metadata.

A file on disk that does not hold the functions the kernel runs is not graded ("save first"): each
function the kernel defined in a cell is compared, by its syntax tree (so comments and spacing do
not matter), with the same function in the saved file. Cells that only call ``check()`` or print
something do not count.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import textwrap
from pathlib import Path
from typing import Any


class CheckError(Exception):
    """Why the notebook could not be checked: one line for the student."""


def shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def read(path: Path) -> dict[str, Any]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckError(f"{path.name}: cannot be read as a notebook ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise CheckError(f"{path.name}: is not a notebook (no cells)")
    return nb


def assignment_of(nb: dict[str, Any]) -> str | None:
    """The assignment the notebook says it is (``metadata.autograder.assignment``)."""
    meta = nb.get("metadata", {}).get("autograder", {}) if isinstance(nb.get("metadata"), dict) \
        else {}
    name = meta.get("assignment") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name else None


def _assignment(path: Path) -> str | None:
    try:
        return assignment_of(read(path))
    except CheckError:
        return None


def source(cell: dict[str, Any]) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else str(text)


def code_cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in nb.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "code"]


def tags(cell: dict[str, Any]) -> list[str]:
    found = cell.get("metadata", {}).get("tags", []) if isinstance(cell.get("metadata"), dict) \
        else []
    return [t for t in found if isinstance(t, str)] if isinstance(found, list) else []


def find(path: str | os.PathLike[str] | None = None) -> Path:
    """The notebook ``check()`` grades, as an absolute path; raises :class:`CheckError`."""
    if path is not None:
        found = Path(path).expanduser()
        found = found if found.is_absolute() else Path.cwd() / found
        if not found.is_file():
            raise CheckError(f"{path}: no such notebook (looked in {found.parent})")
        return found.resolve()
    ipython = shell()
    user = ipython.user_ns if ipython is not None else {}
    # JupyterLab and Notebook 7 (through the environment), VS Code (its own variable)
    session = user.get("__session__") or os.environ.get("JPY_SESSION_NAME") \
        or user.get("__vsc_ipynb_file__")
    if session:
        for candidate in (Path(session), Path.cwd() / Path(session).name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate.resolve()
    ours = [p for p in sorted(Path.cwd().glob("*.ipynb")) if _assignment(p)]
    if len(ours) > 1:  # keep the one that holds the kernel's functions, if only one does
        ours = [p for p in ours if not stale_functions(read(p))] or ours
    if len(ours) == 1:
        return ours[0].resolve()
    raise CheckError("cannot tell which notebook this is: call check(path=\"<notebook>.ipynb\")")


def _tree(text: str) -> str | None:
    try:
        return ast.dump(ast.parse(textwrap.dedent(text)))
    except (SyntaxError, ValueError):
        return None


def saved_functions(nb: dict[str, Any]) -> dict[str, set[str]]:
    """``{name: syntax trees}`` of the top-level functions of the file's code cells: every
    definition of a name (a self-check may wrap a function for a while, then put it back)."""
    found: dict[str, set[str]] = {}
    for cell in code_cells(nb):
        text = source(cell)
        try:
            module = ast.parse("\n".join(_no_magic(line) for line in text.splitlines()))
        except SyntaxError:
            continue
        for node in module.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.setdefault(node.name, set()).add(
                    ast.dump(ast.Module(body=[node], type_ignores=[])))
    return found


def _no_magic(line: str) -> str:
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line


def kernel_functions() -> dict[str, str]:
    """``{name: syntax tree}`` of the functions the kernel's cells defined (none outside IPython)."""
    ipython = shell()
    if ipython is None:
        return {}
    found = {}
    for name, value in list(ipython.user_ns.items()):
        if name.startswith("_") or not inspect.isfunction(value):
            continue
        if getattr(value, "__module__", None) != "__main__":
            continue  # imported, not written in a cell
        try:
            text = inspect.getsource(value)
        except (OSError, TypeError):
            continue
        tree = _tree(text)
        if tree is not None:
            found[name] = tree
    return found


def stale_functions(nb: dict[str, Any]) -> list[str]:
    """The functions the kernel runs in another version than the saved file holds."""
    saved = saved_functions(nb)
    return sorted(name for name, tree in kernel_functions().items()
                  if tree not in saved.get(name, set()))
