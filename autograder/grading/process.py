"""One sandboxed process the grader talks to: start it, send requests, enforce time limits.

A :class:`Worker` is a submission's worker (role ``worker``) or the trusted evaluator (role
``evaluator``, which is given no submission; see ``autograder.evaluator``). Whatever goes wrong on
the student's side (an exception, a hang, a dead worker, an unusable return value) arrives as
:class:`StudentError` with a message for the report.

Everything that comes back is untrusted: replies are decoded into plain data (``protocol``), their
size is capped, error messages are cleaned of control characters and cut short, and the worker's
report on loading is checked before anyone reads it. While the worker answers a request it may ask
the grader for an evaluation (``{"evaluate": ...}``, a session's ``run``): :attr:`Worker.relay`
answers it, and the worker goes on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder import manifest
from autograder.grading import kept
from autograder.grading.hidden import secret_path
from autograder.worker import floor, protocol, sandbox, template
from autograder.worker.limits import Limits
from coursekit.data import mnist

# Variables the worker may inherit; everything else is scrubbed.
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED")
KINDS = ("not_implemented", "exception", "missing", "bad_return", "signature", "timeout", "crash",
         "exit")
MAX_SKIPPED_CELLS = 3  # cells that hang or end the process, left out on the next try
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: Any, limit: int = 1000) -> str:
    """Text from the worker, safe to show: no terminal escapes or control characters, cut short."""
    text = _CONTROL.sub("", str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class StudentError(Exception):
    """A failure on the student's side; ``kind`` says which and ``str()`` says it in words."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class SandboxRefused(RuntimeError):
    """The sandbox could not hold its floor (``autograder/worker/floor.py``): student code would
    have run as root, or could have read the answers. Nothing is graded; the message says why
    and what the machine needs."""


class Budget:
    """A submission's wall-clock time over all its workers (``Limits.wall_seconds``), counted
    from the first worker's start: each worker is killed when it is spent, and none starts
    after."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.start: float | None = None

    def left(self) -> float:
        if self.start is None:
            self.start = time.monotonic()
        return self.seconds - (time.monotonic() - self.start)

    @property
    def spent(self) -> bool:
        return self.start is not None and self.left() <= 0.5

    def error(self) -> StudentError:
        return StudentError("timeout", f"the submission used up its {self.seconds:g} s of "
                            "wall-clock time, so the grader stopped it")

    def bound(self, timeout: float) -> float:
        """``timeout``, or less: what is left of the budget; raises once it is spent."""
        left = self.left()
        if left <= 0.5:
            raise self.error()
        return min(timeout, left)

    def explain(self, exc: StudentError) -> StudentError:
        """The budget's error for a worker that timed out or died because it was spent."""
        return self.error() if exc.kind in ("timeout", "crash") and self.spent else exc


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
        raw = (bytes(self.head).decode("utf-8", "replace") + middle
               + bytes(self.tail).decode("utf-8", "replace"))
        return clean(raw, limit=self.cap + 200)


def grader_data() -> list[str]:
    """The grader's own data no worker may read: the MNIST cache (with the test labels), the
    course secret's file, the reference answers kept on disk, and what ``AUTOGRADER_HIDE``
    names (the Gradescope package's folder; see ``worker/floor.py``)."""
    named = [p for p in os.environ.get(floor.ENV_HIDE, "").split(":") if p]
    return [str(mnist.cache_dir()), str(mnist.cache_dir() / mnist.TEST_LABELS),
            str(secret_path()), str(kept.folder()), *named]


def worker_mnist_dir(root: Path) -> Path:
    """A directory holding MNIST without the test labels, for the worker's eyes only: hard links
    to the grader's verified files, stamped as checked (``mnist.lend``), so that the worker does
    not hash them again."""
    source = mnist.ensure(names=mnist.NOTEBOOK_FILES)
    target = root / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # a worker under its own uid must be able to reach (not list) it
        os.chmod(root, 0o711)
    for name in mnist.NOTEBOOK_FILES:
        link = target / name
        if not link.exists():
            try:
                os.link(source / name, link)
            except OSError:
                link.write_bytes((source / name).read_bytes())
    mnist.lend(target, mnist.NOTEBOOK_FILES)
    return target


def _check_load_report(report: Any) -> dict[str, Any]:
    """The worker's account of running the cells, as plain notes, or StudentError."""
    ok = (isinstance(report, dict) and isinstance(report.get("notes"), list)
          and isinstance(report.get("defined"), list)
          and all(isinstance(n, dict) and type(n.get("index")) is int for n in report["notes"]))
    if not ok:
        raise StudentError("bad_return", "running the submission's cells sent back an unusable "
                           "report")
    notes = [{"index": n["index"], "error": clean(n.get("error", ""), 500)}
             for n in report["notes"][:50]]
    return {"notes": notes, "defined": [clean(d, 100) for d in report["defined"][:1000]]}


