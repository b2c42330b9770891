"""Grade one submission: load it, start its worker, run the hidden suite, collect the results."""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path

import pytest

from autograder import manifest
from autograder.grading.plugin import GradingPlugin
from autograder.grading.proxy import StudentProxy
from autograder.grading.reference import reference
from autograder.grading.results import GradeResult, write_json
from autograder.submission.load import load
from autograder.worker.limits import Limits

SUITES = Path(__file__).resolve().parent.parent / "suites"


def suite_path(assignment: str) -> Path:
    return SUITES / assignment


def grade(
    *,
    assignment: str,
    submission: Path,
    json_out: Path | None = None,
    limits: Limits | None = None,
    select: list[str] | None = None,
) -> GradeResult:
    """Grade ``submission`` (a notebook, a .py file or a folder holding one) for ``assignment``.

    Raises :class:`~autograder.manifest.UnknownAssignment` or
    :class:`~autograder.submission.load.SubmissionError` for input it cannot use; otherwise
    returns the result (and writes Gradescope's ``results.json`` to ``json_out``).
    """
    manifest.get(assignment)
    start = time.monotonic()
    path, cells = load(Path(submission), assignment)
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        student = StudentProxy(assignment=assignment, cells=cells, limits=limits,
                               scratch=Path(scratch))
        student.start()  # the worker imports while the grader builds the reference
        try:
            plugin = GradingPlugin(student=student, reference=reference(assignment),
                                   assignment=assignment)
            args = [str(suite_path(assignment)), "-q", "-p", "no:cacheprovider",
                    "-c", str(SUITES / "pytest.ini"), "--rootdir", str(SUITES),
                    "--import-mode=importlib", "-p", "autograder.grading.plugin"]
            if select:
                args += ["-k", " or ".join(select)]
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                pytest.main(args, plugins=[plugin])
            result = GradeResult(assignment=assignment, submission=str(path),
                                 tests=plugin.ordered(), notes=list(plugin.errors))
            loaded = [w.load_report for w in student.workers if w.load_report]
            for note in (loaded[0]["notes"] if loaded else []):
                result.notes.append(f"cell {note['index']} failed while loading: {note['error']}")
            if student._load_error is not None:
                result.notes.append(str(student._load_error))
            result.output = student.output
        finally:
            student.close()
    result.execution_time = time.monotonic() - start
    if json_out is not None:
        write_json(result.to_gradescope(), json_out)
    return result
