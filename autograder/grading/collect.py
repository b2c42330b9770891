"""Read a hidden suite's tests and their points without running them (pytest --collect-only)."""

from __future__ import annotations

import contextlib
import functools
import io
from dataclasses import dataclass
from typing import Any

import pytest

from autograder.grading.plugin import points_of


@dataclass(frozen=True)
class SuiteTest:
    id: str
    name: str
    points: float
    visibility: str


class _Collector:
    def __init__(self) -> None:
        self.tests: list[SuiteTest] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            points, visibility = points_of(item)
            doc = (getattr(item.obj, "__doc__", None) or "").strip().split("\n")[0]
            self.tests.append(SuiteTest(item.name, doc or item.name, points, visibility))


@functools.cache
def suite_tests(assignment: str) -> tuple[SuiteTest, ...]:
    """The tests of ``assignment``'s hidden suite, in order, with their points."""
    from autograder.grading.run import SUITES, suite_path

    collector = _Collector()
    args: list[Any] = [str(suite_path(assignment)), "--collect-only", "-q", "-p",
                       "no:cacheprovider", "-c", str(SUITES / "pytest.ini"), "--rootdir",
                       str(SUITES), "--import-mode=importlib", "-p", "autograder.grading.plugin"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(args, plugins=[collector])
    if code not in (0, pytest.ExitCode.OK):
        raise RuntimeError(f"the hidden suite of {assignment} cannot be collected (exit {code})")
    return tuple(collector.tests)


def total_points(assignment: str) -> float:
    return sum(t.points for t in suite_tests(assignment))
