"""The grading plugin on a suite of its own: the order tests run in, and the report's order."""

from __future__ import annotations

import contextlib
import io
import textwrap
from pathlib import Path

import pytest

from autograder.grading.plugin import GradingPlugin
from autograder.grading.run import SUITES

SUITE = '''
import pytest
from pathlib import Path

RAN = Path(__file__).with_name("ran.txt")


def ran(name):
    with RAN.open("a") as out:
        out.write(name + "\\n")


@pytest.mark.points(1)
def test_first():
    """first: runs first"""
    ran("first")


@pytest.mark.last
@pytest.mark.points(2)
def test_waits():
    """waits: waits for work beside the tests"""
    ran("waits")


@pytest.mark.points(1)
def test_middle():
    """middle: does not wait"""
    ran("middle")
    assert False, "middle fails"


@pytest.mark.last
@pytest.mark.points(1)
def test_waits_too():
    """waits_too: waits as well"""
    ran("waits_too")
'''


def test_tests_that_wait_run_last_and_the_report_keeps_the_suites_order(tmp_path: Path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_order.py").write_text(textwrap.dedent(SUITE), encoding="utf-8")
    progress: list[str] = []
    plugin = GradingPlugin(student=None, reference=None, assignment="order",
                           progress=progress.append)
    args = [str(suite), "-q", "-p", "no:cacheprovider", "-c", str(SUITES / "pytest.ini"),
            "--rootdir", str(suite), "--import-mode=importlib", "-p",
            "autograder.grading.plugin"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = pytest.main(args, plugins=[plugin])
    assert code == pytest.ExitCode.TESTS_FAILED
    ran = (suite / "ran.txt").read_text(encoding="utf-8").split()
    assert ran == ["first", "middle", "waits", "waits_too"]
    report = plugin.ordered()
    assert [t.id for t in report] == ["test_first", "test_waits", "test_middle", "test_waits_too"]
    assert [t.score for t in report] == [1, 2, 0, 1]
    assert progress == ["test 1/4: first: runs first", "test 2/4: middle: does not wait",
                        "test 3/4: waits: waits for work beside the tests",
                        "test 4/4: waits_too: waits as well"]


def test_work_beside_the_tests_starts_only_for_a_twinned_student_of_a_suite_that_has_some():
    """``grading.beside``: mlp_mnist's suite has a ``beside.py`` (the lecture's run on the twin);
    a student without a twin (a batch's) or a suite without one starts nothing."""
    from autograder.grading import beside
    from autograder.grading.hidden import Hidden

    class Student:
        def __init__(self, twinned: bool):
            self.twinned, self.memo = twinned, {}

    hidden = Hidden(secret=b"beside", assignment="mlp_mnist", submission="")
    alone = Student(twinned=False)
    assert not beside.start("mlp_mnist", alone, hidden) and alone.memo == {}  # type: ignore[arg-type]
    other = Student(twinned=True)
    assert not beside.start("losses", other, hidden) and other.memo == {}  # type: ignore[arg-type]
