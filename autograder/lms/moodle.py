"""Moodle's "Import grades from CSV file" (Grades, Import, CSV file).

The format followed is the one MoodleDocs describes on "Grade import"
(https://docs.moodle.org/en/Grade_import), checked against what Moodle's importer does
(``grade/import/csv/classes/load_data.php``):

- One header row, then one row per student. One column identifies the student: on import,
  "Identify user by" maps it ("Map from") to a user field ("Map to": Email address, Username, ID
  number or user id). Each other column is mapped to a grade item, to "New grade item" or to the
  feedback of a grade item, or ignored.
- The identifier column is the roster's ``Email address`` (else ``Username``, else ``ID number``,
  else a plain roster's second column, or the one named with ``--id-column``), under the
  roster's own header. Moodle stops the whole import at a row whose identifier it cannot find,
  and a row with an empty one would be read as the row before's student: rows without an
  identifier, or with one that begins like a formula (written as text, see
  :mod:`autograder.text`, so Moodle would not find it), are left out and listed.
- Each grade column is headed as Moodle lists the grade item, ``Assignment: Name`` (found in a
  roster that is Moodle's grades export, whose columns read ``Assignment: Name (Real)``), else by
  the kit's assignment name (the name "New grade item" gives the item; create it with the kit's
  maximum, as Moodle's default is 100 and it refuses grades above its limit).
- A grade is a number; ``-`` is Moodle's "no grade". For a new item Moodle leaves that grade out;
  for an item it has, it clears the grade it holds (MoodleDocs: importing over an item replaces
  its grades). Failed rows are ``-`` (see :mod:`autograder.lms.join`).
- ``--feedback`` adds, after each grade column, its feedback column, ``<item> (Feedback)`` as in
  Moodle's export: the score in words, or why the submission could not be graded. MoodleDocs:
  import the feedback together with its grade column, or the grades of that item are lost.
"""

from __future__ import annotations

from pathlib import Path

from autograder.batch.jobs import GRADED, INVALID
from autograder.lms.grades import Grade, LmsError
from autograder.lms.join import Joined, Table, mangled, number
from autograder.lms.roster import MOODLE_NAMES, Roster

IDENTIFIERS = ("Email address", "Username", "ID number")
NO_GRADE = "-"
_DISPLAY_TYPES = (" (Real)", " (Percentage)", " (Letter)")


def id_column(roster: Roster, given: str | None, name_column: str | None = None) -> str:
    """The roster's column that identifies each student to Moodle."""
    if given is not None:
        return roster.need(given, "(given as --id-column)")
    for name in IDENTIFIERS:
        if roster.column(name):
            return roster.column(name) or name
    others = [c for c in roster.columns if c != name_column]
    if len(roster.columns) > 1 and others:
        return others[0]
    raise LmsError(f"{roster.path}: has no column that identifies students to Moodle "
                   f"({', '.join(MOODLE_NAMES)}, or a second column)")


def item_for(assignment: str, roster: Roster) -> str:
    """The header of ``assignment``'s grade column (see the module's docstring)."""
    for column in roster.columns:
        for suffix in _DISPLAY_TYPES:
            if column.endswith(suffix):
                item = column[: -len(suffix)]
                if item.split(": ", 1)[-1].strip().casefold() == assignment.casefold():
                    return item
    return assignment


def feedback_of(grade: Grade | None) -> str:
    if grade is None or grade.status not in (GRADED, INVALID):
        return ""
    if grade.status == GRADED:
        return f"Autograder: {number(grade.score)} / {number(grade.max_score)} points."
    why = grade.error
    if grade.submission and why.startswith(grade.submission):  # no paths of the grader's disk
        why = Path(grade.submission).name + why[len(grade.submission):]
    return f"Autograder: 0 points: the submission could not be graded: {why}"


def table(joined: Joined, *, id_column_name: str | None = None, feedback: bool = False) -> Table:
    """The Moodle import file of ``joined``."""
    roster, grades = joined.roster, joined.grades
    if roster is None:
        raise LmsError("a Moodle file needs a roster (--roster)")
    ident = id_column(roster, id_column_name, joined.match.column if joined.match else None)
    result = Table(rows=[])
    header: list[object] = [ident]
    for assignment in grades.assignments:
        item = item_for(assignment, roster)
        header += [item, f"{item} (Feedback)"] if feedback else [item]
        result.notes.append(f"{assignment} -> column {item!r} (out of "
                            f"{number(grades.points[assignment])} points)")
    result.rows.append(header)
    for entry in joined.entries:
        if entry.person is None or not entry.has_scores(grades.assignments):
            continue
        value = entry.person.get(ident)
        if not value:
            result.problems.append(f"no {ident}: {joined.describe(entry.person)} has none on "
                                   "the roster: not exported")
            continue
        if mangled(value):  # Moodle would stop the whole import at this row
            result.problems.append(joined.mangled(entry.person, [value]))
            continue
        row: list[object] = [value]
        for assignment in grades.assignments:
            score = entry.score(assignment)
            row.append(NO_GRADE if score is None else number(score))
            if feedback:
                row.append(feedback_of(entry.grades.get(assignment)) if score is not None else "")
        result.rows.append(row)
    field = {"email address": "Email address", "username": "Username", "id number": "ID number"}
    result.notes.append(f"on import: Identify user by, Map from {ident!r} to "
                        f"{field.get(ident.casefold(), 'the user field it holds')}")
    if any(cell == NO_GRADE for row in result.rows[1:] for cell in row):
        result.notes.append(f"cells of {NO_GRADE!r} are no grade (failed or missing): Moodle "
                            "clears a grade it holds for such a cell; import that column after "
                            "the regrade")
    return result
