"""The grader's side of the trusted evaluator (``autograder.evaluator``): start it, ask it, relay.

:class:`Evaluator` is one evaluator process per submission (a fresh fork of the warm template in
a worker's sandbox, role ``evaluator``), started when first needed and started again if it dies
(a graph that loops for ever costs its timeout, like a hanging call). A new one per submission:
the graphs it ran were a submission's, so it is never trusted with another's.

:class:`Remote` answers a worker's session while a task runs: each ``run`` the worker asks for is
checked (its session, the nodes it adds, under the task's policy), done by the evaluator and
written in the remote's ``log``, which is the grader's own record of what the student's code ran.

A remote given a :class:`Sequence` (the batches ``data.next_batch`` gives the worker, in the
order the grader drew) also takes a feed that *names* rows of it instead of sending them: the
worker names a batch it fed unchanged, the grader checks the name and feeds the evaluator those
rows of its own (staged there once: :meth:`Sequence.stage`). A name says no more than the
worker's bytes would: whatever it names, the rows fed are the grader's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.evaluator import ops
from autograder.grading.process import Budget, SandboxRefused, StudentError, Worker
from autograder.worker.limits import Limits
from autograder.worker.remote import MOST_NAMED_ROWS


class Evaluator:
    """One submission's evaluator process, started on first use. Its requests are answered one
    at a time, whichever thread asks."""

    def __init__(self, limits: Limits, mnist_dir: Path | None = None):
        self.limits = limits
        self.mnist_dir = mnist_dir  # lent to it: MNIST without the test labels (``stage``)
        self.budget = Budget(limits.wall_seconds)  # the evaluator's own, as a worker's
        self.refusal: SandboxRefused | None = None
        self._worker: Worker | None = None
        self._lock = threading.Lock()

    def _process(self) -> Worker:
        if self._worker is None or not self._worker.alive:
            if self._worker is not None:
                self._worker.close()
            self._worker = Worker(assignment="", cells=[], limits=self.limits,
                                  mnist_dir=self.mnist_dir,
                                  role="evaluator",
                                  wall_seconds=self.budget.bound(self.limits.wall_seconds))
        return self._worker

    def start(self) -> None:
        """Start the process now, so that its start overlaps other work."""
        with self._lock:
            self._process()

    def ask(self, request: dict[str, Any], timeout: float | None = None) -> Any:
        with self._lock:
            return self._ask(request, timeout)

    def _ask(self, request: dict[str, Any], timeout: float | None) -> Any:
        try:
            return self._process().request({"op": "evaluator", "request": request},
                                           self.budget.bound(timeout or self.limits.call_timeout),
                                           what="running the submission's graph")
        except SandboxRefused as exc:
            self.refusal = exc
            raise
        except StudentError as exc:
            raise self.budget.explain(exc) from None

    def evaluate(self, *, graph: np.ndarray, feeds: dict[str, np.ndarray], fetches: list[str],
                 init: str | None, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run a student's graph once: ``{"values", "facts", "ops"}``; ``variables`` see
        ``autograder.evaluator.engine``."""
        answer = self.ask({"op": "evaluate", "graph": graph, "feeds": feeds, "fetches": fetches,
                           "init": init, "variables": variables or {}})
        if not isinstance(answer, dict) or len(answer.get("values", [])) != len(fetches):
            raise StudentError("crash", "the evaluator's answer is unusable")
        return answer

    def open(self, graph: np.ndarray, *, trusted: bool) -> int:
        """A session on ``graph``: the grader's own (a ``MetaGraphDef``, see :func:`trusted_bytes`)
        when ``trusted``, else a student's ``GraphDef``, checked against the allow-list."""
        return int(self.ask({"op": "open", "graph": graph, "meta": trusted})["session"])

    def extend(self, session: int, graph: np.ndarray, *, policy: str, only: list[str]) -> Any:
        return self.ask({"op": "extend", "session": session, "graph": graph, "policy": policy,
                         "only": only})

    def minimize(self, session: int, *, loss: str, learning_rate: float,
                 optimizer: str = "adam") -> dict[str, str]:
        return self.ask({"op": "minimize", "session": session, "loss": loss,
                         "learning_rate": learning_rate, "optimizer": optimizer})

    def gradients(self, session: int, *, loss: str, variables: list[str]) -> list[str]:
        """Names of the gradients of ``loss`` with respect to the variables named."""
        return self.ask({"op": "gradients", "session": session, "loss": loss,
                         "variables": variables})

    def alias(self, session: int, names: dict[str, str]) -> None:
        self.ask({"op": "alias", "session": session, "names": names})

    def stage(self, session: int, part: str, *, file: str, rows: np.ndarray, table: np.ndarray,
              classes: int | None = None) -> None:
        """Rows of an MNIST training file, read by the evaluator from the folder it was lent,
        and the table of their 256 values, that feeds may name (:class:`Rows`)."""
        self.ask({"op": "stage", "session": session, "part": part, "file": file, "rows": rows,
                  "table": table, "classes": classes})

    def run(self, session: int, fetches: list[str], feeds: dict[str, Any] | None = None,
            timeout: float | None = None) -> list[Any]:
        """``feeds`` may hold :class:`Rows` as well as arrays."""
        wire = {k: v.wire() if isinstance(v, Rows) else v for k, v in (feeds or {}).items()}
        return self.ask({"op": "run", "session": session, "fetches": fetches, "feeds": wire},
                        timeout)

    def facts(self, session: int, fetches: list[str]) -> list[dict[str, Any]]:
        return self.ask({"op": "facts", "session": session, "fetches": fetches})

    def close_session(self, session: int) -> None:
        if self._worker is not None and self._worker.alive:
            self.ask({"op": "close", "session": session})

    def release(self) -> None:
        """Let the process end, without waiting (see ``Worker.release``)."""
        if self._worker is not None:
            self._worker.release()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()
            self._worker = None


