"""Where a batch's grades are kept: a SQLite gradebook, ``results.json`` files and a CSV.

Each finished submission is written at once, in this order: its ``results.json`` (Gradescope's
format, replaced atomically), then its row in the gradebook, in one transaction. A batch killed at
any moment therefore loses only the submissions that were still being graded, and the next run
finds every recorded row by its content key and skips it.

The same database holds what the grading service (``autograder serve``) keeps: each student's
checks (``checks``) and the hashes of their tokens (``tokens``); ``autograder/serve/records.py``
and ``tokens.py`` read and write them. :func:`open_database` makes a new file race-free: it is
made whole, schema included, under a temporary name and linked into place, so no process can
open the file before its tables exist.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autograder.batch.jobs import FAILED, Outcome
from autograder.grading.results import write_json
from autograder.text import for_csv_cell

SCHEMA = """
CREATE TABLE IF NOT EXISTS grades (
    assignment TEXT NOT NULL,
    student    TEXT NOT NULL,
    submission TEXT NOT NULL,  -- the graded file's path
    key        TEXT NOT NULL,  -- content hash: file, assignment, suite version
    status     TEXT NOT NULL,  -- graded | invalid | failed (the CSV adds skipped files)
    score      REAL NOT NULL,
    max_score  REAL NOT NULL,
    error      TEXT NOT NULL,
    seconds    REAL NOT NULL,
    graded_at  TEXT NOT NULL,  -- UTC, ISO 8601
    grader     TEXT NOT NULL,  -- host:pid of the grader process
    results    TEXT NOT NULL,  -- results.json, as text
    PRIMARY KEY (assignment, student)
)
"""
CHECKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS checks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    student     TEXT NOT NULL,
    assignment  TEXT NOT NULL,
    sha256      TEXT NOT NULL,  -- of the uploaded bytes
    key         TEXT NOT NULL,  -- content hash: bytes, assignment, suite version, secret
    status      TEXT NOT NULL,  -- pending | graded | failed (failed: the service's fault, no grade)
    cached      INTEGER NOT NULL DEFAULT 0,  -- answered from an earlier check of the same bytes
    score       REAL,
    max_score   REAL,
    error       TEXT NOT NULL DEFAULT '',
    asked_at    REAL NOT NULL,  -- epoch seconds
    answered_at REAL,
    grader      TEXT NOT NULL DEFAULT '',  -- host:pid of the grader process
    results     TEXT,  -- results.json, as text
    notebook    BLOB   -- the upload, kept while pending: a restart grades it again
);
CREATE INDEX IF NOT EXISTS checks_by_student ON checks (student, status, asked_at);
CREATE TABLE IF NOT EXISTS tokens (
    student   TEXT PRIMARY KEY,
    hash      TEXT NOT NULL UNIQUE,  -- sha256 of the token, hex
    issued_at TEXT NOT NULL  -- UTC, ISO 8601
);
"""
FIXED_COLUMNS = ("student", "score", "max_score", "status", "error", "submission", "graded_at")


def _statements() -> list[str]:
    return [s.strip() for s in (SCHEMA + ";" + CHECKS_SCHEMA).split(";") if s.strip()]


def _create(path: Path) -> None:
    """Make ``path`` whole under a temporary name, then link it into place (never over a file
    another process made meanwhile)."""
    # mkstemp's 0600: the class's grades, checks and token hashes are for the grader alone (a
    # worker's uid, where namespaces and Landlock are refused, must not read another's grade)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # kept in the file: readers look while we write
            with db:
                for statement in _statements():
                    db.execute(statement)
        finally:
            db.close()
        with contextlib.suppress(FileExistsError):  # another process made it first: as good
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:  # no hard links here: open_database makes the tables in place
                return
    finally:
        Path(tmp).unlink(missing_ok=True)


