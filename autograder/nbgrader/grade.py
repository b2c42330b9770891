"""Grade a notebook with ``python -m autograder grade`` in a process of its own.

nbgrader's autograde and validate both call this: the student's code then runs in the grader's
worker and sandbox, never in nbgrader's process or the notebook's kernel, and the points are
exactly those of ``autograder grade``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

PYTHON = sys.executable
TIMEOUT = 3600  # seconds the grading of one notebook may take in all


def grade_notebook(assignment: str, nb: NotebookNode, *, python: str = PYTHON,
                   timeout: float = TIMEOUT) -> tuple[dict[str, Any] | None, str]:
    """``(results.json, "")`` of ``autograder grade``, or ``(None, why it could not grade)``."""
    with tempfile.TemporaryDirectory(prefix="autograder-nbgrader-") as tmp:
        path, out = Path(tmp) / f"{assignment}.ipynb", Path(tmp) / "results.json"
        nbformat.write(nb, path)
        command = [python, "-m", "autograder", "grade", assignment, str(path), "--json", str(out)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, cwd=tmp,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, f"grading took longer than {timeout:g} s and was stopped"
        if done.returncode != 0 or not out.exists():
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            why = lines[-1].removeprefix("autograder: error: ").replace(str(path), "notebook")
            return None, f"the notebook could not be graded: {why}"
        return json.loads(out.read_text(encoding="utf-8")), ""
