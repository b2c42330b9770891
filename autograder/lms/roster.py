"""The roster: the students as the LMS knows them, and which of them is which of the kit's.

The kit knows a student by a name: their folder in nbgrader's ``submitted/<student>/``, or the
stem of their file in a flat folder. The LMS knows them by identifiers of its own. A roster file
links the two; the easiest one is the LMS's own export, read as it comes:

- **Canvas**: the gradebook export (Grades, Export, "Export Entire Gradebook"): columns
  ``Student, ID, SIS User ID, SIS Login ID, Section``, then the assignments as
  ``Name (assignment id)``; its ``Points Possible`` row is kept (each assignment's points), the
  muted/"Manual Posting" rows and Canvas's ``Test Student`` are skipped.
- **Moodle**: the grades export ("Export to plain text file": ``First name``, ``Last name``,
  ``ID number``, ``Institution``, ``Department``, ``Email address``, then ``Assignment: Name
  (Real)`` ...) or the participants list downloaded as CSV (``Email address``, and ``Username``
  or ``ID number`` where the site shows them).
- **plain**: any other CSV with a header, e.g. ``student,SIS Login ID`` or ``student,email``.

The column that holds the kit's names (``--name-column``) is, by default, the one of these
candidates that matches the most of the graded students: Canvas ``SIS Login ID``, ``SIS User
ID``, ``ID``; Moodle ``Username``, ``Email address``, ``ID number``; a plain roster's first
column. Names are compared without regard to case, and an e-mail address also matches its local
part (``alice@uni.example`` is ``alice``). The delimiter (comma, semicolon or tab) is detected.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from autograder.lms.grades import LmsError

CANVAS, MOODLE, PLAIN = "canvas", "moodle", "plain"
CANVAS_NAMES = ("SIS Login ID", "SIS User ID", "ID")
MOODLE_NAMES = ("Username", "Email address", "ID number")
MOODLE_HEADERS = {"email address", "username", "id number", "first name"}
_POSTING = re.compile(r"^\s*(Muted|Manual Posting.*)?\s*$", re.IGNORECASE)
_TEST_STUDENTS = {"Student, Test", "Test Student"}


@dataclass(frozen=True)
class Person:
    line: int  # in the roster file, for messages
    fields: dict[str, str]

    def get(self, column: str | None) -> str:
        return self.fields.get(column, "").strip() if column else ""


@dataclass
class Roster:
    path: Path
    kind: str  # CANVAS, MOODLE or PLAIN
    columns: list[str]
    people: list[Person]
    points_possible: dict[str, str] = field(default_factory=dict)  # Canvas's row, by column

    def column(self, name: str) -> str | None:
        """The roster's column called ``name``, ignoring case and spaces around it."""
        want = name.strip().casefold()
        return next((c for c in self.columns if c.strip().casefold() == want), None)

    def need(self, name: str, why: str) -> str:
        found = self.column(name)
        if found is None:
            raise LmsError(f"{self.path}: has no column {name!r} {why} (its columns: "
                           f"{', '.join(self.columns)})")
        return found

    def candidates(self) -> list[str]:
        """The columns that may hold the kit's names, in order of preference."""
        names = CANVAS_NAMES if self.kind == CANVAS else MOODLE_NAMES
        found = [c for c in (self.column(n) for n in names) if c]
        if self.kind == PLAIN:
            found = [self.columns[0], *(c for c in found if c != self.columns[0])]
        return found


def read(path: Path) -> Roster:
    """Read a roster file (see the module's docstring); raises :class:`LmsError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LmsError(f"{path}: no such file or directory") from None
    except IsADirectoryError:
        raise LmsError(f"{path}: is a folder, not a roster file") from None
    except UnicodeDecodeError:
        raise LmsError(f"{path}: not UTF-8 text (save the roster as CSV UTF-8)") from None
    except OSError as exc:
        raise LmsError(f"{path}: {exc.strerror}") from None
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise LmsError(f"{path}: empty: a roster starts with a header row")
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    if len(header) != len(set(header)) or "" in header:
        raise LmsError(f"{path}: its header row has an empty or repeated column name")
    kind = (CANVAS if header[:2] == ["Student", "ID"] else
            MOODLE if MOODLE_HEADERS & {h.casefold() for h in header} else PLAIN)
    roster = Roster(path=path, kind=kind, columns=header, people=[])
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        fields = dict(zip(header, row, strict=False))
        if kind == CANVAS:
            if "Points Possible" in row[0]:
                roster.points_possible = {k: v.strip() for k, v in fields.items()}
                continue
            if all(_POSTING.match(cell) for cell in row) or row[0].strip() in _TEST_STUDENTS:
                continue
        roster.people.append(Person(line=reader.line_num, fields=fields))
    return roster


def keys(value: str) -> set[str]:
    """What a roster cell matches: itself and, for an e-mail address, its local part."""
    value = value.strip().casefold()
    if not value:
        return set()
    return {value, value.split("@", 1)[0]} if "@" in value[1:] else {value}


@dataclass
class Match:
    column: str  # the roster's column holding the kit's names
    people: dict[str, Person]  # kit name -> their roster row
    ambiguous: dict[str, list[Person]]  # kit names that match several rows
    chosen: bool  # picked by the kit (True) or named by the instructor


def match(roster: Roster, students: Collection[str], column: str | None = None) -> Match:
    """Who of ``students`` (the kit's names) is who on ``roster``; ``column`` names the roster's
    column of kit names (default: the best candidate, see the module's docstring)."""
    if column is not None:
        return _match(roster, students, roster.need(column, "(given as --name-column)"), False)
    candidates = roster.candidates()
    if not candidates:
        raise LmsError(f"{roster.path}: none of its columns can hold the kit's student names "
                       "(name one with --name-column)")
    tried = [_match(roster, students, c, True) for c in candidates]
    return max(tried, key=lambda m: len(m.people))  # the first of the best: max keeps it


def _match(roster: Roster, students: Collection[str], column: str, chosen: bool) -> Match:
    index: dict[str, list[Person]] = {}
    for person in roster.people:
        for key in keys(person.get(column)):
            index.setdefault(key, []).append(person)
    found: dict[str, Person] = {}
    ambiguous: dict[str, list[Person]] = {}
    for student in students:
        hits = index.get(student.strip().casefold(), [])
        if len(hits) == 1:
            found[student] = hits[0]
        elif hits:
            ambiguous[student] = hits
    return Match(column=column, people=found, ambiguous=ambiguous, chosen=chosen)