def open_database(path: Path, *, threads: bool = False) -> sqlite3.Connection:
    """A connection to the gradebook database at ``path``, made race-free if it is new.

    A file made by an older kit gets the tables it lacks, in one ``BEGIN IMMEDIATE``
    transaction. ``threads``: the connection may be used from several threads (one at a time).
    Raises ``OSError`` and ``sqlite3.Error``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create(path)
    db = sqlite3.connect(path, timeout=30, check_same_thread=not threads, isolation_level=None)
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=FULL")
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"grades", "checks", "tokens"} <= names:
            db.execute("BEGIN IMMEDIATE")
            for statement in _statements():
                db.execute(statement)
            db.execute("COMMIT")
    except BaseException:
        db.close()
        raise
    db.isolation_level = ""  # back to the module's default: `with db:` is a transaction
    return db


class Gradebook:
    """The grades of every batch run into one output folder, in ``gradebook.sqlite``."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "gradebook.sqlite"
        self.db = open_database(self.path)

    def results_path(self, assignment: str, student: str) -> Path:
        return self.folder / assignment / student / "results.json"

    def recorded(self, assignment: str) -> dict[str, tuple[str, str]]:
        """``{student: (key, status)}`` of the rows already in the gradebook."""
        rows = self.db.execute("SELECT student, key, status FROM grades WHERE assignment = ?",
                               (assignment,))
        return {r["student"]: (r["key"], r["status"]) for r in rows}

    def record(self, outcome: Outcome) -> None:
        """Write one submission's results.json and gradebook row (a failed one has no JSON)."""
        results = self.results_path(outcome.assignment, outcome.student)
        if outcome.status == FAILED:
            results.unlink(missing_ok=True)  # a stale grade of an older version would mislead
        else:
            write_json(outcome.results, results)
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO grades VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (outcome.assignment, outcome.student, outcome.submission, outcome.key,
                 outcome.status, outcome.score, outcome.max_score, outcome.error,
                 round(outcome.seconds, 3), now, outcome.grader,
                 json.dumps(outcome.results, allow_nan=False)))

    def rows(self, assignment: str) -> list[sqlite3.Row]:
        return list(self.db.execute("SELECT * FROM grades WHERE assignment = ? ORDER BY student",
                                    (assignment,)))

    def everything(self) -> list[dict[str, Any]]:
        """Every row of every assignment as a dict, ``results`` parsed (for the dashboard)."""
        rows = self.db.execute("SELECT * FROM grades ORDER BY assignment, student")
        return [{**dict(r), "results": json.loads(r["results"])} for r in rows]

    def export_csv(self, assignment: str,
                   skipped: Sequence[tuple[str, str, str]] = ()) -> Path:
        """``<folder>/<assignment>.csv``: one row per student, the total and each test's points.

        ``skipped`` rows ``(name, path, why)`` (files of the class folder that are no submission)
        follow with status ``skipped``, no score and the reason; they are not in the gradebook.
        Every cell goes through ``for_csv_cell``: a file named ``=HYPERLINK(...)`` is text in a
        spreadsheet, not a formula.
        """
        rows = self.rows(assignment)
        tests: list[str] = []
        per_row: list[dict[str, Any]] = []
        for row in rows:
            scores = {}
            for test in json.loads(row["results"]).get("tests", []):
                test_id = (test.get("extra_data") or {}).get("id") or test.get("name", "")
                scores[test_id] = test.get("score", 0)
                if test_id not in tests:
                    tests.append(test_id)
            per_row.append(scores)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")

        def write(cells: list[Any]) -> None:
            writer.writerow([for_csv_cell(cell) for cell in cells])

        write([*FIXED_COLUMNS, *tests])
        for row, scores in zip(rows, per_row, strict=True):
            write([*(row[c] for c in FIXED_COLUMNS), *(scores.get(t, "") for t in tests)])
        for name, where, why in skipped:
            extra = {"student": name, "status": "skipped", "error": why, "submission": where}
            write([extra.get(c, "") for c in FIXED_COLUMNS])
        path = self.folder / f"{assignment}.csv"
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=self.folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text.getvalue())
        os.replace(tmp, path)
        return path

    def close(self) -> None:
        self.db.close()
