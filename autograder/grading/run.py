"""Grade one submission: load it, start its worker, run the hidden suite, collect the results.

:func:`grade` does all of it for one file. A batch (``autograder.batch``) uses the two steps
underneath separately: :func:`start_student` starts the next submission's worker while the current
one is graded, and :func:`grade_student` runs the hidden suite against a worker already started.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder import manifest
from autograder.grading import beside, isolation, kept
from autograder.grading.hidden import Hidden, course_secret, submission_key
from autograder.grading.proxy import SandboxRefused, StudentError, StudentProxy
from autograder.grading.reference import reference
from autograder.grading.results import GradeResult, write_json
from autograder.submission.load import load
from autograder.worker import protocol
from autograder.worker.limits import Limits

SUITES = Path(__file__).resolve().parent.parent / "suites"


def exit_without_teardown(status: int) -> None:
    """Flush and end the process now: tearing down TensorFlow's modules takes about a second,
    and a grading process has nothing left to clean up once its results are written."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)


class SuiteMissing(RuntimeError):
    """The hidden suite collected no tests: the kit is broken, and no grade is given."""


def suite_path(assignment: str) -> Path:
    return SUITES / assignment


@dataclass
class Started:
    """A student whose worker is starting and running the cells, in a background thread."""

    student: StudentProxy
    loading: threading.Thread

    def wait(self) -> StudentProxy:
        """The student, once its cells have run (or failed to: the proxy remembers why)."""
        self.loading.join()
        return self.student

    def close(self) -> None:
        # A load still running fails when its worker is killed, but the proxy may start another
        # worker to retry without the cell that was running: kill until the loading has ended.
        while True:
            self.student.close()
            self.loading.join(timeout=1.0)
            if not self.loading.is_alive():
                break
        self.student.close()


class _WhenLoaded:
    """The suite's ``student``: the proxy, reached once its cells have run. Pytest starts and
    collects the suite meanwhile, and the proxy is still used by one thread at a time."""

    def __init__(self, started: Started):
        self._started = started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._started.wait(), name)


class Remembered:
    """The reference, remembering what each call returned: a question asked again (the same
    function on the same inputs, by another test or a regrade of the same code) is answered
    once. Inputs are drawn per submission, so only the latest answers are kept.

    Suites only give the reference plain data and expect the same answer for the same question;
    each caller gets its own copy of the answer.

    Given ``make`` rather than ``ref``, the reference is built when it is first asked (a grade
    starts its tests, and the lecture's run beside them, a tenth of a second sooner); a build
    that failed is :attr:`failed`, and the grade says so rather than giving points.
    """

    MAX_ANSWERS = 2048  # inputs are drawn per submission: remember the latest answers only

    def __init__(self, ref: Any = None, *, make: Callable[[], Any] | None = None,
                 assignment: str = ""):
        self._made, self._make = ref, make
        self._assignment = assignment or getattr(ref, "assignment", "")
        self._building = threading.Lock()
        self.failed: Exception | None = None
        self._answers: dict[bytes, Any] = {}

    @property
    def _ref(self) -> Any:
        if self._made is None:
            with self._building:
                if self._made is None and self._make is not None:
                    try:
                        self._made = self._make()
                    except Exception as exc:  # a broken kit: the grade fails (grade_student)
                        self.failed = exc
                        raise
        return self._made

    def _remembered(self, question: dict[str, Any], ask: Any) -> Any:
        key = hashlib.sha256(protocol.encode(question)).digest()
        if key not in self._answers:
            while len(self._answers) >= self.MAX_ANSWERS:
                del self._answers[next(iter(self._answers))]
            self._answers[key] = ask()
        return copy.deepcopy(self._answers[key])

    def _asked(self, question: dict[str, Any], ask: Any, keep: bool) -> Any:
        if keep:  # the same for every submission: kept on disk between runs (``kept``)
            return self._remembered(question, lambda: kept.answer(self._assignment, question,
                                                                  ask))
        return self._remembered(question, ask)

    def call(self, name: str, *args: Any, mode: str = "plain", timeout: float | None = None,
             keep: bool = False, **kwargs: Any) -> Any:
        """The reference's ``name(*args, **kwargs)``; ``keep``: the question is the same for
        every submission, and its answer is kept on disk for the next run."""
        question = {"op": "call", "name": name, "mode": mode, "args": list(args), "kwargs": kwargs}
        return self._asked(question, lambda: self._ref.call(name, *args, mode=mode, **kwargs),
                           keep)

    def task(self, name: str, *, timeout: float | None = None, keep: bool = False,
             **kwargs: Any) -> Any:
        """The reference's run of the task ``name``; ``keep`` as for :meth:`call`."""
        question = {"op": "task", "name": name, "kwargs": kwargs}
        return self._asked(question, lambda: self._ref.task(name, **kwargs), keep)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ref, name)


