"""The HTTP API (FastAPI); the client is ``check()`` in the students' coursekit.

- ``GET /api/v1/health``: no token; the kit's version and the assignments graded.
- ``POST /api/v1/checks[?assignment=NAME]`` with ``Authorization: Bearer TOKEN`` and the saved
  notebook's bytes as the body: its grade (see ``service.answer``).
- ``GET /api/v1/me`` with the token: the student, their graded checks, one pending or not.

Every error is ``{"detail": "<one line>"}`` with its status: 400 (what was sent cannot be
graded), 401 (no or an unknown token), 409 (a check of theirs is still being graded), 413 (over
the size limit), 429 (over the rate, with ``Retry-After``), 503 (the service could not grade it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from concurrent.futures import Future
from importlib import metadata
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from autograder.batch.jobs import Outcome
from autograder.serve.limits import describe_size
from autograder.serve.service import Refused, Service

log = logging.getLogger("autograder.serve")
PREFIX = "/api/v1"


def kit_version() -> str:
    try:
        return metadata.version("nn-tf-autograder")
    except metadata.PackageNotFoundError:
        return "unknown"


async def _outcome(future: Future[Outcome]) -> Outcome:
    """Wait for a grade without ever cancelling it (the client may go; the grade is recorded)."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[Outcome] = loop.create_future()

    def done(graded: Future[Outcome]) -> None:
        loop.call_soon_threadsafe(lambda: waiter.done() or waiter.set_result(graded.result()))

    future.add_done_callback(done)
    return await waiter


async def _body(request: Request, limit: int) -> bytes:
    """The upload, refused as soon as it is known to be over ``limit`` bytes."""
    too_big = f"the upload is over the service's limit of {describe_size(limit)}"
    length = request.headers.get("content-length")
    if length is not None:
        if not length.strip().isdigit():
            raise Refused(400, f"Content-Length {length[:20]!r} is not a number of bytes")
        if int(length) > limit:
            raise Refused(413, f"the upload is {describe_size(int(length))}, over the service's "
                          f"limit of {describe_size(limit)}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, too_big)
        chunks.append(chunk)
    return b"".join(chunks)


def _student(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """Who is asking: the student whose token the request bears; raises :class:`Refused`."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "no token: send the header 'Authorization: Bearer <token>' (your "
                      "token is in COURSEKIT_TOKEN)", {"WWW-Authenticate": "Bearer"})
    who = request.app.state.service.student(token.strip())
    if who is None:
        raise Refused(401, "unknown token: check COURSEKIT_TOKEN (or ask for a new one)",
                      {"WWW-Authenticate": "Bearer"})
    return str(who)


Student = Annotated[str, Depends(_student)]


def create_app(service: Service) -> FastAPI:
    """The application answering for ``service`` (closed when the application shuts down)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(service.close)

    app = FastAPI(title="autograder", version=kit_version(), lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.service = service

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> JSONResponse:
        log.info("%s %s: %d %s", request.method, request.url.path, exc.status, exc.detail)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}"},
                            status_code=400)

    @app.exception_handler(Exception)
    async def broken(_: Request, exc: Exception) -> JSONResponse:
        # uvicorn logs the traceback; the client gets one line
        return JSONResponse({"detail": f"the service failed ({type(exc).__name__}); see its "
                             "log"}, status_code=500)

    @app.get(f"{PREFIX}/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": kit_version(), "assignments": service.assignments}

    @app.get(f"{PREFIX}/me")
    async def me(who: Student) -> dict[str, Any]:
        checks, pending = await run_in_threadpool(service.records.about, who)
        return {"student": who, "checks": checks, "pending": pending}

    @app.post(f"{PREFIX}/checks")
    async def check(request: Request, who: Student,
                    assignment: Annotated[str | None, Query(max_length=100)] = None
                    ) -> dict[str, Any]:
        data = await _body(request, service.settings.max_upload)
        started = await run_in_threadpool(service.accept, who, data, assignment)
        outcome = None if started.grading is None else await _outcome(started.grading)
        return service.finish(started, outcome)

    return app
