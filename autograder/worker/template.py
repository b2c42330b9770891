"""The grader's side of the warm template (``zygote``): start it, ask it for forks, and share
one per process.

:class:`Template` is a handle on a running template: :meth:`Template.spawn` forks a worker's
launcher (``sandbox.launch``), :meth:`Template.fork_delegate` a delegate (``delegate``).
:func:`shared` gives this process's template, started at the first call; where there can be
none (no descriptor passing, a template that refused to fork) it says so once and workers start
afresh (``python -m autograder.worker.sandbox``). :func:`delegate` runs a command's work in a
fork and passes its exit status on.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from typing import Any

from autograder.worker.forking import (
    ENV_DELEGATE,
    ENV_IDLE,
    ENV_WARM,
    FDS,
    IDLE_EXIT,
    KEEP_ENV,
    MAX_MESSAGE,
    WORKER_ENV,
    Unavailable,
    delegated,
    idle_seconds,
    python_module,
)
from autograder.worker.forks import Delegate, Launched

__all__ = ["Delegate", "Launched", "Template", "Unavailable", "delegate", "discard",
           "fork_delegate", "refuse", "shared", "start"]


class Template:
    """The grader's handle on a running template (see the module's documentation)."""

    START_TIMEOUT = 120.0

    def __init__(self, command: list[str] | None = None, *, wait: bool = True,
                 cwd: str = "/", tensorflow: bool = True) -> None:
        """Start a template in ``cwd`` (``command``, given the socket's descriptor number as its
        last argument, stands in for ``python -m autograder.worker.zygote`` in tests) and, if
        ``wait``, wait until it is ready (else the first request waits). Without
        ``tensorflow`` it imports NumPy and matplotlib but not TensorFlow (for an assignment
        graded without it: a fork that needs TensorFlow after all imports it itself)."""
        if not hasattr(socket, "send_fds") or not hasattr(os, "pidfd_open"):
            raise Unavailable("this system cannot pass descriptors or open pidfds")
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
        env.update(WORKER_ENV, **{ENV_IDLE: str(idle_seconds())})
        self.tensorflow = tensorflow
        if not tensorflow:
            env[ENV_WARM] = "numpy"
        try:
            self.process = subprocess.Popen(
                [*(command or python_module("autograder.worker.zygote")), str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd, env=env,
                start_new_session=True)
        finally:
            theirs.close()
        self._lock = threading.Lock()
        self._parent = 0
        self.threads = 0  # how many threads it runs, once ready
        self._ready = False
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait until the template has imported everything; raises :class:`Unavailable`."""
        if not self._ready:
            self.threads = int(self._reply(self.START_TIMEOUT, "start")[0].get("threads", 0))
            self._ready = True

    @classmethod
    def attached(cls, sock: socket.socket) -> Template:
        """The handle of a delegate on the template it was forked from (its parent)."""
        template = cls.__new__(cls)
        template._sock, template.process, template._lock = sock, None, threading.Lock()
        template._parent, template.threads, template._ready = os.getppid(), 0, True
        template.tensorflow = "tensorflow" in sys.modules  # the delegate has its imports
        return template

    def _reply(self, timeout: float, what: str) -> tuple[dict[str, Any], list[int]]:
        if not select.select([self._sock], [], [], timeout)[0]:
            self.close()
            raise Unavailable(f"the template did not answer ({what}) within {timeout:g} s")
        try:
            data, fds, _flags, _addr = socket.recv_fds(self._sock, MAX_MESSAGE, 1)
        except OSError as exc:
            raise self._gone(f"the template's socket failed ({exc})") from None
        message = json.loads(data.decode("utf-8")) if data else {}
        if not message.get("ok"):
            for fd in fds:
                os.close(fd)
            raise self._gone(message.get("error") or f"the template ended ({what})")
        return message, fds

    def _gone(self, reason: str) -> Unavailable:
        """Close this handle; the error to raise (``idle`` if the template had ended unused)."""
        idle = False
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                idle = self.process.wait(timeout=5) == IDLE_EXIT
        self.close()
        if idle:
            reason = "the template had ended after a while unused"
        return Unavailable(reason, idle=idle)

    @property
    def alive(self) -> bool:
        if self._sock.fileno() < 0:
            return False
        if self.process is None:
            return os.getppid() == self._parent
        return self.process.poll() is None

    def spawn(self, *, config: dict[str, Any], env: dict[str, str], cwd: str,
              fds: dict[str, int]) -> Launched:
        """Fork a launcher with ``config`` (see ``sandbox.command``) and the pipe ends ``fds``
        (named as in ``FDS`` but ``exit``, which this makes); raises :class:`Unavailable`."""
        exit_r, exit_w = os.pipe()
        passed = [*(fds[name] for name in FDS if name != "exit"), exit_w]
        passed.insert(FDS.index("exit"), passed.pop())
        request = {"config": config, "env": env, "cwd": cwd}
        try:
            with self._lock:
                self.wait_ready()
                try:
                    socket.send_fds(self._sock, [json.dumps(request).encode()], passed)
                except OSError as exc:
                    raise self._gone(f"the template is gone ({exc})") from None
                message, got = self._reply(30.0, "fork")
        except BaseException:
            os.close(exit_r)
            raise
        finally:
            os.close(exit_w)
        if len(got) != 1:
            os.close(exit_r)
            raise Unavailable("the template sent no pidfd")
        return Launched(int(message["pid"]), got[0], exit_r)

    def fork_delegate(self, call: str, args: list[Any], extras: tuple[int, ...] = (), *,
                      stdio: tuple[int, int, int] | None = None,
                      cwd: str | None = None) -> Delegate:
        """Start ``call`` (``"module:function"``) with ``args`` in a fork of the template, as this
        process: its environment, folder (or ``cwd``), arguments and standard streams (or
        ``stdio``); ``extras`` are descriptors it gets too (their numbers in the fork are passed
        after ``args``). Raises :class:`Unavailable` if the template cannot fork it."""
        payload_r, payload_w = os.pipe()
        exit_r, exit_w = os.pipe()
        served, mine = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        null = os.open(os.devnull, os.O_RDWR)
        stdio = stdio or tuple(fd if _is_open(fd) else null for fd in (0, 1, 2))
        passed = [*stdio, payload_r, exit_w, served.fileno(), mine.fileno(), *extras]
        try:
            with self._lock:
                self.wait_ready()
                try:
                    socket.send_fds(self._sock, [json.dumps({"op": "delegate"}).encode()], passed)
                except OSError as exc:
                    raise self._gone(f"the template is gone ({exc})") from None
                message, got = self._reply(30.0, "fork")
        except BaseException:
            for fd in (payload_w, exit_r):
                os.close(fd)
            raise
        finally:
            for fd in (payload_r, exit_w, null):
                os.close(fd)
            served.close()
            mine.close()
        payload = json.dumps({"env": {**os.environ, ENV_DELEGATE: "1"}, "cwd": cwd or os.getcwd(),
                              "argv": sys.argv, "path": sys.path, "call": call,
                              "args": args}).encode()
        with contextlib.suppress(BrokenPipeError):
            os.write(payload_w, struct.pack(">Q", len(payload)))
            view = memoryview(payload)
            while view:
                view = view[os.write(payload_w, view):]
        return Delegate(int(message["pid"]), got[0] if got else -1, exit_r, payload_w)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


