"""Grader processes on this machine, each grading one submission after another.

Each grader is a long-lived process (started with ``spawn``, so it shares no state with the
coordinator): it imports TensorFlow, builds the reference and reads MNIST once, at its first
submission. Every submission still gets a fresh worker process, started one job ahead: while the
grader runs the hidden suite against submission *k*, the worker of submission *k+1* is already
starting up.

A :class:`Pool` hands out jobs when a grader asks for one (``("want",)``) and records each
``("done", outcome)`` as it arrives, in a thread of its own, for as long as it is open: a batch
(:func:`run`) gives it a class and waits for the last outcome; the grading service
(``autograder serve``) gives it one check at a time, for days. A grader that dies is replaced;
the submission it was grading becomes a ``failed`` outcome (a batch grades it again at its next
run) and the one it had started ahead goes back to the queue.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, as_completed
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from autograder.batch.jobs import Job, Outcome, Prepared, failed, grade_prepared
from autograder.grading.run import exit_without_teardown
from autograder.worker import template

_CONTEXT = multiprocessing.get_context("spawn")


def _ask(conn: Connection) -> Job | None:
    conn.send(("want",))
    return conn.recv()


class _Ahead:
    """The answer to a grader's ("want",) sent before it grades its current job, received in a
    thread: the next job's worker starts the moment the job arrives, at once in a batch (the
    queue is full), or while the current one is graded when the service's next check comes.
    A grader with nothing queued for it must not wait for one before it grades what it has."""

    def __init__(self, conn: Connection):
        conn.send(("want",))
        self.prepared: Prepared | None = None
        self.ended = False  # None came: no more jobs
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._receive, args=(conn,), daemon=True,
                                        name="autograder-ahead")
        self._thread.start()

    def _receive(self, conn: Connection) -> None:
        try:
            job = conn.recv()
        except BaseException as exc:  # EOFError: the coordinator has gone
            self.error = exc
            return
        if job is None:
            self.ended = True
        else:
            self.prepared = Prepared(job)

    def next(self) -> Prepared | None:
        """The next job, prepared (waiting for it if it has not come); None: no more."""
        self._thread.join()
        if self.error is not None:
            raise self.error
        prepared, self.prepared = self.prepared, None
        return prepared

    def close(self) -> None:
        if not self._thread.is_alive() and self.prepared is not None:
            self.prepared.close()


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
    which ends with the coordinator by itself (see ``template.Delegate``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the coordinator, which stops us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `finally` below closes the workers
    if parent and sys.platform.startswith("linux"):
        _die_with(parent)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    _quiet(log)
    current: Prepared | None = None
    ahead: _Ahead | None = None
    try:
        job = _ask(conn)
        current = Prepared(job) if job is not None else None
        while current is not None:
            ahead = _Ahead(conn)
            outcome = grade_prepared(current)  # closes current
            current = None
            conn.send(("done", outcome))
            current = ahead.next()
            ahead = None
    except (EOFError, BrokenPipeError):  # the coordinator has gone: stop
        pass
    finally:
        if current is not None:
            current.close()
        if ahead is not None:
            ahead.close()
        exit_without_teardown(0)


def serve_forked(log: str | None, fd: int) -> None:
    """``serve`` in a fork of the warm template, on the job pipe ``fd`` it was given."""
    serve(Connection(fd), Path(log) if log else None)


def _start(child: Connection, log: Path | None, tensorflow: bool) -> Any:
    """A grader process serving ``child``: a fork of the warm template where there is one (it
    has imported TensorFlow already, and its pages are shared with the workers), otherwise a
    fresh Python process."""
    forked = template.fork_delegate("autograder.batch.pool:serve_forked",
                                  [str(log) if log else None], extras=(child.fileno(),),
                                  tensorflow=tensorflow)
    if forked is not None:
        return forked
    process = _CONTEXT.Process(target=serve, args=(child, log, os.getpid()), daemon=True,
                               name="autograder-grader")
    process.start()
    return process


class _Grader:
    def __init__(self, log: Path | None, tensorflow: bool = True):
        self.conn, child = _CONTEXT.Pipe()
        self.process = _start(child, log, tensorflow)
        child.close()
        self.jobs: deque[tuple[Job, Future[Outcome]]] = deque()  # handed to it, oldest first

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        if isinstance(self.process, template.Delegate):
            self.process.close()
        self.conn.close()


def _resolve(future: Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


class Pool:
    """``workers`` grader processes that take jobs one at a time, for as long as it is open::

        with Pool(workers=2, log=path) as graders:
            outcome = graders.submit(job).result()

    A job's future always gets an :class:`Outcome`, never an exception: a job whose grader died
    is ``failed``. A thread of the pool hands out jobs as graders ask for them (an idle grader
    first, then one that starts its next job's worker ahead), records what they send, and
    replaces graders that die. :meth:`finish` says that no more jobs come: graders end once the
    queue is empty (a batch). :meth:`close` ends them now; what has not finished is ``failed``.
    """

    STOPPED = "grading was stopped before this submission was graded"

    def __init__(self, *, workers: int, log: Path | None = None, tensorflow: bool = True):
        self.workers = max(1, workers)
        self.log = log
        self.tensorflow = tensorflow  # False: the jobs' assignment is graded without it
        self._lock = threading.Lock()
        self._queue: deque[tuple[Job, Future[Outcome]]] = deque()
        self._finishing = False
        self._closed = False
        self._waiting: list[_Grader] = []  # graders whose ("want",) is not answered yet
        self._idle_deaths = 0  # graders that died holding no job: the kit itself cannot start
        self._wake_r, self._wake_w = os.pipe()
        self.graders = [_Grader(log, tensorflow) for _ in range(self.workers)]
        self._thread = threading.Thread(target=self._loop, daemon=True, name="autograder-pool")
        self._thread.start()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(self, job: Job) -> Future[Outcome]:
        """Queue ``job``; its future gets the outcome (cancelling it while queued drops it)."""
        future: Future[Outcome] = Future()
        with self._lock:
            if self._closed or self._finishing:
                raise RuntimeError("the pool takes no more jobs")
            self._queue.append((job, future))
            self._wake()
        return future

    def finish(self) -> None:
        """No more jobs: graders end once the queue is empty."""
        with self._lock:
            self._finishing = True
            self._wake()

    def close(self) -> None:
        """End the graders now (after :meth:`finish`, once they are done); unfinished jobs fail."""
        with self._lock:
            self._closed = True
            self._wake()
        self._thread.join()

    def _wake(self) -> None:
        """Wake the pool's thread (called holding the lock, which guards the pipe's closing)."""
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b".")

    def _loop(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed or (self._finishing and not self._queue
                                        and not any(g.jobs for g in self.graders)):
                        break
                handles: dict[Any, _Grader | None] = {self._wake_r: None}
                for grader in self.graders:
                    handles[grader.conn] = handles[grader.process.sentinel] = grader
                for handle in wait(list(handles)):
                    grader = handles[handle]
                    if grader is None:
                        os.read(self._wake_r, 4096)
                    elif grader not in self.graders:
                        continue
                    elif handle is grader.conn:
                        self._receive(grader)
                    else:
                        self._bury(grader)
                self._dispatch()
        finally:
            self._stop()

    def _stop(self) -> None:
        for grader in self.graders:
            grader.process.terminate()
        for grader in self.graders:
            grader.stop()
            for job, future in grader.jobs:
                _resolve(future, failed(job, self.STOPPED))
        with self._lock:
            self._closed = True
            left, self._queue = list(self._queue), deque()
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            self._wake_r = self._wake_w = -1
        for job, future in left:
            _resolve(future, failed(job, self.STOPPED))

    def _dispatch(self) -> None:
        """Answer the graders that asked: a job (idle graders first), or None when finishing."""
        with self._lock:
            again = not self.graders and bool(self._queue)
        if again:  # every grader died, and a job came: try one more
            self.graders.append(_Grader(self.log, self.tensorflow))
        with self._lock:
            for grader in sorted(self._waiting, key=lambda g: len(g.jobs)):
                item = None
                while self._queue and item is None:
                    item = self._queue.popleft()
                    future = item[1]
                    if not (future.running() or future.set_running_or_notify_cancel()):
                        item = None  # cancelled while queued (a requeued job is running)
                if item is None and not self._finishing:
                    break
                self._waiting.remove(grader)
                try:
                    grader.conn.send(item[0] if item else None)
                except OSError:  # it ended after asking; its sentinel says so
                    if item is not None:
                        self._queue.appendleft(item)
                    continue
                if item is not None:
                    grader.jobs.append(item)

    def _receive(self, grader: _Grader) -> bool:
        """Handle one message from ``grader``; False if it has closed its end (it ended)."""
        try:
            message = grader.conn.recv()
        except (EOFError, OSError):
            return False  # it ended; its sentinel says so
        if message[0] == "want":
            if grader not in self._waiting:
                self._waiting.append(grader)
        else:
            _, future = grader.jobs.popleft()
            self._idle_deaths = 0
            _resolve(future, message[1])
        return True

    def _bury(self, dead: _Grader) -> None:
        """A grader ended: record what it sent last, fail its current job, requeue the next."""
        while dead.conn.poll() and self._receive(dead):
            pass
        code = dead.process.exitcode
        self.graders.remove(dead)
        if dead in self._waiting:
            self._waiting.remove(dead)
        dead.stop()
        with self._lock:
            if dead.jobs:
                job, future = dead.jobs.popleft()
                _resolve(future, failed(job, f"the grader process died (exit status {code}) "
                                        "while grading this submission"))
                self._queue.extendleft(reversed(dead.jobs))
            elif code != 0:
                self._idle_deaths += 1
            if self._idle_deaths > 3:  # it dies before taking any job: no point starting more
                while self._queue:
                    job, future = self._queue.popleft()
                    _resolve(future, failed(job, "the grader processes could not start (exit "
                                            f"status {code}); see the graders' log"))
            replace = self._idle_deaths <= 3 and (
                bool(self._queue) or (not self._finishing and len(self.graders) < self.workers))
        if replace:
            self.graders.append(_Grader(self.log, self.tensorflow))


def run(jobs: list[Job], *, workers: int, on_result: Callable[[Outcome], None],
        log: Path | None = None, tensorflow: bool = True) -> None:
    """Grade ``jobs`` with ``workers`` grader processes, calling ``on_result`` (in this thread)
    as each finishes; ``tensorflow=False``: the jobs' assignment is graded without it."""
    if not jobs:
        return
    with Pool(workers=min(workers, len(jobs)), log=log, tensorflow=tensorflow) as graders:
        futures = [graders.submit(job) for job in jobs]
        graders.finish()
        for future in as_completed(futures):
            on_result(future.result())
