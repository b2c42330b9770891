"""The graders behind the service, and the checks they are grading.

:func:`graders` gives either a :class:`~autograder.batch.pool.Pool` (long-lived grader
processes forked from the warm template, exactly those of ``autograder batch``) or
:class:`DaskGraders` (a Dask cluster's workers, as ``autograder batch --dask``); both take one
:class:`~autograder.batch.jobs.Job` at a time and give a future of its
:class:`~autograder.batch.jobs.Outcome`.

:class:`Checks` remembers which check each future grades, records the outcome in ``records``
when it arrives (also when nobody waits for it any more: the client went away), and lets a
request for the same bytes join a check already running.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from autograder.batch import cluster
from autograder.batch.jobs import FAILED, Job, Outcome, failed
from autograder.batch.pool import Pool
from autograder.serve.records import Records

log = logging.getLogger("autograder.serve")


class Graders(Protocol):
    def submit(self, job: Job) -> Future[Outcome]: ...

    def close(self) -> None: ...


class DaskGraders:
    """Jobs graded on a Dask cluster (``batch/cluster.py``); raises ``cluster.ClusterError``."""

    def __init__(self, address: str):
        self.client = cluster.connect(address)

    def submit(self, job: Job) -> Future[Outcome]:
        result: Future[Outcome] = Future()
        result.set_running_or_notify_cancel()

        def done(remote: Any) -> None:
            try:
                outcome = remote.result()
            except Exception as exc:  # e.g. the Dask worker died (KilledWorker)
                outcome = failed(job, f"the Dask cluster could not grade it: "
                                 f"{type(exc).__name__}: {exc}")
            result.set_result(outcome)

        self.client.submit(cluster.grade_on_worker, job, pure=False).add_done_callback(done)
        return result

    def close(self) -> None:
        self.client.close()


def graders(*, workers: int, dask: str | None, log_path: Path) -> Graders:
    """The service's graders: ``workers`` processes here, or the Dask cluster at ``dask``."""
    if dask:
        return DaskGraders(dask)
    return Pool(workers=workers, log=log_path)


def _failed(outcome: Outcome, error: str) -> Outcome:
    return replace(outcome, status=FAILED, score=0.0, error=error, results={})


class Checks:
    """Checks being graded, by their row in ``records``."""

    def __init__(self, graders: Graders, records: Records):
        self.graders = graders
        self.records = records
        self.running: dict[int, Future[Outcome]] = {}
        self.closing = False
        self._lock = threading.Lock()

    def start(self, check: int, job: Job) -> Future[Outcome]:
        """Grade ``job`` as check ``check``; the future is resolved once the outcome is recorded."""
        answered: Future[Outcome] = Future()
        with self._lock:
            self.running[check] = answered
        self.graders.submit(job).add_done_callback(lambda graded: self._record(check, graded,
                                                                               answered))
        return answered

    def joined(self, check: int) -> Future[Outcome] | None:
        with self._lock:
            return self.running.get(check)

    def _record(self, check: int, graded: Future[Outcome], answered: Future[Outcome]) -> None:
        outcome = graded.result()
        if self.closing:  # stopped by the shutdown: the row stays pending, graded at the restart
            outcome = _failed(outcome, "the service is stopping; send it again in a minute")
        else:
            try:
                self.records.complete(check, outcome)
            except Exception as exc:  # the database failed: the grade is not recorded
                log.error("check %d: its outcome could not be recorded: %s", check, exc)
                outcome = _failed(outcome, f"its result could not be recorded ({exc})")
        with self._lock:
            self.running.pop(check, None)
        answered.set_result(outcome)

    def close(self) -> None:
        self.closing = True
        self.graders.close()
