"""``check()``: a student grades the notebook they are working in, from a cell of it.

``from coursekit import check; check()`` grades the notebook *as saved* and shows a table: points
per test, the reason of each failure, the total. The hidden tests never run in the student's
kernel, nor on the student's machine: the notebook goes to the course's grading service
(``autograder serve``, see :mod:`coursekit.config` for where its address and the student's token
come from), which grades it exactly as the instructor's grading does and sends back the table's
rows. In the instructor's kit (``local``) it is ``python -m autograder grade`` in a process of its
own. Where neither is configured, the notebook's own self-checks run on the saved file, and one
line says that the grading service is not configured.

A notebook on disk that does not hold the functions the kernel runs is not graded: "save first".
While nbgrader runs the notebook (autograde, validate), ``check()`` does nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from coursekit import client, config, selfchecks
from coursekit.notebook import CheckError, assignment_of, find, read, stale_functions
from coursekit.table import Checked

TIMEOUT = 900  # seconds the local grading of one notebook may take
NOT_CONFIGURED = ("the course's grading service is not configured, so only the notebook's "
                  "self-checks ran: set COURSEKIT_SERVICE and COURSEKIT_TOKEN, or run "
                  "`python -m coursekit login <token>` (your course tells you the token)")


def grade_locally(path: Path, assignment: str) -> dict[str, Any]:
    """``autograder grade``'s results.json for the notebook (the instructor's kit, here)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    with tempfile.TemporaryDirectory(prefix="coursekit-check-") as tmp:
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


def grade(path: Path, assignment: str, settings: config.Settings) -> dict[str, Any]:
    """The grade of the saved notebook by the configured grader; raises :class:`CheckError`."""
    if settings.service == config.LOCAL:
        return grade_locally(path, assignment)
    assert settings.service is not None
    try:
        return client.grade(settings.service, settings.token, path.read_bytes(), assignment)
    except client.ServiceError as exc:
        raise CheckError(str(exc)) from None
    except OSError as exc:
        raise CheckError(f"{path.name}: {exc.strerror}") from None


def function_of(test: dict[str, Any]) -> str:
    """The graded function a test is about: its name up to the colon."""
    return str(test.get("name", "")).split(":")[0].strip()


def check(function: str | None = None, *, path: str | os.PathLike[str] | None = None) -> Checked:
    """Grade the saved notebook this runs in; ``function`` limits the table to its tests."""
    if os.environ.get("NBGRADER_EXECUTION") or os.environ.get("NBGRADER_VALIDATING") \
            or os.environ.get("COURSEKIT_SELFCHECKS"):
        return Checked(problem="skipped while the notebook is being run to grade or check it")
    try:
        notebook = find(path)
        nb = read(notebook)
        assignment = assignment_of(nb)
        if assignment is None:
            raise CheckError(f"{notebook.name} is no notebook of the course (its metadata does "
                             "not name an assignment)")
        stale = stale_functions(nb)
        if stale:
            raise CheckError(f"save first: {notebook.name} on disk does not hold the "
                             f"{', '.join(stale[:3])} you ran last. Save the notebook (Ctrl+S), "
                             "then run check() again.")
        try:
            settings = config.settings()
        except config.ConfigError as exc:
            raise CheckError(str(exc)) from None
        if settings.service is None:
            found = selfchecks.run(notebook)
            found = [s for s in found if function is None or s["name"] == function]
            return Checked(assignment=assignment, notebook=notebook.name, selfchecks=found,
                           notice=NOT_CONFIGURED)
        results = grade(notebook, assignment, settings)
    except CheckError as exc:
        return Checked(problem=str(exc))
    tests = [t for t in results.get("tests", []) if function is None or function_of(t) == function]
    if function is not None and not tests:
        return Checked(problem=f"no test of {assignment} is about {function!r}")
    return Checked(assignment=assignment, notebook=notebook.name, tests=tests,
                   notes=str(results.get("output") or ""))
