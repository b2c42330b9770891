"""The notebook's own self-checks, run on the saved file when no grader can be reached.

``python -m coursekit.selfchecks NOTEBOOK RESULT`` runs the saved notebook's code cells in order in
a fresh process (demo cells and the cell that calls ``check()`` left out; what they print is not
shown) and writes to RESULT, as JSON, one entry per self-check cell: the function it checks (the
one defined just above it), whether it passed, and its message if not. These are the visible
checks the student already has in the notebook; the hidden tests are the grader's.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from coursekit.notebook import CheckError, code_cells, read, source, tags

TIMEOUT = 900  # seconds for the whole run
DEMO, SELFCHECK = "demo", "selfcheck"


def _calls_check(text: str) -> bool:
    try:
        tree = ast.parse("\n".join(_strip_magic(line) for line in text.splitlines()))
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Name) and func.id == "check") or \
                    (isinstance(func, ast.Attribute) and func.attr == "check"):
                return True
    return False


def _strip_magic(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith(("%", "!")):
        return line[: len(line) - len(stripped)] + "pass  # " + stripped
    return line


def _defines(text: str) -> list[str]:
    try:
        tree = ast.parse("\n".join(_strip_magic(line) for line in text.splitlines()))
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def plan(nb: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells to run: ``{"index", "source", "check": name or None}`` in order."""
    cells, last_defined = [], ""
    for index, cell in enumerate(code_cells(nb)):
        text, kinds = source(cell), tags(cell)
        if DEMO in kinds or _calls_check(text):
            continue
        defined = _defines(text)
        if defined:
            last_defined = defined[-1]
        name = (last_defined or f"cell {index}") if SELFCHECK in kinds else None
        cells.append({"index": index, "source": text, "check": name})
    return cells


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, AssertionError):
        return first or "an assertion failed"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the cells in one namespace; the result of each self-check cell."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict[str, Any] = {"__name__": "__main__", "display": lambda *a, **k: None}
    results = []
    for cell in cells:
        code = "\n".join(_strip_magic(line) for line in cell["source"].splitlines())
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                exec(compile(code, f"<cell {cell['index']}>", "exec"), namespace)
                error = None
            except BaseException as exc:  # the notebook's own code: whatever it raises
                error = exc
        if cell["check"] is not None:
            results.append({"name": cell["check"], "passed": error is None,
                            "why": "" if error is None else _why(error)})
    return results


def run(notebook: Path, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """The self-checks of the saved ``notebook``, run in a process of their own."""
    read(notebook)  # a file that is no notebook is said here, in one line
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
           "MPLBACKEND": "Agg", "COURSEKIT_SELFCHECKS": "1"}
    with tempfile.TemporaryDirectory(prefix="coursekit-") as tmp:
        out = Path(tmp) / "selfchecks.json"
        try:
            done = subprocess.run([sys.executable, "-m", "coursekit.selfchecks", str(notebook),
                                   str(out)], capture_output=True, text=True, timeout=timeout,
                                  env=env, stdin=subprocess.DEVNULL, cwd=notebook.parent)
        except subprocess.TimeoutExpired:
            raise CheckError(f"the self-checks took longer than {timeout:g} s and were "
                             "stopped") from None
        if not out.is_file():
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise CheckError(f"the self-checks could not run ({lines[-1]})")
        return json.loads(out.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    notebook, out = Path(argv[0]), Path(argv[1])
    results = run_cells(plan(read(notebook)))
    out.write_text(json.dumps(results), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
