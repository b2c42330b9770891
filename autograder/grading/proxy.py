"""The grader's side of the submission: a worker that is restarted after a crash or a timeout.

Suites see a :class:`StudentProxy` as the ``student`` fixture and call
``student.call("build_model", x, w, b, mode="graph")``. Whatever goes wrong on the student's side
arrives as :class:`StudentError` with a message for the report. The process handle is
:class:`~autograder.grading.process.Worker`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from autograder.grading.evaluator import Evaluator, Remote
from autograder.grading.process import (
    MAX_SKIPPED_CELLS,
    Budget,
    SandboxRefused,
    StudentError,
    Worker,
    clean,
    worker_mnist_dir,
)
from autograder.worker.limits import Limits

__all__ = ["SandboxRefused", "StudentError", "StudentProxy", "clean"]


class StudentProxy:
    """The suites' handle on the submission. Restarts the worker after a crash or a timeout.

    If a cell hangs or ends the worker's process while the submission loads, that cell is left
    out (at most ``MAX_SKIPPED_CELLS`` of them) and the submission is loaded again without it,
    so that the functions of the other cells can still be graded. All its workers together
    have ``limits.wall_seconds`` (:class:`Budget`): once spent, every call fails at once.
    """

    def __init__(self, *, assignment: str, cells: list[dict[str, Any]], limits: Limits,
                 scratch: Path, twin_of: StudentProxy | None = None):
        self.assignment = assignment
        self.cells = cells
        self.limits = limits
        self.workers: list[Worker] = []
        self._worker: Worker | None = None
        self._load_error: StudentError | None = None
        self._twin: StudentProxy | None = None
        self._loading = threading.Lock()
        self._starting = threading.Lock()  # one worker at a time, whichever thread starts it
        self._closed = False  # once closed, no worker starts again (a load still running fails)
        if twin_of is None:
            self.mnist_dir = worker_mnist_dir(scratch)
            self.skipped: dict[int, str] = {}  # cell index -> why it was left out
            self.budget = Budget(limits.wall_seconds)
            self.memo: dict[str, Any] = {}  # results the tests and the extras share
        else:  # see twin()
            self.mnist_dir, self.skipped = twin_of.mnist_dir, twin_of.skipped
            self.budget, self.memo = twin_of.budget, twin_of.memo
            self._closed = twin_of._closed
        # runs the graphs the submission builds; lent MNIST (no test labels) for staged batches
        self.evaluator = Evaluator(limits, self.mnist_dir)
        self._scratch = scratch

    def twin(self) -> StudentProxy:
        """A second worker on the same cells, with an evaluator of its own, for a task that runs
        beside the tests (the lecture's run): it shares the wall-clock budget, the memo and the
        cells left out; its processes are this student's (their output, their refusal, their
        end)."""
        if self._twin is None:
            self._twin = StudentProxy(assignment=self.assignment, cells=self.cells,
                                      limits=self.limits, scratch=self._scratch, twin_of=self)
        return self._twin

    @property
    def twinned(self) -> bool:
        """Whether a :meth:`twin` was made (at the start, when one grade runs two workers)."""
        return self._twin is not None

    def _all(self) -> list[Worker]:
        return self.workers + (self._twin.workers if self._twin is not None else [])

    def _evaluators(self) -> list[Evaluator]:
        return [self.evaluator] + ([self._twin.evaluator] if self._twin is not None else [])

    def start(self) -> None:
        """Start a worker now, so that its start-up overlaps the grader's own."""
        with self._starting:
            if self._closed:
                raise StudentError("crash", "the grade ended before the submission was loaded")
            if self._worker is None or not self._worker.alive:
                if self._worker is not None:
                    self._worker.close()
                wall = self.budget.bound(self.limits.wall_seconds)
                self._worker = Worker(assignment=self.assignment, cells=self.cells,
                                      limits=self.limits, mnist_dir=self.mnist_dir,
                                      skipped=self.skipped, wall_seconds=wall)
                self.workers.append(self._worker)

    def _ready(self) -> Worker:
        with self._loading:  # one thread runs the cells; another asking meanwhile waits for it
            return self._loaded()

    def _loaded(self) -> Worker:
        # A submission whose cells cannot be run once will not run the second time either.
        if self._load_error is not None:
            raise self._load_error
        if self.refusal is not None:  # nor will a sandbox that refused to run it
            raise self.refusal
        while True:
            self.start()
            worker = self._worker
            assert worker is not None
            try:
                worker.load()
            except StudentError as exc:
                exc = self.budget.explain(exc)
                if self.budget.spent or not self._skip(worker, exc):
                    self._load_error = StudentError(
                        exc.kind, f"the submission could not be loaded: {exc}")
                    raise self._load_error from None
                continue
            return worker

    def _skip(self, worker: Worker, exc: StudentError) -> bool:
        """Leave out the cell that hung or ended the process, if that is why loading failed."""
        cell = worker.current_cell
        if exc.kind not in ("timeout", "crash") or cell is None or cell in worker.skipped:
            return False
        if cell in self.skipped:  # the twin left it out meanwhile: go on without it too
            worker.kill()
            return True
        if len(self.skipped) >= MAX_SKIPPED_CELLS:
            return False
        if exc.kind == "timeout":
            why = (f"it was still running after {self.limits.load_timeout:g} s, so the grader "
                   "stopped it and ran the other cells without it")
        else:
            why = (f"it ended the submission's process ({worker.ended}), so the grader ran the "
                   "other cells without it")
        self.skipped[cell] = why
        worker.kill()
        return True

    @property
    def load_report(self) -> dict[str, Any]:
        """What running the cells reported: ``{"notes": [...], "defined": [...]}``."""
        return self._ready().load_report or {}

    @property
    def refusal(self) -> SandboxRefused | None:
        """Why a worker or the evaluator refused to run (see ``SandboxRefused``), if one did."""
        found = [w.refusal for w in self._all()] + [e.refusal for e in self._evaluators()]
        return next((r for r in found if r is not None), None)

    @property
    def isolation(self) -> dict[str, Any]:
        """What the sandbox of the latest worker achieved (see :attr:`Worker.isolation`)."""
        return self._worker.isolation if self._worker is not None else {}

    def call(self, name: str, *args: Any, mode: str = "plain", timeout: float | None = None,
             **kwargs: Any) -> Any:
        """The student's ``name(*args, **kwargs)``. In ``graph`` mode the worker only builds the
        graph, on placeholders of the arrays' shapes (it never sees their values), and the
        evaluator runs it on the arrays: see ``autograder.grading.trusted``."""
        worker = self._ready()
        timeout = self.budget.bound(timeout or self.limits.call_timeout)
        try:
            if mode == "graph":
                from autograder.grading.trusted import graph_call

                return graph_call(worker, self.evaluator, name, list(args), kwargs, timeout)
            return worker.request({"op": "call", "mode": mode, "name": name, "args": list(args),
                                   "kwargs": kwargs}, timeout, what=f"calling {name}")
        except StudentError as exc:
            raise self.budget.explain(exc) from None

    def task(self, name: str, *, timeout: float | None = None, remote: Remote | None = None,
             **kwargs: Any) -> Any:
        """A task of the assignment run in the worker; ``remote`` answers its sessions."""
        worker = self._ready()
        worker.relay = remote
        try:
            return worker.request({"op": "task", "name": name, "kwargs": kwargs},
                                  self.budget.bound(timeout or self.limits.task_timeout),
                                  what=f"running {name}")
        except StudentError as exc:
            raise self.budget.explain(exc) from None
        finally:
            worker.relay = None

    @property
    def output(self) -> str:
        return "\n".join(w.log.text() for w in self._all() if w.log.text())

    def release(self) -> None:
        """Tell every process to end, without waiting (see ``Worker.release``)."""
        for worker in self._all():
            worker.release()
        for evaluator in self._evaluators():
            evaluator.release()

    def close(self) -> None:
        for proxy in (self, self._twin):  # a worker starting meanwhile is in the lists below
            if proxy is not None:
                with proxy._starting:
                    proxy._closed = True
        self.release()  # all told first, so that they end side by side
        for worker in self._all():
            worker.close()
        for evaluator in self._evaluators():
            evaluator.close()
