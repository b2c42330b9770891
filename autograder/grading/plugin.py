"""The pytest plugin that turns a hidden suite into grades.

A test declares its worth with the ``points`` marker::

    @pytest.mark.points(3, visibility="visible")
    def test_build_model_matches_reference(student, reference): ...

and gets the fixtures ``student`` (a :class:`~autograder.grading.proxy.StudentProxy`),
``reference`` (the reference solution, in the grader's process), ``assignment`` (its name),
``hidden`` (the submission's :class:`~autograder.grading.hidden.Hidden` inputs) and ``rng`` (a
generator of hidden inputs for this test alone). A test passes and earns its points, or fails and
earns none; its report line is the first line of its docstring, which begins with the one graded
function it is about (``"train: ..."``), and, on failure, the reason (never a traceback, never an
expected value).

A test of a function that is built from other graded functions declares them with
``@pytest.mark.builds_on("affine_forward", ...)``: when it fails and one of those failed its own
tests, the reason says so ("fix it first").

A test that waits for work going on beside the others (the lecture's run, on the student's second
worker) is marked ``@pytest.mark.last``: it runs after the tests that do not wait, so that they
run meanwhile. The report keeps the suite's order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autograder.grading.hidden import Hidden
from autograder.grading.proxy import StudentError
from autograder.grading.results import VISIBILITIES, TestResult

MARKER_HELP = (
    "points(n, visibility='visible'): the test is worth n points when it passes; visibility is "
    "one of " + ", ".join(VISIBILITIES) + " (Gradescope's meaning)."
)
BUILDS_ON_HELP = (
    "builds_on(*functions): the graded function of this test is built from these graded "
    "functions; a failure says when one of them failed its own tests."
)
LAST_HELP = (
    "last: the test waits for work going on beside the other tests; it runs after them (its "
    "place in the report is unchanged)."
)
# Collecting a suite (nbgrader's view of it) needs no real secret: nothing is drawn then.
_COLLECTING = Hidden(secret=b"collect only", assignment="", submission="")


class GradingFailure(AssertionError):
    """A check on the student's result failed; the message is shown to the student."""


def points_of(item: pytest.Item) -> tuple[float, str]:
    marker = item.get_closest_marker("points")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{item.nodeid}: a graded test needs @pytest.mark.points(n)")
    visibility = marker.kwargs.get("visibility", "visible")
    if visibility not in VISIBILITIES:
        raise pytest.UsageError(f"{item.nodeid}: visibility {visibility!r} not in {VISIBILITIES}")
    return float(marker.args[0]), visibility


def function_of(name: str) -> str:
    """The graded function a test is about: its name up to the first ``": "``."""
    head, sep, _ = name.partition(": ")
    return head if sep else ""


def describe_failure(excinfo: Any) -> str:
    exc = excinfo.value
    if isinstance(exc, StudentError):
        if exc.kind == "not_implemented":
            return f"not implemented: {exc}"
        return str(exc)
    if isinstance(exc, GradingFailure):
        return str(exc)
    if isinstance(exc, AssertionError):
        first = str(exc).split("\n", 1)[0]
        return first if first and not first.startswith("assert ") else "a check failed"
    return f"the grader could not complete this test ({type(exc).__name__})"


class GradingPlugin:
    def __init__(self, *, student: Any, reference: Any, assignment: str,
                 hidden: Hidden | None = None, progress: Callable[[str], None] | None = None):
        self._student = student
        self._hidden = hidden or _COLLECTING
        self._progress = progress
        self._reference = reference
        self._assignment = assignment
        self.results: dict[str, TestResult] = {}
        self.order: list[str] = []  # the suite's order, the report's
        self.errors: list[str] = []
        self._started = 0

    @pytest.fixture(scope="session")
    def student(self) -> Any:
        return self._student

    @pytest.fixture(scope="session")
    def reference(self) -> Any:
        return self._reference

    @pytest.fixture(scope="session")
    def assignment(self) -> str:
        return self._assignment

    @pytest.fixture(scope="session")
    def hidden(self) -> Hidden:
        return self._hidden

    @pytest.fixture
    def rng(self, request: pytest.FixtureRequest) -> np.random.Generator:
        """This test's generator of hidden inputs (the same for the same submission)."""
        return self._hidden.rng(request.node.name)

    def _failed_functions(self) -> set[str]:
        return {function_of(r.name) for r in self.results.values() if r.status == "failed"
                and r.output}

    def _blame(self, item: pytest.Item) -> str:
        """Why a failure may not be this function's own: a function it builds on failed."""
        marker = item.get_closest_marker("builds_on")
        if marker is None:
            return ""
        failed = [f for f in marker.args if f in self._failed_functions()]
        if not failed:
            return ""
        if len(failed) == 1:
            return f" ({failed[0]}, which this function uses, fails its own tests: fix it first)"
        return (f" ({', '.join(failed[:-1])} and {failed[-1]}, which this function uses, fail "
                "their own tests: fix them first)")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:  # after -k deselection
            points, visibility = points_of(item)
            doc = (getattr(item.obj, "__doc__", None) or "").strip().split("\n")[0]
            name = item.name
            self.results[item.nodeid] = TestResult(id=name, name=doc or name, max_score=points,
                                                   visibility=visibility)
            self.order.append(item.nodeid)
        # the tests that wait run after the others (a stable sort: each group keeps its order)
        session.items.sort(key=lambda item: item.get_closest_marker("last") is not None)

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if self._progress is not None and nodeid in self.results:
            self._started += 1
            self._progress(f"test {self._started}/{len(self.order)}: "
                           f"{self.results[nodeid].name}")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Any:
        outcome = yield
        report = outcome.get_result()
        result = self.results.get(item.nodeid)
        if result is None:
            return
        if report.failed:
            result.status, result.score = "failed", 0.0
            if not result.output:
                result.output = describe_failure(call.excinfo) if call.excinfo else "failed"
                if call.excinfo and not (isinstance(call.excinfo.value, StudentError)
                                         and call.excinfo.value.kind == "not_implemented"):
                    result.output += self._blame(item)
        elif report.when == "call" and report.passed and not result.output:
            result.status, result.score = "passed", result.max_score
        elif report.skipped:
            result.status, result.score = "failed", 0.0
            result.output = "skipped"

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append(f"the hidden suite could not be collected: {report.longreprtext}")

    def ordered(self) -> list[TestResult]:
        return [self.results[n] for n in self.order]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", BUILDS_ON_HELP)
    config.addinivalue_line("markers", LAST_HELP)
