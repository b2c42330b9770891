"""A warm template for workers: TensorFlow imported once, each worker a fork of it.

Importing TensorFlow takes seconds of CPU; forking a process that has imported it takes a tenth
of one. So a grader starts one *template* (a zygote) and asks it for each worker::

    grader --- template (TensorFlow, NumPy and the worker's code; nothing else)
                 `-- launcher (forked per worker; builds the sandbox exactly as ``sandbox``)
                       `-- init --- server --- the submission

The template is started with ``python -m autograder.worker.zygote FD``, in a fresh interpreter
with the worker's scrubbed environment, so it never holds anything of the grader: no course
secret, no suite, no reference, no test labels, no submission, not even the grader's environment
(a process can read all of its own memory, freed memory included, and a fork inherits it). It
imports TensorFlow and runs no TensorFlow op: TensorFlow starts its thread pools lazily, and a
process whose pools run must not fork. Before every fork it counts its threads; if there are
more than just after the import, it refuses, says why, and exits, and the grader falls back to
starting each worker afresh (``python -m autograder.worker.sandbox``).

Python's cyclic garbage collector is off in the template and its objects are frozen
(``gc.freeze``) before each fork; each fork turns the collector on again. Otherwise every
collection in a fork walks the 300,000 objects that importing TensorFlow made, touching (and
so copying) the pages they share with the template: a grade then costs 0.5 s more CPU.

The grader talks to it over a Unix socket pair: a request is the sandbox's configuration (as for
``sandbox.command``) plus the environment, the working folder, and the worker's pipe ends passed as
file descriptors; the reply is the launcher's pid with a pidfd for it. The launcher reports the
server's exit status on the ``exit`` pipe, since the grader is not its parent.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

FDS = ("request", "reply", "status", "lifeline", "exit", "output")  # as passed, in this order
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ")
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "OMP_NUM_THREADS": "1",
              "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
_MAX_MESSAGE = 1 << 20
_warm_threads: list[int] = []  # how many threads ran once everything was imported


class Unavailable(RuntimeError):
    """No template: it could not start, or it refused to fork (the reason is the message).
    ``idle``: it had ended by itself after a while unused; the next request starts another."""

    def __init__(self, reason: str, *, idle: bool = False):
        super().__init__(reason)
        self.idle = idle


IDLE_SECONDS = 600.0  # a template unused this long, with no fork of it running, ends
IDLE_EXIT = 75  # its exit status then
ENV_IDLE = "AUTOGRADER_TEMPLATE_IDLE"


def idle_seconds() -> float:
    """How long a template may stay unused (``AUTOGRADER_TEMPLATE_IDLE``, default 600 s; 0:
    for ever)."""
    try:
        return max(0.0, float(os.environ.get(ENV_IDLE, IDLE_SECONDS)))
    except ValueError:
        return IDLE_SECONDS


def threads() -> int:
    """How many threads this process runs (from the kernel, so TensorFlow's count too)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


# --- the template's side ----------------------------------------------------------------------

def warm() -> None:
    """Import what every worker needs, and run nothing of it."""
    import numpy  # noqa: F401

    from autograder.worker import harness, sandbox, server  # noqa: F401
    from coursekit.data import input_data  # noqa: F401

    harness.tensorflow()
    for name in ("tf_basics", "backprop", "gradient_descent", "mlp_mnist"):
        __import__(f"autograder.tasks.{name}")
    _warm_threads.append(threads())


def _receive(sock: socket.socket, most: int) -> tuple[dict[str, Any], list[int]] | None:
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, _MAX_MESSAGE, most)
    except OSError:
        return None
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    try:
        message = json.loads(data.decode("utf-8"))
    except ValueError:
        message = {}
    return (message if isinstance(message, dict) else {}), fds