# This process's templates, by (pid, whether it imported TensorFlow): one that did serves
# every request, one that did not (``start(tensorflow=False)``) only those without TensorFlow.
_shared: dict[tuple[int, bool], Template] = {}
_refused: list[str] = []
_guard = threading.Lock()


def attach(sock: socket.socket) -> None:
    """In a delegate: its template is the one it was forked from, reached through ``sock``
    (whose imports the delegate has)."""
    template = Template.attached(sock)
    _shared[(os.getpid(), template.tensorflow)] = template


def _find(tensorflow: bool) -> Template | None:
    pid = os.getpid()
    found = _shared.get((pid, True))
    if not tensorflow and (found is None or not found.alive):
        found = _shared.get((pid, False))
    return found if found is not None and found.alive else None


def enabled() -> bool:
    """Whether workers come from a template (``AUTOGRADER_TEMPLATE=0`` turns it off)."""
    return os.environ.get("AUTOGRADER_TEMPLATE", "1") != "0" and sys.platform.startswith("linux")


def shared(*, wait: bool = True, tensorflow: bool = True) -> Template | None:
    """This process's template, started at the first call and, if ``wait``, ready; None where
    there can be none (the first refusal is said on stderr once, and workers then start
    afresh). ``tensorflow=False``: the forks need no TensorFlow (an assignment graded without
    it, ``manifest``), and a template that skipped its import will do; one that imported it
    serves either way."""
    if not enabled() or _refused:
        return None
    with _guard:
        template = _find(tensorflow)
        if template is None:
            try:
                template = _shared[(os.getpid(), tensorflow)] = Template(wait=False,
                                                                         tensorflow=tensorflow)
            except (Unavailable, OSError) as exc:
                refuse(exc if isinstance(exc, Unavailable) else str(exc))
                return None
    if wait:
        try:
            with template._lock:
                template.wait_ready()
        except Unavailable as exc:
            refuse(exc)
            return None
    return template