@functools.cache
def remembered_reference(assignment: str) -> Remembered:
    """``assignment``'s reference (built once per process, when first asked), remembering its
    answers."""
    return Remembered(make=functools.partial(reference, assignment), assignment=assignment)


def _load(student: StudentProxy, twins: list[StudentProxy]) -> None:
    student.start()
    for twin in twins:  # its cells run beside the first worker's
        twin.start()
        threading.Thread(target=_run_cells, args=(twin,), daemon=True,
                         name="autograder-load-twin").start()
    _run_cells(student)


def _run_cells(student: StudentProxy) -> None:
    if manifest.uses_tensorflow(student.assignment):  # else it starts if ever asked
        with contextlib.suppress(StudentError, SandboxRefused):  # started now, it overlaps the cells
            student.evaluator.start()
    # the proxy raises it again at the first call (a refusal: at the end of the grade)
    with contextlib.suppress(StudentError, SandboxRefused):
        student.load_report  # noqa: B018 (the property runs the cells)


def start_student(*, assignment: str, cells: list[dict[str, Any]], limits: Limits,
                  scratch: Path, twin: bool = False) -> Started:
    """Start a worker for ``cells`` and let it run them in the background; see :class:`Started`.
    With ``twin``, for an assignment that runs two workers at once (``manifest``), its second
    worker starts too (``StudentProxy.twin``): one grade takes less time, and a bit more CPU,
    so a batch, which keeps every core busy anyway, does without."""
    student = StudentProxy(assignment=assignment, cells=cells, limits=limits, scratch=scratch)
    twins = [student.twin()] if twin and manifest.get(assignment).workers > 1 else []
    # The worker starts in the loading thread: waiting for the warm template (see
    # worker/zygote.py) to import TensorFlow overlaps the grader's own import.
    loading = threading.Thread(target=_load, args=(student, twins), daemon=True,
                               name="autograder-load")
    loading.start()
    return Started(student=student, loading=loading)