def _fresh_process(state: _Loop, keep: set[int]) -> None:
    """In a fork of the template: its own session, the template's signal handling and sockets
    gone, only ``keep`` (and 0, 1, 2) open, and new random seeds (a fork repeats the
    template's)."""
    signal.set_wakeup_fd(-1)  # before anything: the template's wake-up pipe is closed below
    gc.enable()  # for what the fork makes; the template's objects stay frozen (see the module)
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for client in state.clients:
        client.close()
    for entry in os.listdir("/proc/self/fd"):
        if int(entry) not in keep | {0, 1, 2}:
            with contextlib.suppress(OSError):
                os.close(int(entry))
    import tempfile

    import numpy as np

    tempfile.tempdir = None
    random.seed()
    np.random.seed()


def _become_launcher(state: _Loop, request: dict[str, Any], fds: list[int]) -> None:
    """In the fork: leave the template behind, then build the sandbox as ``sandbox.main`` does."""
    from autograder.worker import sandbox

    try:
        given = dict(zip(FDS, fds, strict=True))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(given["output"], 1)
        os.dup2(given["output"], 2)
        _fresh_process(state, {fd for name, fd in given.items() if name != "output"})
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.path[0] = request["cwd"]  # as `python -m` started there would have it
        sys.argv = [sys.executable, "-m", "autograder.worker.server"]
        config = dict(request["config"])
        config.update(fds=[given["request"], given["reply"]], status_fd=given["status"],
                      lifeline_fd=given["lifeline"], exit_fd=given["exit"])
        sandbox.launch(config, forked=True)
    except BaseException as exc:  # never return into the template's loop
        with contextlib.suppress(Exception):
            os.write(2, f"autograder template: the worker could not start: {exc!r}\n".encode())
    os._exit(70)