def start(*, tensorflow: bool = True) -> None:
    """Start this process's template and go on while it imports TensorFlow (a command checks
    its input meanwhile); nothing in a delegate, or where there is no template. A command for
    one assignment graded without TensorFlow (``manifest``) passes ``tensorflow=False``: the
    template then skips its import, three seconds of the command's start."""
    if not delegated():
        shared(wait=False, tensorflow=tensorflow)


def discard() -> None:
    """End the template this process started, if any: a command that found nothing to grade
    does not leave it to finish TensorFlow's import."""
    with _guard:
        mine = [key for key in _shared if key[0] == os.getpid()]
        templates = [_shared.pop(key) for key in mine]
    for template in templates:
        if template.process is not None:
            template.close()


def refuse(reason: str | Unavailable) -> None:
    """Give up on templates in this process, saying why once; but a template that had ended
    unused (see :func:`serve`) is no reason: the next request starts another."""
    if isinstance(reason, Unavailable) and reason.idle:
        return
    if not _refused:
        _refused.append(str(reason))
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"autograder: warning: no warm template ({reason}); every worker "
                             "starts afresh, importing TensorFlow\n")


def fork_delegate(call: str, args: list[Any], extras: tuple[int, ...] = (), *,
                  stdio: tuple[int, int, int] | None = None, cwd: str | None = None,
                  tensorflow: bool = True) -> Delegate | None:
    """``call(*args)`` started in a fork of this process's template (see
    :meth:`Template.fork_delegate`; ``tensorflow`` as for :func:`shared`); None where there is
    no template, or in a delegate already: the caller then does the work another way."""
    if delegated():
        return None
    template = shared(tensorflow=tensorflow)
    if template is None:
        return None
    try:
        return template.fork_delegate(call, args, extras, stdio=stdio, cwd=cwd)
    except Unavailable as exc:
        refuse(exc)
        return None


def exit_status(code: int) -> int:
    """A fork's exit code as a shell gives it: 128 + N if it was killed by signal N."""
    return code if code >= 0 else 128 - code


def delegate(call: str, args: list[Any], *, tensorflow: bool = True) -> int | None:
    """Run ``call(*args)`` in a fork of this process's template (see :func:`fork_delegate`) and
    wait for it, passing on SIGINT, SIGTERM and SIGHUP; return its exit status, or None where
    there is no template (the caller then does the work itself).

    A command that grades delegates so that TensorFlow is imported once, by the template, and
    the grading process is a fork of it: the command itself never imports TensorFlow.
    """
    fork = fork_delegate(call, args, tensorflow=tensorflow)
    if fork is None:
        return None
    saved = {}
    try:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                saved[sig] = signal.signal(sig, lambda signum, _frame: fork.signal(signum))
        code = fork.wait()
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        fork.close()
    if code is None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write("autograder: error: the grading process ended, but its exit "
                             "status was lost with the warm template\n")
        return 1
    return exit_status(code)
