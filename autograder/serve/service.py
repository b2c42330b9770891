"""One check, from the uploaded bytes to its answer; and the checks a restart must finish.

:meth:`Service.accept` does the part that may refuse (what the bytes are, whose assignment, the
limits) and starts the grade; :func:`answer` turns what grading gave into the reply. Each refusal
is a :class:`Refused` with its HTTP status and one line. Nothing here grades: a check is a
``batch.jobs.Job`` given to the graders (``queue``), exactly as ``autograder batch`` grades a
submission, with the same limits, course secret and hidden suite as ``autograder grade``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from autograder import manifest
from autograder.batch.fingerprint import content_key
from autograder.batch.jobs import GRADED, Job, Outcome, failed
from autograder.generate.nbgrader_source import check_grade_id
from autograder.grading.hidden import course_secret, secret_id
from autograder.serve import records as rec
from autograder.serve.limits import describe_size
from autograder.serve.queue import Checks, graders
from autograder.serve.settings import Settings
from autograder.serve.tokens import Tokens
from autograder.submission.load import SubmissionError, load_notebook_bytes, notebook_assignment
from autograder.worker.limits import Limits

UPLOAD = "the uploaded notebook"  # how messages name the upload (never a path of the server)
log = logging.getLogger("autograder.serve")


class Refused(Exception):
    """A request the service answers with ``status`` and one line, ``detail``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


@dataclass
class Started:
    """A check accepted: its row, the bytes' sha256 and either its result or its grade."""

    check: int
    assignment: str
    sha256: str
    results: dict[str, Any] = field(default_factory=dict)  # answered from the record
    grading: Future[Outcome] | None = None


def answer(started: Started, outcome_results: dict[str, Any], *, cached: bool) -> dict[str, Any]:
    """The reply to a graded check: each test's points, its nbgrader cell id (``check-...``, never
    the hidden test's function name) and its output unless the test is hidden; nothing else of
    results.json."""
    tests = []
    for test in outcome_results.get("tests", []):
        hidden = test.get("visibility") == "hidden"
        tests.append({"name": test.get("name", ""), "score": float(test.get("score", 0)),
                      "max_score": float(test.get("max_score", 0)),
                      "status": "passed" if test.get("status") == "passed" else "failed",
                      "output": "" if hidden else str(test.get("output", "")),
                      "cell": check_grade_id(str((test.get("extra_data") or {}).get("id", "")))})
    return {"assignment": started.assignment, "score": float(outcome_results.get("score", 0)),
            "max_score": float(outcome_results.get("max_score", 0)), "tests": tests,
            "output": str(outcome_results.get("output", "")), "notebook": started.sha256,
            "check": started.check, "cached": cached}


def unavailable(outcome: Outcome) -> Refused:
    """The refusal for a check the service could not grade (no fault of the notebook)."""
    why = ("its grader process died" if "grader process died" in outcome.error
           else "the service is stopping" if "stopping" in outcome.error
           else "the grading pool was stopped" if "stopped" in outcome.error
           else "the grader failed")
    return Refused(503, f"the service could not grade this notebook ({why}); this is no fault "
                   "of the notebook: send it again in a minute", {"Retry-After": "60"})


