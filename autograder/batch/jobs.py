"""One submission as a job for a grader process, and what grading it produced.

A :class:`Job` is plain data (the submission's code cells, not its path), so a grader on another
machine of a cluster needs no access to the submissions' folder. Grading a job never raises:
whatever happens becomes an :class:`Outcome` whose ``status`` says which of three kinds it is.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder import manifest
from autograder.grading.run import Started, add_extras, grade_student, start_student
from autograder.worker.limits import Limits

GRADED = "graded"  # the hidden suite ran; the score may be anything from 0 to full marks
INVALID = "invalid"  # the submission could not be read; a row with its error, kept until it changes
FAILED = "failed"  # the grader could not finish (a kit or machine problem); graded again next run
STATUSES = (GRADED, INVALID, FAILED)


@dataclass
class Job:
    assignment: str
    student: str
    submission: str  # the file's path, as reports name it
    key: str  # see fingerprint.content_key
    cells: list[dict[str, Any]]
    limits: Limits = field(default_factory=Limits)
    secret: bytes = b""  # the course secret (see grading.hidden); empty: the grader's own
    figures: bool = False  # also measure the suite's report figures (a training run more)


@dataclass
class Outcome:
    assignment: str
    student: str
    submission: str
    key: str
    status: str
    score: float = 0.0
    max_score: float = 0.0
    error: str = ""  # why the submission is invalid or the grading failed
    results: dict[str, Any] = field(default_factory=dict)  # Gradescope's results.json
    started: float = 0.0  # epoch seconds: grading began (the worker may have started earlier)
    finished: float = 0.0
    grader: str = ""  # host:pid of the grader process

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished - self.started)


def _points(assignment: str) -> float:
    try:
        return float(manifest.get(assignment).points)
    except manifest.UnknownAssignment:
        return 0.0


def invalid(*, assignment: str, student: str, submission: str, key: str, error: str) -> Outcome:
    """The row of a submission that cannot be graded at all: zero points and the reason."""
    now = time.time()
    results = {"score": 0.0, "max_score": _points(assignment), "output": error, "tests": [],
               "extra_data": {"assignment": assignment, "submission": submission}}
    return Outcome(assignment=assignment, student=student, submission=submission, key=key,
                   status=INVALID, max_score=_points(assignment), error=error, results=results,
                   started=now, finished=now)


def failed(job: Job, error: str, started: float | None = None) -> Outcome:
    """The row of a job the grader could not finish; it is graded again by the next run."""
    now = time.time()
    return Outcome(assignment=job.assignment, student=job.student, submission=job.submission,
                   key=job.key, status=FAILED, max_score=_points(job.assignment), error=error,
                   started=started or now, finished=now)


def _signed(outcome: Outcome) -> Outcome:
    outcome.grader = f"{socket.gethostname()}:{os.getpid()}"
    return outcome


class Prepared:
    """A job whose worker is already starting and running its cells, with its scratch folder."""

    def __init__(self, job: Job):
        self.job = job
        self.scratch = tempfile.TemporaryDirectory(prefix="autograder-batch-")
        self.error = ""
        try:
            self.started: Started | None = start_student(assignment=job.assignment, cells=job.cells,
                                              limits=job.limits, scratch=Path(self.scratch.name))
        except Exception as exc:  # e.g. no process could be started
            self.started, self.error = None, f"the worker could not be started: {exc}"

    def close(self) -> None:
        started, self.started = self.started, None
        if started is not None:
            started.close()
        self.scratch.cleanup()


def grade_prepared(prepared: Prepared) -> Outcome:
    """Grade a prepared job and close it; never raises."""
    job, started = prepared.job, time.time()
    try:
        if prepared.started is None:
            return _signed(failed(job, prepared.error, started))
        result = grade_student(assignment=job.assignment, started=prepared.started,
                               submission=job.submission, secret=job.secret or None)
        add_extras(result, prepared.started.student, leaderboard=False, figures=job.figures)
        results = result.to_gradescope()
        outcome = Outcome(assignment=job.assignment, student=job.student,
                          submission=job.submission, key=job.key, status=GRADED,
                          score=result.score, max_score=result.max_score, results=results,
                          started=started, finished=time.time())
    except Exception as exc:  # a problem of the kit, never of the submission
        outcome = failed(job, f"the grader failed: {type(exc).__name__}: {exc}", started)
    finally:
        prepared.close()
    return _signed(outcome)
