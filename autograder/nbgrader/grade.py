"""Grade a notebook with ``autograder grade`` in a process of its own.

nbgrader's autograde and validate both call this: the student's code then runs in the grader's
worker and sandbox, never in nbgrader's process or the notebook's kernel, and the points are
exactly those of ``autograder grade``. The process is a fork of the warm template that nbgrader's
process starts once (``autograder/worker/zygote.py``), so that a class of notebooks imports
TensorFlow for the grader once, not once per notebook; without a template, or when the course
configures another Python, it is ``python -m autograder grade``.
"""

from __future__ import annotations

import json
import os
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
        arguments = ["grade", assignment, str(path), "--json", str(out)]
        try:
            done = _in_template(arguments, tmp, timeout) if python == sys.executable else None
            if done is None:
                done = subprocess.run([python, "-m", "autograder", *arguments],
                                      capture_output=True, text=True, cwd=tmp, timeout=timeout,
                                      stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return None, f"grading took longer than {timeout:g} s and was stopped"
        if done.returncode != 0 or not out.exists():
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            why = lines[-1].removeprefix("autograder: error: ").replace(str(path), "notebook")
            return None, f"the notebook could not be graded: {why}"
        return json.loads(out.read_text(encoding="utf-8")), ""


def _in_template(arguments: list[str], cwd: str, timeout: float) -> Any:
    """``autograder ARGUMENTS`` as a fork of this process's warm template (see
    ``autograder/worker/zygote.py``): what ``python -m autograder`` would do, without importing
    TensorFlow for each notebook. None where there is no template."""
    from autograder.worker import template

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            open(os.devnull, "rb") as null:
        fork = template.fork_delegate("autograder.cli:main", [arguments], cwd=cwd,
                                    stdio=(null.fileno(), out.fileno(), err.fileno()))
        if fork is None:
            return None
        try:
            code = fork.wait(timeout)
            if code is None and fork.is_alive():
                fork.kill()
                fork.wait(30)
                raise subprocess.TimeoutExpired(arguments, timeout)
        finally:
            fork.close()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            arguments, 1 if code is None else template.exit_status(code),
            out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))
