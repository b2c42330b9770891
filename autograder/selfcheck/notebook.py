"""``check()``: a student grades the notebook they are working in, from a cell of it.

``from autograder import check; check()`` in a notebook of the kit grades the notebook *as saved*
with ``python -m autograder grade`` in a separate process, through the same worker, sandbox and
hidden suite as every other way of grading, and shows the result as a table: points per test,
the reason of each failure, the total. The hidden tests never run in the student's kernel, and
nothing of them is imported here: this module only starts the grader and reads its
``results.json``.

The notebook is found from the path JupyterLab gives the kernel (``__session__``, from the
environment variable ``JPY_SESSION_NAME``: the notebook's path under the server's root, while the
kernel runs in the notebook's folder), else as the one notebook of the kit in the kernel's folder;
``check(path=...)`` names it. The assignment is the one the notebook records in its metadata.
A notebook on disk that does not hold the code the kernel ran last is not graded: "save first".
While nbgrader runs the notebook (autograde, validate), ``check()`` does nothing.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEOUT = 900  # seconds the grading of one notebook may take


class CheckError(Exception):
    """Why the notebook could not be checked: one line for the student."""


@dataclass
class Checked:
    """What ``check()`` found: shown as a table (HTML in Jupyter, text elsewhere)."""

    assignment: str = ""
    notebook: str = ""
    tests: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    problem: str = ""  # set when nothing was graded; then the rest is empty

    @property
    def score(self) -> float:
        return round(sum(float(t.get("score", 0)) for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(float(t.get("max_score", 0)) for t in self.tests), 6)

    def __repr__(self) -> str:
        if self.problem:
            return f"check(): {self.problem}"
        width = max((len(t["name"]) for t in self.tests), default=10)
        lines = [f"{self.assignment}: {self.score:g} / {self.max_score:g} points ({self.notebook}, "
                 "as saved)"]
        for t in self.tests:
            mark = "ok  " if t.get("status") == "passed" else "FAIL"
            lines.append(f"{mark} {t['name']:<{width}}  {t['score']:g}/{t['max_score']:g}")
            if t.get("status") != "passed" and t.get("output"):
                lines.append(f"     {t['output']}")
        if self.notes:
            lines.append(self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.problem:
            return (f'<div style="border-left:4px solid #c0392b;padding:0.4em 0.8em;'
                    f'background:#fdecea"><b>check():</b> {html.escape(self.problem)}</div>')
        rows = []
        for t in self.tests:
            passed = t.get("status") == "passed"
            why = "" if passed else html.escape(t.get("output") or "failed")
            color = "#1e561e" if passed else "#8e1f14"
            rows.append(
                f'<tr style="background:{"#e8f5e8" if passed else "#fdecea"}">'
                f'<td style="color:{color}">{"&#10004;" if passed else "&#10008;"}</td>'
                f'<td style="text-align:left">{html.escape(t["name"])}</td>'
                f'<td>{t["score"]:g} / {t["max_score"]:g}</td>'
                f'<td style="text-align:left;white-space:pre-wrap">{why}</td></tr>')
        notes = (f'<p style="white-space:pre-wrap">{html.escape(self.notes)}</p>'
                 if self.notes else "")
        return (f"<p><b>{html.escape(self.assignment)}: {self.score:g} / {self.max_score:g} "
                f"points</b> ({html.escape(self.notebook)}, as saved)</p>"
                '<table><tr><th></th><th style="text-align:left">test</th><th>points</th>'
                f'<th style="text-align:left">why it fails</th></tr>{"".join(rows)}</table>'
                f"{notes}")


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def find_notebook(path: str | os.PathLike[str] | None = None) -> Path:
    """The notebook ``check()`` grades; raises :class:`CheckError`."""
    if path is not None:
        found = Path(path)
        if not found.is_file():
            raise CheckError(f"{found}: no such notebook")
        return found
    shell = _shell()
    user = shell.user_ns if shell is not None else {}
    # JupyterLab and Notebook 7 (through the environment), VS Code (its own variable)
    session = user.get("__session__") or os.environ.get("JPY_SESSION_NAME") \
        or user.get("__vsc_ipynb_file__")
    if session:
        for candidate in (Path(session), Path.cwd() / Path(session).name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate
    # Else the notebook of the kit in the kernel's folder that holds the code run last.
    last = _last_input()
    kit = [p for p in sorted(Path.cwd().glob("*.ipynb")) if _assignment(p)
           and (last is None or last in _code_cells(_read(p)))]
    if len(kit) == 1:
        return kit[0]
    raise CheckError("cannot tell which notebook this is: call check(path=\"<notebook>.ipynb\")")


def _read(path: Path) -> dict[str, Any]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckError(f"{path}: cannot be read as a notebook ({exc})") from None
    return nb if isinstance(nb, dict) else {}


def _assignment(path: Path) -> str | None:
    try:
        meta = _read(path).get("metadata", {}).get("autograder", {})
    except CheckError:
        return None
    name = meta.get("assignment") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name else None


def _code_cells(nb: dict[str, Any]) -> set[str]:
    cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    return {("".join(c["source"]) if isinstance(c.get("source"), list) else str(c.get("source")))
            .strip() for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"}


def _last_input() -> str | None:
    """The code of the cell the kernel ran before this one, if any."""
    history = getattr(getattr(_shell(), "history_manager", None), "input_hist_raw", None)
    if not history or len(history) < 3:  # [""], ..., this cell
        return None
    return str(history[-2]).strip() or None


def unsaved(nb: dict[str, Any]) -> bool:
    """Whether the code the kernel ran last (before this cell) is missing from the saved file."""
    last = _last_input()
    return last is not None and last not in _code_cells(nb)


def grade(path: Path, assignment: str) -> dict[str, Any]:
    """``autograder grade``'s results.json for the notebook, run in a process of its own."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    with tempfile.TemporaryDirectory(prefix="autograder-check-") as tmp:
        out = Path(tmp) / "results.json"
        try:
            done = subprocess.run([sys.executable, "-m", "autograder", "grade", assignment,
                                   str(path), "--json", str(out)], capture_output=True, text=True,
                                  timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise CheckError(f"grading took longer than {TIMEOUT} s and was stopped") from None
        if done.returncode != 0 or not out.is_file():
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            raise CheckError(lines[-1].removeprefix("autograder: error: "))
        return json.loads(out.read_text(encoding="utf-8"))


def check(function: str | None = None, *, path: str | os.PathLike[str] | None = None) -> Checked:
    """Grade the saved notebook this runs in; ``function`` limits the table to its tests."""
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("NBGRADER_VALIDATING"):
        return Checked(problem="skipped while nbgrader runs the notebook (it grades it itself)")
    try:
        notebook = find_notebook(path)
        nb = _read(notebook)
        assignment = _assignment(notebook)
        if assignment is None:
            raise CheckError(f"{notebook.name} is no notebook of the course (its metadata does "
                             "not name an assignment)")
        if unsaved(nb):
            raise CheckError(f"save first: {notebook.name} on disk does not hold the code you ran "
                             "last. Save the notebook (Ctrl+S), then run check() again.")
        results = grade(notebook, assignment)
    except CheckError as exc:
        return Checked(problem=str(exc))
    tests = [t for t in results.get("tests", [])
             if function is None or t.get("name", "").split(":")[0].strip() == function]
    if function is not None and not tests:
        return Checked(problem=f"no test of {assignment} is about {function!r}")
    return Checked(assignment=assignment, notebook=notebook.name, tests=tests,
                   notes=str(results.get("output") or ""))
