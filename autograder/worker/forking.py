"""What the warm template, its forks and the grader share: the wire's names and limits, and a
fork's fresh start (see ``zygote``, the template's process, and ``template``, the grader's side).
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import signal
import socket
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

FDS = ("request", "reply", "status", "lifeline", "exit", "output")  # as passed, in this order
DELEGATE_FDS = ("stdin", "stdout", "stderr", "payload", "exit", "template", "mine")
MAX_EXTRAS = 4  # more descriptors a delegate may be given (a batch grader: its job pipe)
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ")
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0", "OMP_NUM_THREADS": "1",
              "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
MAX_MESSAGE = 1 << 20
IDLE_SECONDS = 600.0  # a template unused this long, with no fork of it running, ends
IDLE_EXIT = 75  # its exit status then
ENV_IDLE = "AUTOGRADER_TEMPLATE_IDLE"
ENV_DELEGATE = "AUTOGRADER_IN_DELEGATE"
ENV_WARM = "AUTOGRADER_TEMPLATE_WARM"  # "numpy": the template imports no TensorFlow
_delegated: list[bool] = []


class Unavailable(RuntimeError):
    """No template: it could not start, or it refused to fork (the reason is the message).
    ``idle``: it had ended by itself after a while unused; the next request starts another."""

    def __init__(self, reason: str, *, idle: bool = False):
        super().__init__(reason)
        self.idle = idle


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


def python_module(module: str) -> list[str]:
    """The command line of ``python -m module`` that imports nothing from its working folder:
    ``-P`` (Python 3.11 and later), or the folder taken out of ``sys.path`` first. Started in
    ``/``, a plain ``-m`` would import a folder named ``autograder`` there (Gradescope's
    ``/autograder``) in place of the installed kit."""
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-m", module]
    return [sys.executable, "-c", "import runpy, sys; del sys.path[0]; "
            f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"]


def delegated() -> bool:
    """Whether this process is a delegate, or was started by one: it must not delegate again."""
    return bool(_delegated) or os.environ.get(ENV_DELEGATE) == "1"


def mark_delegated() -> None:
    _delegated.append(True)


def fresh_process(sockets: Iterable[socket.socket], keep: set[int]) -> None:
    """In a fork of the template: its own session, the template's signal handling and
    ``sockets`` gone, only ``keep`` (and 0, 1, 2) open, and new random seeds (a fork repeats the
    template's)."""
    signal.set_wakeup_fd(-1)  # before anything: the template's wake-up pipe is closed below
    gc.enable()  # for what the fork makes; the template's objects stay frozen (see zygote)
    os.setsid()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for client in sockets:
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
