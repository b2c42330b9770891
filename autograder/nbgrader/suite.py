"""The tests of a hidden suite as pytest collects them: id, one-line name, points, visibility.

The points come from the suite's own ``points`` markers, read by the grading plugin, so an
nbgrader test cell is worth exactly what ``autograder grade`` gives for that test.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from autograder.grading.plugin import GradingPlugin
from autograder.grading.results import TestResult
from autograder.grading.run import SUITES, suite_path


class SuiteError(ValueError):
    """A hidden suite that cannot be collected; the message is one line naming it."""


def collect(assignment: str) -> list[TestResult]:
    """The tests of ``assignment``'s hidden suite, in suite order, with their points."""
    path = suite_path(assignment)
    if not path.is_dir():
        raise SuiteError(f"{path}: no hidden suite for {assignment}")
    plugin = GradingPlugin(student=None, reference=None, assignment=assignment)
    args = [str(path), "--collect-only", "-q", "-p", "no:cacheprovider",
            "-c", str(SUITES / "pytest.ini"), "--rootdir", str(SUITES),
            "--import-mode=importlib", "-p", "autograder.grading.plugin"]
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(args, plugins=[plugin])
    tests = plugin.ordered()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) or plugin.errors:
        last = (out.getvalue().strip().splitlines() or ["no output"])[-1]
        raise SuiteError(f"{path}: the hidden suite could not be collected ({last})")
    if not tests:
        raise SuiteError(f"{path}: the hidden suite has no tests")
    return tests