class _Loop:
    """The template's state: the sockets it serves, and the delegates whose end it reports."""

    def __init__(self, sock: socket.socket):
        self.main = sock
        self.clients = [sock]
        self.exits: dict[int, int] = {}  # a delegate's pid -> the pipe its exit status goes to
        self.children: set[int] = set()  # launchers and delegates not reaped yet
        self.used = time.monotonic()  # when a request last came, or a fork last ran
        self.baseline = _warm_threads[-1]
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def reap(self) -> None:
        with contextlib.suppress(ChildProcessError):
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    return
                self.children.discard(pid)
                self.used = time.monotonic()
                exit_w = self.exits.pop(pid, None)
                if exit_w is not None:
                    with contextlib.suppress(OSError):
                        os.write(exit_w, struct.pack("i", status))
                    os.close(exit_w)

    def refuse_if_threads(self, sock: socket.socket) -> None:
        now = threads()
        if now > self.baseline:
            reason = (f"TensorFlow's thread pools have started in the template ({now} threads, "
                      f"{self.baseline} after the import): it must not fork")
            with contextlib.suppress(OSError):
                sock.send(json.dumps({"ok": False, "error": reason}).encode())
            raise SystemExit(reason)

    def answer(self, sock: socket.socket, pid: int) -> None:
        pidfd = os.pidfd_open(pid)  # not reaped yet: the pid is still this child's
        try:
            socket.send_fds(sock, [json.dumps({"ok": True, "pid": pid}).encode()], [pidfd])
        except OSError:
            pass  # that grader is gone; the child's lifeline ends it
        finally:
            os.close(pidfd)

    def idle_for(self) -> float:
        """Seconds since the template was last used (0 while a fork of it runs)."""
        return 0.0 if self.children else time.monotonic() - self.used

    def spawn(self, sock: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        gc.freeze()  # see the module's documentation
        pid = os.fork()
        if pid == 0:
            _become_launcher(self, request, fds)
        self.children.add(pid)
        for fd in fds:
            os.close(fd)
        self.answer(sock, pid)

    def delegate(self, sock: socket.socket, fds: list[int]) -> None:
        given = dict(zip(DELEGATE_FDS, fds[:len(DELEGATE_FDS)], strict=True))
        extras = fds[len(DELEGATE_FDS):]
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            _become_delegate(self, given, extras)
        self.children.add(pid)
        for fd in extras:
            os.close(fd)
        for name, fd in given.items():
            if name not in ("exit", "template"):
                os.close(fd)
        self.exits[pid] = given["exit"]
        self.clients.append(socket.socket(fileno=given["template"]))
        self.answer(sock, pid)

    def handle(self, sock: socket.socket) -> bool:
        """One request from ``sock``; False once the grader that started the template is gone."""
        received = _receive(sock, max(len(FDS), len(DELEGATE_FDS) + MAX_EXTRAS))
        if received is None:
            if sock is self.main:
                return False
            self.clients.remove(sock)
            sock.close()
            return True
        request, fds = received
        self.used = time.monotonic()
        self.refuse_if_threads(sock)
        op = request.get("op", "spawn")
        if op == "spawn" and len(fds) == len(FDS):
            self.spawn(sock, request, fds)
        elif op == "delegate" and len(DELEGATE_FDS) <= len(fds) <= len(DELEGATE_FDS) + MAX_EXTRAS:
            self.delegate(sock, fds)
        else:
            for fd in fds:
                os.close(fd)
            with contextlib.suppress(OSError):
                sock.send(json.dumps({"ok": False, "error": "bad request"}).encode())
        return True


def serve(sock: socket.socket, idle: float = IDLE_SECONDS) -> None:
    """Fork a launcher (or a delegate) for each request until the grader that started the
    template closes its end, or until nothing has used it for ``idle`` seconds (if more than 0;
    after ``warm``). A grader in a long-lived process (nbgrader in a Jupyter server) then holds no
    idle template, and starts another when it needs one."""
    loop = _Loop(sock)
    while True:
        loop.reap()
        if 0 < idle <= loop.idle_for():
            raise SystemExit(IDLE_EXIT)
        wait = min(5.0, max(0.05, idle - loop.idle_for())) if idle > 0 else 5.0
        ready = select.select([loop.wake_r, *loop.clients], [], [], wait)[0]
        for ready_one in ready:
            if ready_one == loop.wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(loop.wake_r, 4096)
            elif not loop.handle(ready_one):
                return


# --- a delegate: the grader's own work, in a fork of the template ------------------------------

ENV_DELEGATE = "AUTOGRADER_IN_DELEGATE"
DELEGATE_FDS = ("stdin", "stdout", "stderr", "payload", "exit", "template", "mine")
MAX_EXTRAS = 4  # more descriptors a delegate may be given (a batch grader: its job pipe)
_delegated: list[bool] = []


def delegated() -> bool:
    """Whether this process is a delegate, or was started by one: it must not delegate again."""
    return bool(_delegated) or os.environ.get(ENV_DELEGATE) == "1"


def _read_payload(fd: int) -> dict[str, Any]:
    size = struct.unpack(">Q", _read_exactly(fd, 8))[0]
    return json.loads(_read_exactly(fd, size).decode("utf-8"))


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the grader closed the payload pipe")
        data += chunk
    return data


def _become_delegate(state: _Loop, given: dict[str, int], extras: list[int]) -> None:
    """In the fork: become the command that asked, with its environment, folder and arguments,
    and call what it asked for (``extras``, the descriptors it passed besides, come last).

    What the command holds (its environment with the course secret, say) is read from the
    payload pipe here, after the fork: the template never sees it.
    """
    code = 70
    try:
        for number, name in enumerate(("stdin", "stdout", "stderr")):
            os.dup2(given[name], number)
        _fresh_process(state, {given["payload"], given["mine"], *extras})
        payload = _read_payload(given["payload"])
        os.environ.clear()
        os.environ.update(payload["env"])
        os.chdir(payload["cwd"])
        sys.argv = list(payload["argv"])
        sys.path[:] = list(payload["path"])
        unbuffered = bool(payload["env"].get("PYTHONUNBUFFERED"))
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.reconfigure(line_buffering=stream.isatty(), write_through=unbuffered)
        _shared[os.getpid()] = Template.attached(socket.socket(fileno=given["mine"]))
        _delegated.append(True)
        lifeline = threading.Thread(target=_end_with_the_grader, args=(given["payload"],),
                                    daemon=True, name="autograder-lifeline")
        lifeline.start()
        module, _, name = payload["call"].partition(":")
        function = getattr(__import__(module, fromlist=[name]), name)
        try:
            function(*payload["args"], *extras)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                sys.stderr.write(f"{exc.code}\n")
    except BaseException:
        import traceback

        with contextlib.suppress(Exception):
            traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _end_with_the_grader(payload_fd: int) -> None:
    """The grader keeps the payload pipe open while it waits: its end means the grader ended."""
    with contextlib.suppress(OSError):
        while os.read(payload_fd, 4096):
            pass
    os._exit(1)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    # No PR_SET_PDEATHSIG: it follows the thread that started the template, not the grader.
    # The grader's end of the socket closes when the grader ends, however, and then so does this.
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    gc.disable()  # for good, in the template (see the module's documentation)
    idle = idle_seconds()
    warm()
    sock.send(json.dumps({"ok": True, "threads": threads()}).encode())
    try:
        serve(sock, idle)
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    os._exit(0)


# --- the grader's side ------------------------------------------------------------------------

class _Forked:
    """A fork of the template whose exit status arrives on a pipe (its parent is the template,
    not us): 4 bytes of ``waitpid`` status, then the end of the pipe."""

    def __init__(self, pid: int, pidfd: int, exit_r: int):
        self.pid = pid
        self._pidfd = pidfd
        self._exit_r = exit_r
        self._status = b""
        self._ended = False
        self._exitcode: int | None = None  # None once ended: the status was lost

    UNTIL_END = False  # whether ended means the pipe's end too, not just the status read

    def _collect(self, timeout: float | None) -> bool:
        """Read the status, waiting at most ``timeout`` seconds in all; False if it is still
        running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ended and self._exit_r >= 0:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not select.select([self._exit_r], [], [], left)[0]:
                return False
            chunk = os.read(self._exit_r, max(1, 4 - len(self._status)))
            if len(self._status) < 4:
                self._status += chunk
            if len(self._status) == 4 and self._exitcode is None:
                self._exitcode = os.waitstatus_to_exitcode(struct.unpack("i", self._status)[0])
            if not chunk or (len(self._status) == 4 and not self.UNTIL_END):
                self._ended = True
                if len(self._status) < 4:
                    self._lost(left)
        return True

    def _lost(self, timeout: float | None) -> None:
        """The pipe ended without a status."""

    def close(self) -> None:
        for name in ("_pidfd", "_exit_r"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


class Launched(_Forked):
    """A worker's launcher forked by the template: what ``subprocess.Popen`` gives, for it.
    It writes the status itself, just before it exits: ended is when its end of the pipe
    closes."""

    UNTIL_END = True

    def _lost(self, timeout: float | None) -> None:
        self._exitcode = -signal.SIGKILL  # the launcher was killed before it could report

    @property
    def returncode(self) -> int | None:
        return self._exitcode if self._ended else None

    def poll(self) -> int | None:
        self._collect(0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._collect(timeout):
            raise subprocess.TimeoutExpired("autograder worker", timeout or 0.0)
        assert self._exitcode is not None
        return self._exitcode

    def kill_group(self) -> None:
        """Kill the launcher's process group (it leads its own session), if it still runs."""
        if self._pidfd >= 0 and not select.select([self._pidfd], [], [], 0)[0]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)


