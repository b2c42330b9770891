"""Every check, kept in the gradebook database's ``checks`` table (``batch/gradebook.py``).

A check's row is written ``pending``, with the uploaded notebook, in the transaction that accepts
it, and completed (``graded``, or ``failed`` when the service could not grade it: no grade) in
another when its grader answers; the notebook is dropped then. A service killed at any moment
therefore loses no accepted check: it grades the pending rows again when it starts.

Accepting is one ``BEGIN IMMEDIATE`` transaction that decides, in this order: the student has a
check pending (the same bytes: join it; others: one at a time), these bytes were graded for them
already by this suite and secret (answered from the record, a new row marked ``cached``), the
rate is spent, or a new pending row. Two requests cannot both pass.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.batch.gradebook import open_database
from autograder.batch.jobs import GRADED, Outcome
from autograder.serve.limits import Rate

PENDING = "pending"
ACCEPTED, CACHED, JOIN, BUSY, LIMITED = "accepted", "cached", "join", "busy", "limited"


@dataclass
class Decision:
    kind: str  # one of ACCEPTED, CACHED, JOIN, BUSY, LIMITED
    check: int = 0  # the check's row (ACCEPTED, CACHED, JOIN) or the pending one (BUSY)
    assignment: str = ""  # BUSY: the pending check's assignment
    retry_after: int = 0  # LIMITED: seconds
    results: dict[str, Any] = field(default_factory=dict)  # CACHED: results.json


@dataclass
class Pending:
    check: int
    student: str
    assignment: str
    notebook: bytes


class Records:
    """The ``checks`` table; safe to use from several threads (one statement at a time)."""

    def __init__(self, path: Path):
        self.db = open_database(path, threads=True)
        self.db.isolation_level = None  # transactions are explicit: BEGIN IMMEDIATE
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def accept(self, *, student: str, assignment: str, sha256: str, key: str, notebook: bytes,
               rate: Rate, now: float | None = None) -> Decision:
        """Decide what to do with a check (see the module's documentation), in one transaction."""
        now = time.time() if now is None else now
        with self._transaction() as db:
            pending = db.execute("SELECT id, key, assignment FROM checks WHERE student = ? AND "
                                 "status = ? ORDER BY id LIMIT 1", (student, PENDING)).fetchone()
            if pending is not None:
                if pending["key"] == key:
                    return Decision(JOIN, check=pending["id"])
                return Decision(BUSY, check=pending["id"], assignment=pending["assignment"])
            known = db.execute("SELECT * FROM checks WHERE student = ? AND key = ? AND status = ? "
                               "ORDER BY id DESC LIMIT 1", (student, key, GRADED)).fetchone()
            if known is not None:
                cursor = db.execute(
                    "INSERT INTO checks (student, assignment, sha256, key, status, cached, score, "
                    "max_score, asked_at, answered_at, grader, results) "
                    "VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
                    (student, assignment, sha256, key, GRADED, known["score"], known["max_score"],
                     now, now, known["grader"], known["results"]))
                return Decision(CACHED, check=int(cursor.lastrowid or 0),
                                results=json.loads(known["results"]))
            times = [r[0] for r in db.execute(
                "SELECT asked_at FROM checks WHERE student = ? AND cached = 0 AND status != "
                "'failed' AND asked_at > ?", (student, now - rate.seconds))]
            wait = rate.retry_after(times, now)
            if wait is not None:
                return Decision(LIMITED, retry_after=wait)
            cursor = db.execute(
                "INSERT INTO checks (student, assignment, sha256, key, status, asked_at, notebook) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (student, assignment, sha256, key, PENDING, now,
                                                 notebook))
            return Decision(ACCEPTED, check=int(cursor.lastrowid or 0))

    def complete(self, check: int, outcome: Outcome) -> None:
        """Record what grading check ``check`` gave (``graded``, or ``failed``: no grade)."""
        graded = outcome.status == GRADED
        with self._transaction() as db:
            db.execute(
                "UPDATE checks SET status = ?, score = ?, max_score = ?, error = ?, "
                "answered_at = ?, grader = ?, results = ?, notebook = NULL "
                "WHERE id = ? AND status = ?",
                (outcome.status, outcome.score if graded else None,
                 outcome.max_score if graded else None, outcome.error,
                 outcome.finished or time.time(), outcome.grader,
                 json.dumps(outcome.results, allow_nan=False) if graded else None,
                 check, PENDING))

    def rekey(self, check: int, key: str) -> None:
        """A pending check is graded again by this kit (a restart): its key follows."""
        with self._transaction() as db:
            db.execute("UPDATE checks SET key = ? WHERE id = ?", (key, check))

    def pending(self) -> list[Pending]:
        """Every pending check, oldest first (what a restart grades again)."""
        with self._lock:
            rows = self.db.execute("SELECT id, student, assignment, notebook FROM checks "
                                   "WHERE status = ? ORDER BY id", (PENDING,)).fetchall()
        return [Pending(r["id"], r["student"], r["assignment"], bytes(r["notebook"] or b""))
                for r in rows]

    def about(self, student: str) -> tuple[int, bool]:
        """How many checks ``student`` got a grade for, and whether one is pending."""
        with self._lock:
            row = self.db.execute(
                "SELECT SUM(status = ?), SUM(status = ?) FROM checks WHERE student = ?",
                (GRADED, PENDING, student)).fetchone()
        return int(row[0] or 0), bool(row[1])


def summary(path: Path) -> list[dict[str, Any]]:
    """For the instructor: per student and assignment, how many checks got a grade, the last
    and the best score, and when the last was asked (epoch seconds)."""
    db = open_database(path)
    try:
        rows = db.execute(
            "SELECT student, assignment, COUNT(*) AS checks, MAX(score) AS best, "
            "MAX(max_score) AS max_score, MAX(asked_at) AS last_at, "
            "(SELECT score FROM checks AS l WHERE l.student = c.student AND "
            " l.assignment = c.assignment AND l.status = ? ORDER BY l.id DESC LIMIT 1) AS last "
            "FROM checks AS c WHERE status = ? GROUP BY student, assignment "
            "ORDER BY student, assignment", (GRADED, GRADED)).fetchall()
    finally:
        db.close()
    return [dict(r) for r in rows]