F_SETPIPE_SZ = 1031
PIPE_BYTES = 1 << 20  # a batch of images (50 x 784 floats, 157 KB) crosses in one write


def _widen(fd: int) -> None:
    """Let a pipe hold a whole message of a session's run (the default holds 64 KB, so a batch
    would cross in pieces, each a wake-up of the other side); where the system refuses, as is."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_BYTES)


class Worker:
    """One sandboxed worker process running one submission (see ``autograder.worker.sandbox``)."""

    def __init__(self, *, assignment: str, cells: list[dict[str, Any]], limits: Limits,
                 mnist_dir: Path | None, skipped: dict[int, str] | None = None,
                 role: str = "worker", wall_seconds: float | None = None):
        self.assignment = assignment
        self.wall_seconds = limits.wall_seconds if wall_seconds is None else wall_seconds
        self.role = role
        # answers the worker's requests for an evaluation while it runs a task; see the module
        self.relay: Callable[[Any], Any] | None = None
        self.cells = [c for c in cells if c["index"] not in (skipped or {})]
        self.skipped = dict(skipped or {})  # cells left out, with why: they open the load notes
        self.limits = limits
        self.log = CappedLog(limits.output_bytes)
        self._next_id = 0
        self.current_cell: int | None = None  # the cell running when the worker last spoke
        self.ended = ""  # how the process ended, once it has
        self._isolation: dict[str, Any] | None = None
        self.refusal: SandboxRefused | None = None  # the floor did not hold: nothing is graded
        self.home = Path(tempfile.mkdtemp(prefix="autograder-worker-"))
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        for fd in (self._to_worker, from_worker_w):
            _widen(fd)
        self._status, status_w = os.pipe()
        lifeline_r, self._lifeline = os.pipe()  # closing our end ends the worker's whole tree
        env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
        env.update({
            "HOME": str(self.home), "TMPDIR": str(self.home), "MPLBACKEND": "Agg",
            "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0",
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
            mnist.ENV_SOURCES: "",
        })
        if mnist_dir is not None:
            env[mnist.ENV_DIR] = str(mnist_dir)
        lend = [str(mnist_dir)] if mnist_dir is not None else []
        hide = grader_data()
        output_r, output_w = os.pipe()
        child_fds = (to_worker_r, from_worker_w, status_w, lifeline_r, output_w)
        try:
            self.process = self._fork(env, lend, hide, child_fds)
            if self.process is None:
                command = sandbox.command(fds=(to_worker_r, from_worker_w), status_fd=status_w,
                                          lifeline_fd=lifeline_r, home=str(self.home),
                                          lend=lend, hide=hide, limits=limits, role=role,
                                          wall_seconds=self.wall_seconds)
                self.process = subprocess.Popen(
                    command, pass_fds=child_fds[:4], stdin=subprocess.DEVNULL, stdout=output_w,
                    stderr=output_w, cwd=self.home, env=env, start_new_session=True)
        finally:
            for fd in child_fds:
                os.close(fd)
        self._output = os.fdopen(output_r, "rb", buffering=0)
        self._drain = threading.Thread(target=self._drain_output, daemon=True)
        self._drain.start()
        self.load_report: dict[str, Any] | None = None
        self.load_error: StudentError | None = None

    def _fork(self, env: dict[str, str], lend: list[str], hide: list[str],
              fds: tuple[int, ...]) -> template.Launched | None:
        """The worker's launcher forked from this process's warm template, or None if there
        is none (then it starts afresh)."""
        warm = template.shared(tensorflow=manifest.uses_tensorflow(self.assignment))
        if warm is None:
            return None
        config = sandbox.config(home=str(self.home), lend=lend, hide=hide, limits=self.limits,
                                role=self.role, wall_seconds=self.wall_seconds)
        try:
            return warm.spawn(config=config, env=env, cwd=str(self.home),
                              fds=dict(zip(("request", "reply", "status", "lifeline", "output"),
                                           fds, strict=True)))
        except template.Unavailable as exc:
            template.refuse(exc)
            return None

    def _drain_output(self) -> None:
        while chunk := self._output.read(65536):
            self.log.feed(chunk)

    @property
    def isolation(self) -> dict[str, Any]:
        """What the sandbox achieved (``processes``, ``network``, ``files``, ``user``, ``notes``),
        as reported by the launcher before any student code ran; ``{}`` if it said nothing."""
        if self._isolation is None:
            data, deadline = b"", time.monotonic() + 30
            while self._status >= 0 and time.monotonic() < deadline:
                if not select.select([self._status], [], [], deadline - time.monotonic())[0]:
                    break
                chunk = os.read(self._status, 4096)
                if not chunk:
                    break
                data += chunk
            try:
                parsed = json.loads(data.decode("utf-8", "replace") or "{}")
            except ValueError:
                parsed = {}
            self._isolation = parsed if isinstance(parsed, dict) else {}
        return self._isolation

    def check_sandbox(self) -> None:
        """Raise :class:`SandboxRefused` if the launcher refused to run the worker below the
        floor, or :class:`StudentError` if it could not build the sandbox at all."""
        if "error" not in self.isolation:
            return
        why = clean(self.isolation["error"], 600)
        if self.isolation.get("refused") is True:
            self.refusal = SandboxRefused(f"the sandbox refused to run the submission: {why}")
            raise self.refusal
        raise StudentError("crash", f"the grader could not set up the sandbox for the "
                           f"submission: {why}")

    def load(self) -> dict[str, Any]:
        """Run the submission's cells in the worker (once); raises StudentError if it cannot."""
        if self.load_report is None and self.load_error is None:
            try:
                self.check_sandbox()
                report = self.request({"op": "load", "assignment": self.assignment,
                                       "cells": self.cells}, self.limits.load_timeout,
                                      what="running the submission's cells")
                self.load_report = _check_load_report(report)
                self.load_report["notes"][:0] = [{"index": i, "error": why}
                                                 for i, why in sorted(self.skipped.items())]
            except StudentError as exc:
                self.load_error = exc
        if self.load_error is not None:
            raise self.load_error
        assert self.load_report is not None
        return self.load_report

    def _read_reply(self, deadline: float) -> dict[str, Any]:
        limit = self.limits.reply_bytes + protocol.MAX_HEADER
        while True:
            reply = protocol.decode(protocol.read_frame(self._from_worker, deadline, limit))
            if not isinstance(reply, dict):
                raise protocol.ProtocolError("a reply that is not a message")
            if reply.get("id") != self._next_id:
                continue  # a stale reply, e.g. written by a process the submission forked
            if "progress" in reply:
                self.current_cell = reply["progress"] if type(reply["progress"]) is int else None
                continue
            if "evaluate" in reply:  # the worker waits for the answer, then goes on
                self._answer_evaluation(reply["evaluate"])
                continue
            return reply

    def _answer_evaluation(self, asked: Any) -> None:
        answer: dict[str, Any] = {"id": self._next_id}
        if self.relay is None:
            answer["evaluate_error"] = "no session of the grader's is open here"
        else:
            try:
                answer["evaluated"] = self.relay(asked)
            except StudentError as exc:
                answer["evaluate_error"] = str(exc)
        protocol.write_frame(self._to_worker, protocol.encode(answer))

    def request(self, message: dict[str, Any], timeout: float, what: str) -> Any:
        self.check_sandbox()
        self._next_id += 1
        message = {**message, "id": self._next_id}
        try:
            protocol.write_frame(self._to_worker, protocol.encode(message))
            reply = self._read_reply(time.monotonic() + timeout)
        except protocol.Timeout:
            self.kill()
            raise StudentError("timeout", f"{what} took longer than {timeout:g} s and was stopped") \
                from None
        except (protocol.Closed, BrokenPipeError):
            self.ended = self._exit_description()
            raise StudentError("crash", f"the submission's process died while {what} "
                               f"({self.ended})") from None
        except protocol.ProtocolError as exc:
            self.kill()
            raise StudentError("bad_return", f"{what} sent back unusable data: {exc}") from None
        if reply.get("ok") is True:
            return reply.get("result")
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        kind = error.get("kind") if error.get("kind") in KINDS else "exception"
        raise StudentError(str(kind), clean(error.get("message", "unknown error")))

    def _exit_description(self) -> str:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "it stopped answering"
        if code >= 0:
            return f"it ended itself with exit status {code}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"killed by signal {-code}"
        return {
            "SIGKILL": "killed by SIGKILL, often a memory or CPU limit",
            "SIGXCPU": f"it used more than the {self.limits.cpu_seconds} s of CPU time allowed",
            "SIGSEGV": "it crashed with a segmentation fault",
            "SIGABRT": "it aborted, often TensorFlow running out of memory",
        }.get(name, f"killed by {name}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def release(self) -> None:
        """Tell the launcher to end the worker (see :meth:`kill`), and do not wait: several
        workers released first end side by side."""
        if self._lifeline >= 0:
            os.close(self._lifeline)
            self._lifeline = -1

    def kill(self) -> None:
        """End the worker and everything it started, and reap it.

        Closing the lifeline tells the launcher to kill the worker's tree and to exit once
        nothing is left; should the launcher not exit, its process group is killed.
        """
        self.release()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            if isinstance(self.process, template.Launched):
                self.process.kill_group()
            else:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        for name in ("_to_worker", "_from_worker", "_status"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)
        self._drain.join(timeout=2)
        if not self._drain.is_alive():
            self._output.close()
        if isinstance(self.process, template.Launched):
            self.process.close()
        shutil.rmtree(self.home, ignore_errors=True)


