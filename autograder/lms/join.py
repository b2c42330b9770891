"""Grades and a roster joined: what goes into an LMS file, and the lines a person must read.

Each row of the gradebook becomes, in every LMS file alike:

- ``graded``: its score, in the kit's points (the maximum is the assignment's points).
- ``invalid`` (the submission cannot be read: not a notebook, another assignment's notebook, an
  empty folder): **0 points**, as the batch's own CSV has it, and a line with the reason. The
  student handed in nothing the grader could read; an instructor who accepts a fixed file grades
  it and exports again.
- ``failed`` (the grader could not finish, or nbgrader waits for a grade by hand): **not
  exported**: its cell is left without a grade, and a line says it needs a regrade. A fault of a
  machine is never a student's 0.

A student on the roster with no row in the gradebook gets a line and no grade: the LMS's own rule
for missing work applies (an extension, a late submission still to come). A row whose student is
on no roster row, or on several, gets a line and is not exported: the file cannot name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from autograder.batch.jobs import FAILED, GRADED, INVALID
from autograder.lms.grades import Grade, Grades
from autograder.lms.roster import Match, Person, Roster, match
from autograder.text import for_csv_cell


def number(value: float) -> int | float:
    """A score as the LMS should read it: 14, 13.5, never 14.0 or 13.333333333."""
    return int(value) if float(value).is_integer() else round(value, 4)


def exported(grade: Grade | None) -> float | None:
    """The score an LMS file holds for this row: see the module's docstring."""
    if grade is None or grade.status == FAILED:
        return None
    return grade.score if grade.status == GRADED else 0.0


def mangled(identifier: str) -> bool:
    """Whether the file cannot hold ``identifier`` as it is: it begins like a formula, and is
    written as text (an apostrophe first) that the LMS will not match."""
    return for_csv_cell(identifier) != identifier


@dataclass
class Entry:
    person: Person | None  # their roster row (None: no roster, or not on it)
    student: str  # the kit's name ("" for a roster row no grade matched)
    grades: dict[str, Grade] = field(default_factory=dict)  # by assignment

    def score(self, assignment: str) -> float | None:
        return exported(self.grades.get(assignment))

    def has_scores(self, assignments: list[str]) -> bool:
        return any(self.score(a) is not None for a in assignments)


@dataclass
class Joined:
    grades: Grades
    roster: Roster | None
    match: Match | None
    entries: list[Entry]  # the roster's rows in its order (without a roster: every student)
    unlisted: list[Entry]  # students with grades who are on no roster row (or several)
    problems: list[str] = field(default_factory=list)  # one line each

    def describe(self, person: Person) -> str:
        """A roster row as people recognise it: its kit name, its name in the LMS, its line."""
        column = self.match.column if self.match else None
        name = person.get("Student") or " ".join(
            p for p in (person.get("First name"), person.get("Last name")) if p)
        key = person.get(column) or f"no {column}"
        where = f"{self.roster.path.name if self.roster else 'roster'} line {person.line}"
        return f"{key} ({name}, {where})" if name and name != key else f"{key} ({where})"

    def mangled(self, person: Person, identifiers: list[str]) -> str:
        """The line for a roster row whose every identifier begins like a formula."""
        return (f"not exported: {self.describe(person)} is known to the LMS only as "
                f"{' or '.join(repr(i) for i in identifiers)}, which a spreadsheet would run as a "
                "formula; the file would hold it as text the LMS does not match: enter this "
                "grade by hand")


def join(grades: Grades, roster: Roster | None, name_column: str | None = None) -> Joined:
    """Join ``grades`` to ``roster`` by the kit's names; the problems are in ``problems``."""
    by_student: dict[str, dict[str, Grade]] = {}
    for grade in grades.rows:
        by_student.setdefault(grade.student, {})[grade.assignment] = grade
    if roster is None:
        entries = [Entry(None, s, by_student[s]) for s in sorted(by_student)]
        joined = Joined(grades, None, None, entries, [])
        _statuses(joined, entries)
        return joined
    found = match(roster, list(by_student), name_column)
    owner: dict[int, str] = {}
    clashes: list[str] = []
    for student, person in sorted(found.people.items()):
        if id(person) in owner:
            clashes.append(student)
        else:
            owner[id(person)] = student
    entries = [Entry(p, owner.get(id(p), ""), by_student.get(owner.get(id(p), ""), {}))
               for p in roster.people]
    placed = set(owner.values())
    unlisted = [Entry(None, s, by_student[s]) for s in sorted(by_student) if s not in placed]
    joined = Joined(grades, roster, found, entries, unlisted)
    _statuses(joined, [e for e in entries if e.student])
    for entry in unlisted:
        what = ", ".join(sorted(entry.grades, key=grades.assignments.index))
        if entry.student in found.ambiguous:
            lines = ", ".join(str(p.line) for p in found.ambiguous[entry.student])
            why = f"matches several rows of {roster.path.name} (lines {lines})"
        elif entry.student in clashes:
            why = f"matches the same row of {roster.path.name} as another student"
        else:
            why = f"is in no row of {roster.path.name} (column {found.column!r})"
        joined.problems.append(f"not on the roster: {entry.student} has a grade of {what} but "
                               f"{why}: not exported")
    for entry in entries:
        missing = [a for a in grades.assignments if a not in entry.grades]
        if missing:
            joined.problems.append(f"no grade: {joined.describe(entry.person)} is on the roster "
                                   f"but has no grade of {', '.join(missing)}")
    return joined


def _statuses(joined: Joined, entries: list[Entry]) -> None:
    for entry in entries:
        for assignment in joined.grades.assignments:
            grade = entry.grades.get(assignment)
            if grade is None or grade.status == GRADED:
                continue
            if grade.status == INVALID:
                joined.problems.append(f"invalid: {entry.student}, {assignment}: exported as 0 "
                                       f"points: {grade.error}")
            else:
                joined.problems.append(f"failed: {entry.student}, {assignment}: not exported, "
                                       f"needs a regrade ({joined.grades.regrade}): {grade.error}")


@dataclass
class Table:
    """What an LMS writer makes of a :class:`Joined`: the file's rows, header first."""

    rows: list[list[object]]
    head: int = 1  # rows before the students' (Canvas: the header and Points Possible)
    notes: list[str] = field(default_factory=list)  # how columns were named; what to do next
    problems: list[str] = field(default_factory=list)  # more lines like Joined.problems
