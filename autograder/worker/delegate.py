"""A delegate: a command's own work (``autograder grade``, a batch's grader, nbgrader's grading
of one notebook) run in a fork of the warm template, so that TensorFlow is imported once, by the
template, and never by the command (see ``zygote``).

The fork becomes the command that asked: its environment, folder, arguments and standard
streams. What the command holds (its environment with the course secret, say) is read from the
payload pipe after the fork: the template never sees it. The fork ends when the grader closes
that pipe, or dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys
import threading
from typing import Any

from autograder.worker import template
from autograder.worker.forking import fresh_process, mark_delegated


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


def become_delegate(sockets: list[socket.socket], given: dict[str, int],
                    extras: list[int]) -> None:
    """In the fork: become the command that asked, with its environment, folder and arguments,
    and call what it asked for (``extras``, the descriptors it passed besides, come last).

    What the command holds (its environment with the course secret, say) is read from the
    payload pipe here, after the fork: the template never sees it.
    """
    code = 70
    try:
        for number, name in enumerate(("stdin", "stdout", "stderr")):
            os.dup2(given[name], number)
        fresh_process(sockets, {given["payload"], given["mine"], *extras})
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
        template.attach(socket.socket(fileno=given["mine"]))
        mark_delegated()
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