def grade_student(*, assignment: str, started: Started, submission: str,
                  select: list[str] | None = None,
                  progress: Callable[[str], None] | None = None,
                  secret: bytes | None = None) -> GradeResult:
    """Run ``assignment``'s hidden suite against a started student (not closed here).

    ``progress``, if given, is called with a line saying what is being done (for a status line).
    The hidden inputs are drawn from ``secret`` (default: the course secret, see ``hidden``) and
    the submission's cells.

    The reference is built once per process and remembers its answers, so a process that grades
    one submission after another imports TensorFlow, builds the reference and computes its
    outputs only once.
    """
    start = time.monotonic()
    if progress is not None:
        progress("importing TensorFlow and building the reference; the submission's cells run "
                 "meanwhile")
    hidden = Hidden(secret=course_secret() if secret is None else secret, assignment=assignment,
                    submission=submission_key(started.student.cells))
    if not select:  # selected tests may not need it: then the suite starts it if they do
        beside.start(assignment, started.student, hidden)
    # Imported here, not at the top, so that `autograder grade` starts the worker sooner.
    import pytest

    from autograder.grading.plugin import GradingPlugin

    ref = remembered_reference(assignment)
    plugin = GradingPlugin(student=_WhenLoaded(started), reference=ref,
                           assignment=assignment, hidden=hidden, progress=progress)
    # no:unraisableexception: its gc.collect() at the end takes 0.3 s once TensorFlow is loaded.
    # No plugins from whatever else is installed: a grade must not depend on them (and anyio's
    # alone takes 0.4 s to load).
    args = [str(suite_path(assignment)), "-q", "-p", "no:cacheprovider", "--disable-plugin-autoload",
            "-p", "no:unraisableexception", "-c", str(SUITES / "pytest.ini"),
            "--rootdir", str(SUITES), "--import-mode=importlib", "-p", "autograder.grading.plugin"]
    if select:
        args += ["-k", " or ".join(select)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        pytest.main(args, plugins=[plugin])
    student = started.wait()
    if student.refusal is not None:  # below the sandbox's floor: no grade at all
        raise student.refusal
    if ref.failed is not None:  # the kit's own reference is broken: no grade either
        raise ref.failed
    if not plugin.ordered() and not select:  # a broken install, not a grade of 0 / 0
        raise SuiteMissing(f"{suite_path(assignment)}: the hidden suite of {assignment} ran no "
                           "tests (is the kit installed whole?)")
    result = GradeResult(assignment=assignment, submission=submission,
                         tests=plugin.ordered(), notes=list(plugin.errors))
    loaded = [w.load_report for w in student.workers if w.load_report]
    for note in (loaded[0]["notes"] if loaded else []):
        result.notes.append(f"cell {note['index']} failed while loading: {note['error']}")
    if student._load_error is not None:
        result.notes.append(str(student._load_error))
    result.output = student.output
    result.isolation = isolation.record(student.isolation)
    result.execution_time = time.monotonic() - start
    return result


def add_extras(result: GradeResult, student: Any, *, leaderboard: bool, figures: bool,
               progress: Callable[[str], None] | None = None) -> None:
    """Measure the suite's leaderboard entry and report figures (``grading/extras.py``) on the
    graded student's worker, after the tests; their note ends the result's notes."""
    if not (leaderboard or figures):
        return
    from autograder.grading import extras

    if progress is not None:
        progress("measuring the leaderboard entry and the report's figures")
    measured = extras.measure(suite_path(result.assignment), student,
                              remembered_reference(result.assignment),
                              leaderboard=leaderboard, figures=figures)
    result.leaderboard = measured["leaderboard"]
    result.figures = measured["figures"]
    if measured["note"]:
        result.notes.append(measured["note"])


def grade(
    *,
    assignment: str,
    submission: Path,
    json_out: Path | None = None,
    limits: Limits | None = None,
    select: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    leaderboard: bool = False,
    figures: bool = False,
) -> GradeResult:
    """Grade ``submission`` (a notebook, a .py file or a folder holding one) for ``assignment``.

    Raises :class:`~autograder.manifest.UnknownAssignment`,
    :class:`~autograder.submission.load.SubmissionError` or
    :class:`~autograder.grading.hidden.SecretError` for input it cannot use; otherwise
    returns the result (and writes Gradescope's ``results.json`` to ``json_out``).
    ``progress`` is called with a line for each step (see :func:`grade_student`).
    ``leaderboard`` and ``figures`` also measure the suite's extras, if it has any (see
    :func:`add_extras`).
    """
    manifest.get(assignment)
    start = time.monotonic()
    path, cells = load(Path(submission), assignment)
    secret = course_secret()
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        started = start_student(assignment=assignment, cells=cells, limits=limits or Limits(),
                                scratch=Path(scratch), twin=True)
        try:
            result = grade_student(assignment=assignment, started=started, submission=str(path),
                                   select=select, progress=progress, secret=secret)
            add_extras(result, started.student, leaderboard=leaderboard, figures=figures,
                       progress=progress)
        finally:
            started.close()
    result.execution_time = time.monotonic() - start
    if json_out is not None:
        write_json(result.to_gradescope(), json_out)
    return result
