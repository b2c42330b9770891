"""The grading service's client: send the saved notebook, get the table's rows back.

The service (``autograder serve``, run by the course) answers ``POST /api/v1/checks`` with the
points of each hidden test and why a failing one fails, nothing more. Every refusal comes back as
one line (``{"detail": ...}``) with an HTTP status; here it becomes a :class:`ServiceError` with
that line, so a student reads what to do ("try again in 40 s"), never a traceback.

A connection that breaks while the notebook is being graded (the service restarted, say) is tried
again for up to :data:`RETRY_SECONDS`: the service keeps every check it accepted and answers the
same notebook again from its record, or grades it again after a restart.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

API = "/api/v1"
TIMEOUT = 900.0  # seconds one check may take, queueing included
RETRY_SECONDS = 60.0


class ServiceError(Exception):
    """The service refused or could not be reached; ``str()`` is one line for the student."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def _detail(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read().decode("utf-8", "replace") or "{}")
    except (ValueError, OSError):
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail.strip():
        return detail.strip().splitlines()[0]
    return f"HTTP {error.code} {error.reason}"


def _request(method: str, url: str, *, token: str | None, data: bytes | None = None,
             timeout: float = TIMEOUT) -> Any:
    headers = {"Accept": "application/json", "User-Agent": "coursekit"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if data is not None:
        headers["Content-Type"] = "application/x-ipynb+json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


# Broken after the request went out: the service may have restarted while grading.
_BROKEN = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
           http.client.IncompleteRead)


def call(method: str, service: str, path: str, *, token: str | None, data: bytes | None = None,
         query: dict[str, str] | None = None, retry: float = RETRY_SECONDS,
         timeout: float = TIMEOUT) -> Any:
    """``method service/api/v1/path``; the decoded JSON answer, or :class:`ServiceError`.

    A service that cannot be reached at all is said at once. One that breaks the connection while
    it answers is asked again (the same request) for up to ``retry`` seconds, through a restart.
    """
    url = service.rstrip("/") + API + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    if not url.startswith(("http://", "https://")):
        raise ServiceError(f"the grading service's address {service!r} is not an http(s) URL")
    deadline, pause, broken = 0.0, 1.0, False
    while True:
        try:
            return _request(method, url, token=token, data=data, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise ServiceError(_detail(exc), exc.code) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if (isinstance(reason, _BROKEN) or isinstance(exc, _BROKEN)) and not broken:
                broken, deadline = True, time.monotonic() + retry
            if isinstance(reason, socket.timeout) or isinstance(exc, socket.timeout):
                raise ServiceError(f"the grading service at {service} did not answer within "
                                   f"{timeout:g} s") from None
            if not broken or time.monotonic() + pause > deadline:
                raise ServiceError(f"cannot reach the grading service at {service} ({reason})") \
                    from None
            time.sleep(pause)
            pause = min(pause * 2, 8.0)
        except ValueError:
            raise ServiceError(f"the grading service at {service} sent an answer that is not "
                               "JSON") from None


def grade(service: str, token: str | None, notebook: bytes, assignment: str) -> dict[str, Any]:
    """The service's grade of ``notebook``: ``{"assignment", "score", "max_score", "tests",
    "output", ...}``; each test ``{"name", "score", "max_score", "status", "output", "cell"}``."""
    if not token:
        raise ServiceError("no token for the grading service: set COURSEKIT_TOKEN, or run "
                           "`python -m coursekit login <your token>` once")
    answer = call("POST", service, "/checks", token=token, data=notebook,
                  query={"assignment": assignment})
    if not isinstance(answer, dict) or not isinstance(answer.get("tests"), list):
        raise ServiceError(f"the grading service at {service} sent an answer without tests")
    return answer


def whoami(service: str, token: str) -> dict[str, Any]:
    """``{"student", "checks", "pending"}``: the service's word on whose token this is."""
    answer = call("GET", service, "/me", token=token, retry=0.0, timeout=30.0)
    if not isinstance(answer, dict):
        raise ServiceError(f"the grading service at {service} sent an unexpected answer")
    return answer
