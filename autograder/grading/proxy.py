"""The grader's side of the worker: start it, send requests, enforce time limits, restart it.

Suites see a :class:`StudentProxy` as the ``student`` fixture and call
``student.call("build_model", x, w, b, mode="graph")``. Whatever goes wrong on the student's side
(an exception, a hang, a dead worker, an unusable return value) arrives as :class:`StudentError`
with a message for the report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from autograder.data import input_data, mnist
from autograder.worker import protocol
from autograder.worker.limits import Limits, apply

# Variables the worker may inherit; everything else is scrubbed.
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED")


class StudentError(Exception):
    """A failure on the student's side; ``kind`` says which and ``str()`` says it in words."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class CappedLog:
    """Keeps the first and last part of what a stream prints, dropping the middle."""

    def __init__(self, cap: int):
        self.cap = cap
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        excess = len(self.tail) - self.cap // 2
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        middle = f"\n[... {self.dropped} bytes of output dropped ...]\n" if self.dropped else ""
        return (bytes(self.head).decode("utf-8", "replace") + middle
                + bytes(self.tail).decode("utf-8", "replace"))


def worker_mnist_dir(root: Path) -> Path:
    """A directory holding MNIST without the test labels, for the worker's eyes only."""
    source = mnist.ensure(names=(mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS, mnist.TEST_IMAGES))
    target = root / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    for name in (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS, mnist.TEST_IMAGES):
        link = target / name
        if not link.exists():
            try:
                os.link(source / name, link)
            except OSError:
                link.write_bytes((source / name).read_bytes())
    return target


class Worker:
    """One worker process running one submission."""

    def __init__(self, *, assignment: str, cells: list[dict[str, Any]], limits: Limits,
                 mnist_dir: Path):
        self.assignment = assignment
        self.cells = cells
        self.limits = limits
        self.log = CappedLog(limits.output_bytes)
        self._next_id = 0
        self.home = Path(tempfile.mkdtemp(prefix="autograder-worker-"))
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
        env.update({
            "HOME": str(self.home), "TMPDIR": str(self.home), "MPLBACKEND": "Agg",
            "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
            mnist.ENV_DIR: str(mnist_dir), mnist.ENV_SOURCES: "",
            input_data.ENV_WITHHOLD: "1",
        })
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker.server", str(to_worker_r), str(from_worker_w)],
            pass_fds=(to_worker_r, from_worker_w), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=self.home, env=env,
            start_new_session=True, preexec_fn=lambda: apply(limits),
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()
        self.load_report: dict[str, Any] | None = None
        self.load_error: StudentError | None = None

    def _drain_output(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while chunk := stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536):
            self.log.feed(chunk)

    def load(self) -> dict[str, Any]:
        """Run the submission's cells in the worker (once); raises StudentError if it cannot."""
        if self.load_report is None and self.load_error is None:
            try:
                self.load_report = self.request({"op": "load", "assignment": self.assignment,
                                                 "cells": self.cells}, self.limits.load_timeout,
                                                what="running the submission's cells")
            except StudentError as exc:
                self.load_error = exc
        if self.load_error is not None:
            raise self.load_error
        assert self.load_report is not None
        return self.load_report

    def request(self, message: dict[str, Any], timeout: float, what: str) -> Any:
        self._next_id += 1
        message = {**message, "id": self._next_id}
        try:
            protocol.write_frame(self._to_worker, protocol.encode(message))
            deadline = time.monotonic() + timeout
            while True:
                reply = protocol.decode(protocol.read_frame(self._from_worker, deadline))
                if isinstance(reply, dict) and reply.get("id") == self._next_id:
                    break
        except protocol.Timeout:
            self.kill()
            raise StudentError("timeout", f"{what} took longer than {timeout:g} s and was stopped") \
                from None
        except (protocol.Closed, BrokenPipeError):
            raise StudentError("crash", f"the submission's process died while {what} "
                               f"({self._exit_description()})") from None
        except protocol.ProtocolError as exc:
            self.kill()
            raise StudentError("bad_return", f"{what} sent back unusable data: {exc}") from None
        if reply.get("ok") is True:
            return reply.get("result")
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        raise StudentError(str(error.get("kind", "exception")),
                           str(error.get("message", "unknown error"))[:1000])

    def _exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "it stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            if name == "SIGKILL":
                return "killed by SIGKILL, often a memory or CPU limit"
            if name == "SIGXCPU":
                return "CPU time limit exceeded"
            return f"killed by {name}"
        return f"exit status {code}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the worker's whole process group and reap it."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        self.kill()
        for fd in (self._to_worker, self._from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        self._drain.join(timeout=2)
        import shutil

        shutil.rmtree(self.home, ignore_errors=True)


class StudentProxy:
    """The suites' handle on the submission. Restarts the worker after a crash or a timeout."""

    def __init__(self, *, assignment: str, cells: list[dict[str, Any]], limits: Limits,
                 scratch: Path):
        self.assignment = assignment
        self.cells = cells
        self.limits = limits
        self.mnist_dir = worker_mnist_dir(scratch)
        self.workers: list[Worker] = []
        self._worker: Worker | None = None
        self._load_error: StudentError | None = None

    def start(self) -> None:
        """Start a worker now, so that its start-up overlaps the grader's own."""
        if self._worker is None or not self._worker.alive:
            if self._worker is not None:
                self._worker.close()
            self._worker = Worker(assignment=self.assignment, cells=self.cells,
                                  limits=self.limits, mnist_dir=self.mnist_dir)
            self.workers.append(self._worker)

    def _ready(self) -> Worker:
        # A submission whose cells cannot be run once will not run the second time either.
        if self._load_error is not None:
            raise self._load_error
        self.start()
        assert self._worker is not None
        try:
            self._worker.load()
        except StudentError as exc:
            self._load_error = StudentError(exc.kind, f"the submission could not be loaded: {exc}")
            raise self._load_error from None
        return self._worker

    @property
    def load_report(self) -> dict[str, Any]:
        """What running the cells reported: ``{"notes": [...], "defined": [...]}``."""
        return self._ready().load_report or {}

    def call(self, name: str, *args: Any, mode: str = "plain", timeout: float | None = None,
             **kwargs: Any) -> Any:
        worker = self._ready()
        return worker.request({"op": "call", "mode": mode, "name": name, "args": list(args),
                               "kwargs": kwargs}, timeout or self.limits.call_timeout,
                              what=f"calling {name}")

    def task(self, name: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        worker = self._ready()
        return worker.request({"op": "task", "name": name, "kwargs": kwargs},
                              timeout or self.limits.task_timeout, what=f"running {name}")

    @property
    def output(self) -> str:
        return "\n".join(w.log.text() for w in self.workers if w.log.text())

    def close(self) -> None:
        for worker in self.workers:
            worker.close()
