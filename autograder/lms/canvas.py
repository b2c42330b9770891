"""Canvas's Gradebook import file (Grades, Import, choose the CSV).

The format followed is the one Instructure documents in the Canvas Instructor Guide, "How do I
import grades in the Gradebook?"
(https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807),
checked against what Canvas's importer reads (canvas-lms, ``app/models/gradebook_importer.rb``):

- The header row is ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per
  assignment. The importer insists that the first two are ``Student`` and ``ID``, that ``SIS User
  ID`` is followed by ``SIS Login ID`` and that ``Section`` ends the student columns.
- An assignment Canvas already has is named as Canvas's own export names it, ``Name (assignment
  id)``. Such a column is found in the roster when the roster is that export (its title is the
  kit's assignment name or title), or named with ``--column ASSIGNMENT="Name (id)"``. Any other
  name makes Canvas use its assignment of exactly that title, or create one.
- The second row, ``Points Possible``, is optional for Canvas; it gives a new assignment its
  points. It holds the kit's points, except for an assignment Canvas has, where it repeats
  Canvas's own value (the import changes no assignment) and a note says if the two differ.
- Each student row carries the identifiers from the roster: Canvas finds the student by ``ID``,
  else by ``SIS User ID`` or ``SIS Login ID``, else by name. A roster row without any of the
  three is not exported, nor one whose every identifier begins like a formula (the file must
  hold it as text, see :mod:`autograder.text`, which Canvas would not match).
- Scores are points. An empty cell is no grade; where Canvas holds a grade for that cell, its
  import preview shows the change and would clear it (failed rows: see :mod:`autograder.lms.join`).
  Rows with no score to import are left out, so Canvas keeps what it has for those students.
"""

from __future__ import annotations

import contextlib
import re

from autograder import manifest
from autograder.lms.grades import LmsError
from autograder.lms.join import Joined, Table, mangled, number
from autograder.lms.roster import Roster

HEADER = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
IDENTIFIERS = ("ID", "SIS User ID", "SIS Login ID")
POINTS_POSSIBLE = "Points Possible"
_COLUMN = re.compile(r"^(?P<title>.*\S)\s*\((?P<id>\d+)\)$")


def _titles(assignment: str) -> set[str]:
    titles = {assignment.casefold()}
    with contextlib.suppress(manifest.UnknownAssignment):
        titles.add(manifest.get(assignment).title.casefold())
    return titles


def column_for(assignment: str, roster: Roster, given: dict[str, str]) -> tuple[str, bool]:
    """The header of ``assignment``'s column and whether Canvas has it (known from the roster)."""
    if assignment in given:
        return given[assignment], roster.column(given[assignment]) is not None
    titles = _titles(assignment)
    for column in roster.columns:
        found = _COLUMN.match(column)
        if found and found["title"].strip().casefold() in titles:
            return column, True
    return assignment, False


def table(joined: Joined, *, columns: dict[str, str] | None = None) -> Table:
    """The Canvas import file of ``joined``; ``columns`` maps an assignment to its header."""
    roster, grades = joined.roster, joined.grades
    if roster is None:
        raise LmsError("a Canvas file needs a roster (--roster)")
    present = [c for c in IDENTIFIERS if roster.column(c)]
    if not present:
        raise LmsError(f"{roster.path}: has none of the columns Canvas finds students by "
                       f"({', '.join(IDENTIFIERS)}); its columns: {', '.join(roster.columns)}")
    for assignment in columns or {}:
        if assignment not in grades.assignments:
            raise LmsError(f"--column {assignment}=...: {assignment!r} is not exported "
                           f"(exported: {', '.join(grades.assignments)})")
    result = Table(rows=[], head=2)
    headers, points = [], []
    for assignment in grades.assignments:
        header, existing = column_for(assignment, roster, columns or {})
        kit = number(grades.points[assignment])
        theirs = roster.points_possible.get(roster.column(header) or "", "") if existing else ""
        headers.append(header)
        points.append(_number(theirs) if _number(theirs) is not None else kit)
        if existing:
            result.notes.append(f"{assignment} -> Canvas's column {header!r}")
            if _number(theirs) is not None and _number(theirs) != kit:
                result.notes.append(
                    f"{assignment}: Canvas's {header!r} is worth {theirs} points, the kit grades "
                    f"out of {kit}: the scores are the kit's points; set the assignment's points "
                    f"in Canvas to {kit}, or convert")
        elif _COLUMN.match(header):
            result.notes.append(f"{assignment} -> column {header!r}: Canvas's assignment "
                                f"{_COLUMN.match(header)['id']} (not in the roster: its points "
                                "are not known here)")
        else:
            result.notes.append(f"{assignment} -> column {header!r}: Canvas uses its assignment "
                                f"of that title, or creates one worth {kit} points")
    result.rows.append([*HEADER, *headers])
    result.rows.append([POINTS_POSSIBLE, "", "", "", "", *points])
    for entry in joined.entries:
        person = entry.person
        if person is None or not entry.has_scores(grades.assignments):
            continue
        known = [v for v in (person.get(roster.column(c)) for c in present) if v]
        if not known:
            result.problems.append(f"no Canvas identifier: {joined.describe(person)} has no "
                                   f"{', '.join(present)} on the roster: not exported")
            continue
        if all(mangled(v) for v in known):
            result.problems.append(joined.mangled(person, known))
            continue
        ids = [person.get(roster.column(c)) for c in HEADER]
        ids[0] = ids[0] or entry.student
        scores = [entry.score(a) for a in grades.assignments]
        result.rows.append([*ids, *("" if s is None else number(s) for s in scores)])
    if any(cell == "" for row in result.rows[2:] for cell in row[len(HEADER):]):
        result.notes.append("empty cells (failed or missing grades) are no grade: where Canvas "
                            "holds one, its import preview shows the change and would clear it")
    return result


def _number(text: str) -> int | float | None:
    try:
        return number(float(text))
    except ValueError:
        return None
