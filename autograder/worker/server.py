"""The worker: a process that holds one submission and answers the grader's requests.

Started (inside the sandbox, see ``sandbox``) as
``python -m autograder.worker.server FD_IN FD_OUT [MAX_REPLY]``. It reads framed requests from
FD_IN and writes framed replies to FD_OUT (see ``protocol``); the submission's own prints go to
stdout/stderr, which the grader drains into a capped log. A request is one of

``{"op": "load", "assignment": ..., "cells": [{"index", "source"}]}``
``{"op": "call", "mode": "plain"|"graph"|"eager", "name": ..., "args": [...], "kwargs": {...}}``
``{"op": "task", "name": ..., "kwargs": {...}}``
``{"op": "evaluator", "request": {...}}`` (only in the role ``evaluator``, which takes nothing else:
see ``autograder.evaluator``)

and a reply is ``{"id", "ok": true, "result": ...}`` or ``{"id", "ok": false, "error": {...}}``.
While loading, ``{"id", "progress": index}`` precedes each cell. Nothing here is trusted by the
grader: the submission runs in this process and could write any reply it likes.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from autograder.worker import harness, protocol

WORKER, EVALUATOR = "worker", "evaluator"


class Worker:
    def __init__(self, fd_out: int, max_reply: int, role: str = WORKER) -> None:
        self.role = role
        self.engine: Any = None
        self.namespace = harness.new_namespace()
        self.assignment = ""
        self.fd_out = fd_out
        self.max_reply = max_reply
        self.pid = os.getpid()

    def only_the_server(self) -> None:
        """A process the submission forked must not go on as a second server: it ends here."""
        if os.getpid() != self.pid:
            os._exit(0)

    def load(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run the cells one by one, telling the grader which one is running (if one hangs or
        ends the process, the grader knows which to leave out next time)."""
        self.assignment = str(request["assignment"])
        notes = []
        for cell in request["cells"]:
            protocol.write_frame(self.fd_out, protocol.encode({"id": request.get("id"),
                                                               "progress": cell["index"]}))
            notes += harness.execute_cells([cell], self.namespace)
            self.only_the_server()
        defined = sorted(k for k, v in self.namespace.items()
                         if callable(v) and not k.startswith("_"))
        return {"notes": notes, "defined": defined}

    def handle(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if self.role == EVALUATOR:  # never a submission's code: graphs only
            if op == "evaluator" and isinstance(request.get("request"), dict):
                if self.engine is None:
                    from autograder.evaluator.engine import Engine

                    self.engine = Engine()
                return self.checked("the graph", self.engine.handle(request["request"]))
            if op == "ping":
                return "pong"
            raise harness.CallFailed("exception", f"the evaluator does not take {op!r}")
        if op == "load":
            return self.load(request)
        if op == "call":
            mode = harness.MODES[request["mode"]]
            return self.checked(request["name"], mode(self.namespace, request["name"],
                                                      request.get("args", []),
                                                      request.get("kwargs", {})))
        if op == "task":
            return self.checked(request["name"], harness.run_task(
                self.namespace, self.assignment, request["name"], request.get("kwargs", {})))
        if op == "ping":
            return "pong"
        raise harness.CallFailed("exception", f"unknown request {op!r}")

    def checked(self, name: str, result: Any) -> Any:
        size = protocol.size_of(result)
        if size > self.max_reply:
            raise harness.CallFailed("bad_return", f"{name} returned {protocol.human(size)} of "
                                     f"data; a result may be at most "
                                     f"{protocol.human(self.max_reply)}")
        return result


def serve(fd_in: int, fd_out: int, max_reply: int = protocol.MAX_FRAME,
          role: str = WORKER) -> None:
    worker = Worker(fd_out, max_reply, role)
    while True:
        try:
            request = protocol.decode(protocol.read_frame(fd_in), max_header=protocol.MAX_FRAME)
        except protocol.Closed:
            return
        reply: dict[str, Any] = {"id": request.get("id")}
        harness.CURRENT[0] = request.get("id")
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
        worker.only_the_server()
        for stream in (sys.stdout, sys.stderr):  # the submission may have replaced or closed them
            with contextlib.suppress(Exception):
                stream.flush()
        protocol.write_frame(fd_out, payload)


def run(fd_in: int, fd_out: int, max_reply: int = protocol.MAX_FRAME,
        role: str = WORKER) -> None:
    """Serve until the grader closes the request pipe, then end the process (never returns)."""
    os.set_inheritable(fd_in, False)
    os.set_inheritable(fd_out, False)
    harness.CHANNEL[:] = [fd_in, fd_out]
    serve(fd_in, fd_out, max_reply, role)
    os._exit(0)


def main() -> None:
    max_reply = int(sys.argv[3]) if len(sys.argv) > 3 else protocol.MAX_FRAME
    role = sys.argv[4] if len(sys.argv) > 4 else WORKER
    run(int(sys.argv[1]), int(sys.argv[2]), max_reply, role)


if __name__ == "__main__":
    main()