class Delegate(_Forked):
    """A fork of the template running a command's work: what ``multiprocessing.Process`` gives
    (``is_alive``, ``sentinel``, ``exitcode``, ``join``, ``terminate``, ``kill``), for it.

    The template reports the fork's exit status on the ``exit`` pipe once it has reaped it; the
    fork ends by itself when this side closes the ``payload`` pipe (or dies).
    """

    def __init__(self, pid: int, pidfd: int, exit_r: int, payload_w: int):
        super().__init__(pid, pidfd, exit_r)
        self._payload_w = payload_w

    @property
    def exitcode(self) -> int | None:
        """The exit status once ended (negative: killed by that signal), else None."""
        self._collect(0)
        return self._exitcode

    @property
    def sentinel(self) -> int:
        """Readable once the fork has ended (or the template that reports it has)."""
        return self._exit_r

    def _lost(self, timeout: float | None) -> None:
        if self._pidfd >= 0:  # the template died: wait for the fork itself
            select.select([self._pidfd], [], [], timeout)

    def is_alive(self) -> bool:
        return not self._collect(0)

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status (negative: killed by that signal), None if it was lost or if the
        fork still runs after ``timeout`` seconds."""
        self._collect(timeout)
        return self._exitcode

    join = wait

    def signal(self, signum: int) -> None:
        if self._pidfd >= 0:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.signal(signal.SIGTERM)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)

    def close(self) -> None:
        """Let go of the fork: one that still runs ends, as its payload pipe closes."""
        if self._payload_w >= 0:
            os.close(self._payload_w)
            self._payload_w = -1
        super().close()


class Template:
    """The grader's handle on a running template (see the module's documentation)."""

    START_TIMEOUT = 120.0

    def __init__(self, command: list[str] | None = None, *, wait: bool = True) -> None:
        """Start a template (``command``, given the socket's descriptor number as its last
        argument, stands in for ``python -m autograder.worker.zygote`` in tests) and, if
        ``wait``, wait until it is ready (else the first request waits)."""
        if not hasattr(socket, "send_fds") or not hasattr(os, "pidfd_open"):
            raise Unavailable("this system cannot pass descriptors or open pidfds")
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
        env.update(WORKER_ENV, **{ENV_IDLE: str(idle_seconds())})
        try:
            self.process = subprocess.Popen(
                [*(command or [sys.executable, "-m", "autograder.worker.zygote"]),
                 str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", env=env,
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
        return template

    def _reply(self, timeout: float, what: str) -> tuple[dict[str, Any], list[int]]:
        if not select.select([self._sock], [], [], timeout)[0]:
            self.close()
            raise Unavailable(f"the template did not answer ({what}) within {timeout:g} s")
        try:
            data, fds, _flags, _addr = socket.recv_fds(self._sock, _MAX_MESSAGE, 1)
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


_shared: dict[int, Template] = {}
_refused: list[str] = []
_guard = threading.Lock()


def enabled() -> bool:
    """Whether workers come from a template (``AUTOGRADER_TEMPLATE=0`` turns it off)."""
    return os.environ.get("AUTOGRADER_TEMPLATE", "1") != "0" and sys.platform.startswith("linux")


def shared(*, wait: bool = True) -> Template | None:
    """This process's template, started at the first call and, if ``wait``, ready; None where
    there can be none (the first refusal is said on stderr once, and workers then start
    afresh)."""
    if not enabled() or _refused:
        return None
    with _guard:
        template = _shared.get(os.getpid())
        if template is None or not template.alive:
            try:
                template = _shared[os.getpid()] = Template(wait=False)
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


def start() -> None:
    """Start this process's template and go on while it imports TensorFlow (a command checks
    its input meanwhile); nothing in a delegate, or where there is no template."""
    if not delegated():
        shared(wait=False)


def discard() -> None:
    """End the template this process started, if any: a command that found nothing to grade
    does not leave it to finish TensorFlow's import."""
    with _guard:
        template = _shared.pop(os.getpid(), None)
    if template is not None and template.process is not None:
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
                  stdio: tuple[int, int, int] | None = None,
                  cwd: str | None = None) -> Delegate | None:
    """``call(*args)`` started in a fork of this process's template (see
    :meth:`Template.fork_delegate`); None where there is no template, or in a delegate already:
    the caller then does the work another way."""
    if delegated():
        return None
    template = shared()
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


def delegate(call: str, args: list[Any]) -> int | None:
    """Run ``call(*args)`` in a fork of this process's template (see :func:`fork_delegate`) and
    wait for it, passing on SIGINT, SIGTERM and SIGHUP; return its exit status, or None where
    there is no template (the caller then does the work itself).

    A command that grades delegates so that TensorFlow is imported once, by the template, and
    the grading process is a fork of it: the command itself never imports TensorFlow.
    """
    fork = fork_delegate(call, args)
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


if __name__ == "__main__":
    # Run as the module, not as __main__: a delegate must find its state (``_delegated``,
    # ``_shared``) where the kit's own imports of this module look for it.
    from autograder.worker import zygote

    zygote.main()