def trusted_bytes(graph: Any) -> np.ndarray:
    """A graph the grader built, for :meth:`Evaluator.open` (with its variables)."""
    import tensorflow as tf

    with graph.as_default():  # not in eager mode, where TensorFlow refuses to export
        meta = tf.compat.v1.train.export_meta_graph(graph=graph)
    return np.frombuffer(meta.SerializeToString(), dtype=np.uint8).copy()


class Sequence:
    """The rows a worker's ``data`` gives, in order: ``images`` (bytes, a row each) and
    ``labels`` (class numbers) at positions ``order``, turned into what a batch holds by
    ``table`` (the float32 of each byte) and one-hot float32 labels. They are MNIST's training
    files' rows from ``skip`` on; the first ``staged`` positions are staged in the evaluator
    (:meth:`stage`, read there from its own copy of MNIST); rows beyond are sent."""

    PARTS = ("images", "labels")

    def __init__(self, images: np.ndarray, labels: np.ndarray, order: np.ndarray,
                 table: np.ndarray, staged: int, skip: int):
        self.images, self.labels, self.order, self.table = images, labels, order, table
        self.staged = min(int(staged), len(order))
        self.skip = skip
        self._one_hot = np.zeros(256, np.float32)
        self._one_hot[1] = 1.0

    def stage(self, evaluator: Evaluator, session: int) -> None:
        from coursekit.data import mnist

        rows = (self.order[:self.staged] + self.skip).astype(np.int32)
        evaluator.stage(session, "images", file=mnist.TRAIN_IMAGES, rows=rows, table=self.table)
        evaluator.stage(session, "labels", file=mnist.TRAIN_LABELS, rows=rows,
                        table=self._one_hot, classes=10)

    def named(self, name: Any) -> Rows:
        """The rows a worker's name stands for; StudentError for a name that names none."""
        rows = name.get("rows") if isinstance(name, dict) else None
        part = name.get("part") if isinstance(name, dict) else None
        if not (part in self.PARTS and isinstance(rows, list) and len(rows) == 2
                and all(type(n) is int for n in rows)
                and 0 <= rows[0] < len(self.order)
                and 0 < rows[1] <= min(len(self.order), MOST_NAMED_ROWS)):
            raise StudentError("bad_return", "the session named rows of data that it has not")
        return Rows(part=part, start=rows[0], size=rows[1], sequence=self)

    def positions(self, rows: Rows) -> np.ndarray:
        return self.order[(rows.start + np.arange(rows.size)) % len(self.order)]

    def array(self, rows: Rows) -> np.ndarray:
        picked = self.positions(rows)
        if rows.part == "images":
            return self.table[self.images[picked]]
        return np.eye(10, dtype=np.float32)[self.labels[picked]]

    def wire(self, rows: Rows) -> Any:
        if rows.start + rows.size <= self.staged:
            return {"staged": rows.part, "start": rows.start, "size": rows.size}
        return self.array(rows)


@dataclass(frozen=True)
class Rows:
    """A feed the worker named: ``size`` rows of ``part`` from position ``start`` of the grader's
    :class:`Sequence` (what ``data.next_batch`` gave there)."""

    part: str
    start: int
    size: int
    sequence: Sequence

    def array(self) -> np.ndarray:
        return self.sequence.array(self)

    def wire(self) -> Any:
        return self.sequence.wire(self)


@dataclass
class Run:
    """One ``run`` a student's session asked for: what, with which feeds, and what it gave."""

    fetches: list[str]
    feeds: dict[str, np.ndarray | Rows]
    values: list[Any]


@dataclass
class Remote:
    """The grader's answer to a worker's session during one task (see the module)."""

    evaluator: Evaluator
    session: int
    policy: str = ops.FORWARD
    keep_feeds: bool = True  # keep the fed arrays in the log (the grader checks them)
    before: Callable[[list[str], dict[str, np.ndarray | Rows]], None] | None = None
    after: Callable[[list[str], list[Any]], None] | None = None
    prepare: Callable[[dict[str, Any]], Any] | None = None
    sequence: Sequence | None = None  # the batches a feed may name (see the module)
    log: list[Run] = field(default_factory=list)

    def __call__(self, asked: Any) -> Any:
        if not isinstance(asked, dict):
            raise StudentError("bad_return", "the session sent an unusable request")
        kind = asked.get("kind")
        if kind == "prepare" and self.prepare is not None:
            return self.prepare(asked)
        if kind != "run" or asked.get("session") != self.session:
            raise StudentError("exception", "the session asked for something the grader does "
                               "not run here")
        fetches = asked.get("fetches")
        feeds = asked.get("feeds", {})
        if isinstance(feeds, dict) and self.sequence is not None:
            feeds = {k: self.sequence.named(v) if isinstance(v, dict) else v
                     for k, v in feeds.items()}
        if not (isinstance(fetches, list) and all(isinstance(f, str) for f in fetches)
                and isinstance(feeds, dict)
                and all(isinstance(v, np.ndarray | Rows) for v in feeds.values())):
            raise StudentError("bad_return", "the session sent unusable fetches or feeds")
        if asked.get("graph") is not None:
            self.evaluator.extend(self.session, asked["graph"], policy=self.policy,
                                  only=[*fetches, *feeds])
        if self.before is not None:
            self.before(fetches, feeds)
        values = self.evaluator.run(self.session, fetches, feeds)
        if self.after is not None:
            self.after(fetches, values)
        self.log.append(Run(fetches=fetches, feeds=feeds if self.keep_feeds else {},
                            values=values))
        return values
