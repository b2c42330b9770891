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

For an assignment graded without TensorFlow (``manifest``) the grader asks for a template that
skips its import (``ENV_WARM``): three seconds less of a command's start.

Python's cyclic garbage collector is off in the template and its objects are frozen
(``gc.freeze``) before each fork; each fork turns the collector on again. Otherwise every
collection in a fork walks the 300,000 objects that importing TensorFlow made, touching (and
so copying) the pages they share with the template: a grade then costs 0.5 s more CPU.

The grader talks to it over a Unix socket pair: a request is the sandbox's configuration (as for
``sandbox.command``) plus the environment, the working folder, and the worker's pipe ends passed as
file descriptors; the reply is the launcher's pid with a pidfd for it. The launcher reports the
server's exit status on the ``exit`` pipe, since the grader is not its parent. It starts in
``/`` with ``python -P`` (``forking.python_module``): a folder named ``autograder`` there
(Gradescope's ``/autograder`` is one) would otherwise stand in for the installed kit.

This module is the template's own loop; around it: ``forking`` (what the template, its forks and
the grader share; a fork's fresh start), ``delegate`` (a delegate's side of the fork), ``forks``
(the grader's handles on forks) and ``template`` (the grader's side: :class:`~template.Template`,
one template per process, :func:`~template.delegate`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

from autograder.worker.delegate import become_delegate
from autograder.worker.forking import (
    DELEGATE_FDS,
    ENV_WARM,
    FDS,
    IDLE_EXIT,
    IDLE_SECONDS,
    MAX_EXTRAS,
    MAX_MESSAGE,
    fresh_process,
    idle_seconds,
    threads,
)

_warm_threads: list[int] = []  # how many threads ran once everything was imported


def warm() -> None:
    """Import what every worker needs, and run nothing of it: TensorFlow, or where the grader
    said its assignment needs none (``ENV_WARM``), matplotlib's pyplot (which TensorFlow's
    import brings otherwise), for the notebooks that plot."""
    import numpy  # noqa: F401

    from autograder.worker import harness, sandbox, server  # noqa: F401
    from coursekit.data import input_data  # noqa: F401

    if os.environ.get(ENV_WARM) == "numpy":
        import matplotlib.pyplot  # noqa: F401
    else:
        harness.tensorflow()
        from autograder.evaluator import ops

        ops.allowed()  # the evaluators' allow-list, made once here rather than in each of them
    for name in ("tf_basics", "backprop", "gradient_descent", "mlp_mnist"):
        __import__(f"autograder.tasks.{name}")
    _warm_threads.append(threads())


def _receive(sock: socket.socket, most: int) -> tuple[dict[str, Any], list[int]] | None:
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, most)
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


def _become_launcher(state: _Loop, request: dict[str, Any], fds: list[int]) -> None:
    """In the fork: leave the template behind, then build the sandbox as ``sandbox.main`` does."""
    from autograder.worker import sandbox

    try:
        given = dict(zip(FDS, fds, strict=True))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(given["output"], 1)
        os.dup2(given["output"], 2)
        fresh_process(state.clients, {fd for name, fd in given.items() if name != "output"})
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.path.insert(0, request["cwd"])  # as `python -m` started there would have it
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
            become_delegate(self.clients, given, extras)
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


if __name__ == "__main__":
    # Run as the module, not as __main__: the loop's state must be where the kit's own imports
    # of this module look for it (a test's template does ``zygote.warm`` and ``zygote.serve``).
    from autograder.worker import zygote

    zygote.main()
