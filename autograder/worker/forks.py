"""The grader's handles on forks of the warm template: a worker's launcher (:class:`Launched`,
what ``subprocess.Popen`` gives) and a delegate (:class:`Delegate`, what
``multiprocessing.Process`` gives). Their parent is the template, not the grader, so each one's
exit status arrives on a pipe: 4 bytes of ``waitpid`` status, then the end of the pipe.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import struct
import subprocess
import time


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
