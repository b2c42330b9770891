"""Grader processes on this machine, each grading one submission after another.

Each grader is a long-lived process (started with ``spawn``, so it shares no state with the
coordinator): it imports TensorFlow, builds the reference and reads MNIST once, at its first
submission. Every submission still gets a fresh worker process, started one job ahead: while the
grader runs the hidden suite against submission *k*, the worker of submission *k+1* is already
starting up.

The coordinator hands out jobs when a grader asks for one (``("want",)``) and records each
``("done", outcome)`` as it arrives. A grader that dies is replaced; the submission it was
grading becomes a ``failed`` row (graded again by the next run) and the one it had started ahead
goes back to the queue.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from autograder.batch.jobs import Job, Outcome, Prepared, failed, grade_prepared
from autograder.grading.run import exit_without_teardown
from autograder.worker import zygote

_CONTEXT = multiprocessing.get_context("spawn")


def _ask(conn: Connection) -> Job | None:
    conn.send(("want",))
    return conn.recv()


def _quiet(log: Path | None) -> None:
    """Send what TensorFlow prints at C level to the log, not over the progress bar."""
    target = os.open(str(log) if log else os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)


def _die_with(parent: int) -> None:
    """Ask Linux to send SIGTERM when the coordinator dies, even by SIGKILL."""
    from autograder.worker import syscalls as sc

    try:
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return
    if os.getppid() != parent:  # it died before we asked
        sys.exit(143)


def serve(conn: Connection, log: Path | None = None, parent: int = 0) -> None:
    """The grader process: ask for a job, start the next one's worker, grade, report, repeat.

    ``parent`` is the coordinator's pid, to die with it; 0 in a fork of the warm template,
    which ends with the coordinator by itself (see ``zygote.Delegate``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the coordinator, which stops us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `finally` below closes the workers
    if parent and sys.platform.startswith("linux"):
        _die_with(parent)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    _quiet(log)
    current: Prepared | None = None
    ahead: Prepared | None = None
    try:
        job = _ask(conn)
        current = Prepared(job) if job is not None else None
        while current is not None:
            job = _ask(conn)
            ahead = Prepared(job) if job is not None else None
            outcome = grade_prepared(current)  # closes current
            current = None
            conn.send(("done", outcome))
            current, ahead = ahead, None
    except (EOFError, BrokenPipeError):  # the coordinator has gone: stop
        pass
    finally:
        for prepared in (current, ahead):
            if prepared is not None:
                prepared.close()
        exit_without_teardown(0)


def serve_forked(log: str | None, fd: int) -> None:
    """``serve`` in a fork of the warm template, on the job pipe ``fd`` it was given."""
    serve(Connection(fd), Path(log) if log else None)


def _start(child: Connection, log: Path | None) -> Any:
    """A grader process serving ``child``: a fork of the warm template where there is one (it
    has imported TensorFlow already, and its pages are shared with the workers), otherwise a
    fresh Python process."""
    forked = zygote.fork_delegate("autograder.batch.pool:serve_forked",
                                  [str(log) if log else None], extras=(child.fileno(),))
    if forked is not None:
        return forked
    process = _CONTEXT.Process(target=serve, args=(child, log, os.getpid()), daemon=True,
                               name="autograder-grader")
    process.start()
    return process


class _Grader:
    def __init__(self, log: Path | None):
        self.conn, child = _CONTEXT.Pipe()
        self.process = _start(child, log)
        child.close()
        self.jobs: deque[Job] = deque()  # handed to it, oldest (being graded) first

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        if isinstance(self.process, zygote.Delegate):
            self.process.close()
        self.conn.close()


class _Coordinator:
    """Hands out jobs, collects outcomes, replaces graders that die."""

    def __init__(self, jobs: list[Job], *, workers: int, on_result: Callable[[Outcome], None],
                 log: Path | None):
        self.queue = deque(jobs)
        self.remaining = len(jobs)
        self.on_result = on_result
        self.log = log
        self.idle_deaths = 0  # graders that died holding no job: the kit itself cannot start
        self.graders = [_Grader(log) for _ in range(max(1, min(workers, len(jobs))))]

    def run(self) -> None:
        try:
            while self.remaining:
                handles: dict[Any, _Grader] = {}
                for grader in self.graders:
                    handles[grader.conn] = handles[grader.process.sentinel] = grader
                for handle in wait(list(handles)):
                    grader = handles[handle]
                    if grader not in self.graders:
                        continue
                    if handle is grader.conn:
                        self._receive(grader)
                    else:
                        self._bury(grader)
        finally:
            for grader in self.graders:
                grader.process.terminate()
            for grader in self.graders:
                grader.stop()

    def _receive(self, grader: _Grader) -> bool:
        """Handle one message from ``grader``; False if it has closed its end (it ended)."""
        try:
            message = grader.conn.recv()
        except (EOFError, OSError):
            return False  # it ended; its sentinel says so
        if message[0] == "want":
            job = self.queue.popleft() if self.queue else None
            try:
                grader.conn.send(job)
            except OSError:  # it ended after asking
                if job is not None:
                    self.queue.appendleft(job)
                return False
            if job is not None:
                grader.jobs.append(job)
        else:
            grader.jobs.popleft()
            self._finish(message[1])
        return True

    def _finish(self, outcome: Outcome) -> None:
        self.remaining -= 1
        self.on_result(outcome)

    def _bury(self, dead: _Grader) -> None:
        """A grader ended: record what it sent last, fail its current job, requeue the next."""
        while dead.conn.poll() and self._receive(dead):
            pass
        code = dead.process.exitcode
        self.graders.remove(dead)
        dead.stop()
        if dead.jobs:
            self._finish(failed(dead.jobs.popleft(), f"the grader process died (exit status "
                                f"{code}) while grading this submission"))
            self.queue.extendleft(reversed(dead.jobs))
        elif code != 0:
            self.idle_deaths += 1
        if self.idle_deaths > 3:  # it dies before taking any job: no point starting more
            while self.queue:
                self._finish(failed(self.queue.popleft(), "the grader processes could not start "
                                    f"(exit status {code}); see the graders' log"))
        elif self.queue:
            self.graders.append(_Grader(self.log))


def run(jobs: list[Job], *, workers: int, on_result: Callable[[Outcome], None],
        log: Path | None = None) -> None:
    """Grade ``jobs`` with ``workers`` grader processes, calling ``on_result`` as each finishes."""
    if jobs:
        _Coordinator(jobs, workers=workers, on_result=on_result, log=log).run()
