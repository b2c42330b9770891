"""The worker: a process that holds one submission and answers the grader's requests.

Started by the grader as ``python -m autograder.worker.server FD_IN FD_OUT``. It reads framed
requests from FD_IN and writes framed replies to FD_OUT (see ``protocol``); the submission's own
prints go to stdout/stderr, which the grader drains into a capped log. A request is one of

``{"op": "load", "assignment": ..., "cells": [{"index", "source"}]}``
``{"op": "call", "mode": "plain"|"graph"|"eager", "name": ..., "args": [...], "kwargs": {...}}``
``{"op": "task", "name": ..., "kwargs": {...}}``

and a reply is ``{"id", "ok": true, "result": ...}`` or ``{"id", "ok": false, "error": {...}}``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from autograder.worker import harness, protocol


class Worker:
    def __init__(self) -> None:
        self.namespace = harness.new_namespace()
        self.assignment = ""

    def handle(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if op == "load":
            self.assignment = str(request["assignment"])
            notes = harness.execute_cells(request["cells"], self.namespace)
            defined = sorted(k for k, v in self.namespace.items()
                             if callable(v) and not k.startswith("_"))
            return {"notes": notes, "defined": defined}
        if op == "call":
            mode = harness.MODES[request["mode"]]
            return mode(self.namespace, request["name"], request.get("args", []),
                        request.get("kwargs", {}))
        if op == "task":
            return harness.run_task(self.namespace, self.assignment, request["name"],
                                    request.get("kwargs", {}))
        if op == "ping":
            return "pong"
        raise harness.CallFailed("exception", f"unknown request {op!r}")


def serve(fd_in: int, fd_out: int) -> None:
    worker = Worker()
    while True:
        try:
            request = protocol.decode(protocol.read_frame(fd_in))
        except protocol.Closed:
            return
        reply: dict[str, Any] = {"id": request.get("id")}
        try:
            reply.update(ok=True, result=worker.handle(request))
            payload = protocol.encode(reply)
        except harness.CallFailed as exc:
            reply.update(ok=False, error=exc.as_dict())
            payload = protocol.encode(reply)
        except protocol.ProtocolError as exc:
            reply.update(ok=False, error={"kind": "bad_return", "message": str(exc)})
            payload = protocol.encode(reply)
        except BaseException as exc:  # the worker must answer whatever happened
            reply.update(ok=False, error={"kind": "exception", "message": harness.describe(exc)})
            payload = protocol.encode(reply)
        sys.stdout.flush()
        sys.stderr.flush()
        protocol.write_frame(fd_out, payload)


def main() -> None:
    fd_in, fd_out = int(sys.argv[1]), int(sys.argv[2])
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    serve(fd_in, fd_out)
    os._exit(0)


if __name__ == "__main__":
    main()