class Service:
    """The service's state: settings, database, course secret, graders; see the module."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.secret = course_secret()  # raises SecretError before anything starts
        self.assignments = list(settings.assignments) or [a.name for a in manifest.ASSIGNMENTS]
        for name in self.assignments:
            manifest.get(name)
        self.records = rec.Records(settings.db)
        self.tokens = Tokens.open(settings.db, threads=True)
        self._tokens_lock = threading.Lock()
        self.checks = Checks(graders(workers=settings.graders, dask=settings.dask,
                                     log_path=settings.graders_log), self.records)
        self.resume()

    def close(self) -> None:
        self.checks.close()
        self.records.close()
        self.tokens.db.close()

    def student(self, token: str) -> str | None:
        with self._tokens_lock:
            return self.tokens.student_of(token)

    def _job(self, check: int, student: str, assignment: str, cells: list[dict[str, Any]],
             key: str) -> Job:
        return Job(assignment=assignment, student=student, key=key, cells=cells, limits=Limits(),
                   submission=f"check {check} of {student}", secret=self.secret)

    def _key(self, assignment: str, data: bytes) -> str:
        return content_key(assignment=assignment, data=data, secret=secret_id(self.secret))

    def resume(self) -> None:
        """Grade again every check a stop left pending (the client that sent it may re-send it
        and join, or get the record)."""
        for pending in self.records.pending():
            try:
                cells = load_notebook_bytes(UPLOAD, pending.notebook, pending.assignment)
            except SubmissionError as exc:  # the kit changed meanwhile; no grade
                job = Job(pending.assignment, pending.student, "", "", [])
                self.records.complete(pending.check, failed(job, str(exc)))
                continue
            key = self._key(pending.assignment, pending.notebook)
            self.records.rekey(pending.check, key)
            self.checks.start(pending.check, self._job(pending.check, pending.student,
                                                       pending.assignment, cells, key))
            log.info("check %d of %s (%s): graded again after a restart", pending.check,
                     pending.student, pending.assignment)

    def _assignment(self, data: bytes, asked: str | None) -> str:
        name = asked
        if name is None:
            name = notebook_assignment(data.decode("utf-8-sig", errors="replace"))
        if name is None:
            try:
                load_notebook_bytes(UPLOAD, data, None)  # no notebook: say that first
            except SubmissionError as exc:
                raise Refused(400, str(exc)) from None
            raise Refused(400, f"{UPLOAD} does not say which assignment it is "
                          "(metadata.autograder.assignment): name it with ?assignment=NAME, "
                          f"one of {', '.join(self.assignments)}")
        try:
            manifest.get(name)
        except manifest.UnknownAssignment as exc:
            raise Refused(400, str(exc)) from None
        if name not in self.assignments:
            raise Refused(400, f"this service does not grade {name!r} (it grades "
                          f"{', '.join(self.assignments)})")
        return name

    def accept(self, student: str, data: bytes, asked: str | None, *,
               again: bool = True) -> Started:
        """Check the upload and the limits, record the check and start grading it; raises
        :class:`Refused`. (``again``: a check to join that has just been answered is looked
        up once more, and is then answered from the record.)"""
        if not data:
            raise Refused(400, "empty upload: send the bytes of the saved notebook")
        if len(data) > self.settings.max_upload:
            raise Refused(413, f"the upload is {describe_size(len(data))}, over the service's "
                          f"limit of {describe_size(self.settings.max_upload)}")
        assignment = self._assignment(data, asked)
        try:
            cells = load_notebook_bytes(UPLOAD, data, assignment)
        except SubmissionError as exc:
            raise Refused(400, str(exc)) from None
        sha256 = hashlib.sha256(data).hexdigest()
        key = self._key(assignment, data)
        decision = self.records.accept(student=student, assignment=assignment, sha256=sha256,
                                       key=key, notebook=data, rate=self.settings.rate)
        started = Started(check=decision.check, assignment=assignment, sha256=sha256)
        if decision.kind == rec.CACHED:
            started.results = decision.results
        elif decision.kind == rec.BUSY:
            raise Refused(409, f"one check at a time: your check {decision.check} "
                          f"({decision.assignment}) is still being graded; send this one when it "
                          "has its answer")
        elif decision.kind == rec.LIMITED:
            raise Refused(429, f"over the limit of {self.settings.rate} checks: try again in "
                          f"{decision.retry_after} s", {"Retry-After": str(decision.retry_after)})
        elif decision.kind == rec.JOIN:
            started.grading = self.checks.joined(decision.check)
            if started.grading is None and again:  # answered meanwhile
                return self.accept(student, data, asked, again=False)
            if started.grading is None:  # pending, but graded nowhere: grade it now
                started.grading = self.checks.start(
                    decision.check, self._job(decision.check, student, assignment, cells, key))
        else:
            started.grading = self.checks.start(
                decision.check, self._job(decision.check, student, assignment, cells, key))
        log.info("check %d of %s (%s): %s", decision.check, student, assignment, decision.kind)
        return started

    def finish(self, started: Started, outcome: Outcome | None) -> dict[str, Any]:
        """The reply to a started check once graded (``outcome``; None: from the record)."""
        if outcome is None:
            return answer(started, started.results, cached=True)
        if outcome.status != GRADED:  # FAILED: the service's problem, never the notebook's
            log.warning("check %d: not graded: %s", started.check, outcome.error)
            raise unavailable(outcome)
        return answer(started, outcome.results, cached=False)
