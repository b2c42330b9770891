"""Who is asking: one random token per student, kept in the service's database as a hash.

``autograder tokens ROSTER --db PATH`` issues a token (``secrets.token_urlsafe(32)``: 256
random bits) to each student of the roster who has none, or to every one with ``rotate``; only
the token's sha256 is stored. A plain, unsalted sha256 is enough here, unlike for passwords: a
token has 256 random bits, so no list of likely tokens exists to try against a stolen database,
and neither salt nor a slow or keyed hash (whose key the service would have to keep beside the
database) would add anything. A request's token is hashed and looked up, and the stored hash is
compared with ``hmac.compare_digest`` (constant time).

A roster is nbgrader's (its ``gradebook.db``, table ``student``, column ``id``) or a CSV file
with a column ``student`` (or ``id``; else the first column).
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import hmac
import os
import secrets
import sqlite3
import tempfile
from pathlib import Path

from autograder.batch.gradebook import open_database

TOKEN_BYTES = 32
MAX_ID = 200  # characters of a student id


class RosterError(ValueError):
    """A roster that cannot be read; the message is one line naming the file."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _checked(path: Path, ids: list[str]) -> list[str]:
    students: list[str] = []
    for raw in ids:
        student = (raw or "").strip()
        if not student:
            continue
        if len(student) > MAX_ID or not student.isprintable():
            raise RosterError(f"{path}: student id {student[:40]!r} is not a short line of text")
        if student not in students:
            students.append(student)
    if not students:
        raise RosterError(f"{path}: the roster names no students")
    return students


def _nbgrader(path: Path) -> list[str]:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute("SELECT id FROM student ORDER BY id").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise RosterError(f"{path}: not an nbgrader gradebook with a student table ({exc})") \
            from None
    return [str(r[0]) for r in rows]


def _csv(path: Path, text: str) -> list[str]:
    rows = list(csv.reader(text.splitlines()))
    if not rows or not rows[0]:
        raise RosterError(f"{path}: the roster is empty")
    header = [h.strip().lower() for h in rows[0]]
    for name in ("student", "id"):
        if name in header:
            column = header.index(name)
            return [r[column] if column < len(r) else "" for r in rows[1:]]
    return [r[0] if r else "" for r in rows]  # no header: the first column, every row


def read_roster(path: Path) -> list[str]:
    """The student ids of a roster, in its order, each once; raises :class:`RosterError`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RosterError(f"{path}: cannot be read ({exc.strerror})") from None
    if data.startswith(b"SQLite format 3\0"):
        return _checked(path, _nbgrader(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError(f"{path}: neither an nbgrader gradebook nor a UTF-8 CSV file (byte "
                          f"{exc.start})") from None
    return _checked(path, _csv(path, text))


class Tokens:
    """The ``tokens`` table of the service's database."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    @classmethod
    def open(cls, path: Path, *, threads: bool = False) -> Tokens:
        return cls(open_database(path, threads=threads))

    def students(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT student FROM tokens")}

    def issue(self, students: list[str], *, rotate: bool = False) -> dict[str, str]:
        """New tokens for the students who have none (all of them if ``rotate``), in one
        transaction; ``{student: token}`` of those issued."""
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        with self.db:
            have = self.students()
            issued = {s: secrets.token_urlsafe(TOKEN_BYTES) for s in students
                      if rotate or s not in have}
            self.db.executemany("INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)",
                                [(s, digest(t), now) for s, t in issued.items()])
        return issued

    def student_of(self, token: str) -> str | None:
        """The student whose token this is, or None."""
        wanted = digest(token)
        row = self.db.execute("SELECT student, hash FROM tokens WHERE hash = ?",
                              (wanted,)).fetchone()
        if row is None or not hmac.compare_digest(row[1], wanted):
            return None
        return str(row[0])


def write_tokens(path: Path, issued: dict[str, str]) -> None:
    """Add ``issued`` to the CSV ``student,token`` at ``path`` (a student's newer token replaces
    the older), readable by its owner only (mode 0600), replaced atomically."""
    path = Path(path)
    rows: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines()):
            if row.get("student") and row.get("token"):
                rows[row["student"]] = row["token"]
    rows.update(issued)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["student", "token"])
            writer.writerows(sorted(rows.items()))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
