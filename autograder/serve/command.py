"""``autograder serve``, ``autograder tokens`` and ``autograder checks``: keyword-only mains.

::

    main(settings=Settings(db=Path("service.sqlite"), port=8000))   # serves until stopped
    issue_tokens(roster=Path("gradebook.db"), db=Path("service.sqlite"), out=Path("tokens.csv"))
    report(db=Path("service.sqlite"), csv_out=None)

Each raises :class:`ServeError` (one line) for what it cannot use.
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import socket
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder import manifest
from autograder.serve.settings import Settings

GRACE_SECONDS = 20  # a stop waits this long for checks being graded; the rest stay pending


class ServeError(ValueError):
    """The service (or a command about it) cannot start or go on; the message is one line."""


def _listen(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # connections wait here while the graders start
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    return sock


def main(*, settings: Settings, ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; ``ready`` is called with the address once it listens."""
    import uvicorn

    from autograder.batch.cluster import ClusterError
    from autograder.grading.hidden import SecretError
    from autograder.serve.app import create_app
    from autograder.serve.service import Service
    from autograder.worker import template

    try:
        for name in settings.assignments:  # a mistyped name is said at once, before all else
            manifest.get(name)
    except manifest.UnknownAssignment as exc:
        raise ServeError(str(exc)) from None
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s autograder serve: %(message)s")
    template.start()  # TensorFlow's import begins while the rest is set up
    sock = _listen(settings.host, settings.port)
    try:
        service = Service(settings)
    except (SecretError, manifest.UnknownAssignment, ClusterError) as exc:
        sock.close()
        raise ServeError(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:
        sock.close()
        raise ServeError(f"{settings.db}: cannot keep the service's database there ({exc})") \
            from None
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(create_app(service), log_level="warning", access_log=False,
                            timeout_graceful_shutdown=GRACE_SECONDS)
    if ready is not None:
        ready(f"http://{shown}:{port}")
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Issued:
    issued: dict[str, str]  # student -> token, this run's
    roster: int  # students in the roster
    kept: int  # who had a token and kept it

    def describe(self, out: Path | None) -> str:
        where = f" into {out}" if out is not None else ""
        hint = " (--rotate issues new ones)" if self.kept and len(self.issued) < self.roster else ""
        return (f"{len(self.issued)} tokens issued{where}; {self.kept} of the roster's "
                f"{self.roster} students kept theirs{hint}")


def issue_tokens(*, roster: Path, db: Path, out: Path | None = None,
                 rotate: bool = False) -> Issued:
    """Issue tokens to the roster's students who have none (all with ``rotate``) into ``db``,
    and add them to ``out`` (mode 0600) if given."""
    from autograder.serve.tokens import RosterError, Tokens, read_roster, write_tokens

    try:
        students = read_roster(roster)
    except RosterError as exc:
        raise ServeError(str(exc)) from None
    try:
        tokens = Tokens.open(db)
        try:
            issued = tokens.issue(students, rotate=rotate)
        finally:
            tokens.db.close()
    except (OSError, sqlite3.Error) as exc:
        raise ServeError(f"{db}: cannot keep the service's database there ({exc})") from None
    if out is not None:
        try:
            write_tokens(out, issued)
        except OSError as exc:
            raise ServeError(f"{exc.filename or out}: {exc.strerror}; the tokens are issued: "
                             "run again with --rotate to have them written") from None
    return Issued(issued=issued, roster=len(students), kept=len(students) - len(issued))


def tokens_csv(issued: dict[str, str]) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["student", "token"])
    writer.writerows(sorted(issued.items()))
    return text.getvalue()


COLUMNS = ("student", "assignment", "checks", "last", "best", "max_score", "last_check")


def table(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`report` as a table for a terminal."""
    lines = [f"{'student':<20} {'assignment':<18} {'checks':>6} {'last':>6} {'best':>6} {'of':>4}"
             "  last check (UTC)"]
    lines += [f"{r['student']:<20} {r['assignment']:<18} {r['checks']:>6} {r['last']:>6g} "
              f"{r['best']:>6g} {r['max_score']:>4g}  {r['last_check']}" for r in rows]
    return "\n".join(lines if rows else [*lines, "(no checks yet)"])


def report(*, db: Path, csv_out: Path | None = None) -> list[dict[str, Any]]:
    """Each student's checks per assignment (count, last and best score, when last), from
    ``db``; also written to ``csv_out`` if given."""
    from autograder.serve.records import summary

    if not Path(db).is_file():
        raise ServeError(f"{db}: no such database (made by `autograder serve` or "
                         "`autograder tokens`)")
    try:
        rows = summary(db)
    except sqlite3.Error as exc:
        raise ServeError(f"{db}: cannot be read ({exc})") from None
    for row in rows:
        row["last_check"] = datetime.datetime.fromtimestamp(
            row.pop("last_at"), datetime.timezone.utc).isoformat(timespec="seconds")
    if csv_out is not None:
        try:
            with open(csv_out, "w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, COLUMNS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(rows)
        except OSError as exc:
            raise ServeError(f"{exc.filename or csv_out}: {exc.strerror}") from None
    return rows
