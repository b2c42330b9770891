"""A plain CSV of the grades, for any LMS, a spreadsheet or a script.

One row per student: first every row of the roster in its order (with the kit's name where a
grade matched it), then every student with grades who is on no roster row (``lms_id`` empty).
Without a roster, every student with a grade, by name. The columns:

``student, lms_id``, then for each assignment ``<a> score, <a> max, <a> status, <a> note``:

- ``score``: the points exported (``invalid`` is 0; ``failed`` and ``missing`` are empty);
- ``max``: the assignment's points;
- ``status``: ``graded``, ``invalid``, ``failed``, or ``missing`` (no grade in the gradebook);
- ``note``: why it is invalid or failed.

``lms_id`` is the roster's ``--id-column``, by default the first it has of ``ID``, ``SIS User
ID``, ``SIS Login ID``, ``Email address``, ``Username``, ``ID number``, else a plain roster's
second column.
"""

from __future__ import annotations

from autograder.lms.grades import LmsError
from autograder.lms.join import Entry, Joined, Table, number
from autograder.lms.roster import Roster

IDENTIFIERS = ("ID", "SIS User ID", "SIS Login ID", "Email address", "Username", "ID number")
MISSING = "missing"


def lms_id_column(roster: Roster, given: str | None, name_column: str | None) -> str | None:
    if given is not None:
        return roster.need(given, "(given as --id-column)")
    for name in IDENTIFIERS:
        if roster.column(name):
            return roster.column(name)
    others = [c for c in roster.columns if c != name_column]
    return others[0] if others else name_column


def table(joined: Joined, *, id_column_name: str | None = None) -> Table:
    roster, grades = joined.roster, joined.grades
    if roster is None and id_column_name is not None:
        raise LmsError("--id-column names a column of the roster: give --roster too")
    column = (lms_id_column(roster, id_column_name, joined.match.column if joined.match else None)
              if roster is not None else None)
    header: list[object] = ["student", "lms_id"]
    for a in grades.assignments:
        header += [f"{a} score", f"{a} max", f"{a} status", f"{a} note"]
    result = Table(rows=[header])
    if column is not None:
        result.notes.append(f"lms_id is the roster's column {column!r}")
    for entry in [*joined.entries, *joined.unlisted]:
        result.rows.append(_row(entry, column, joined))
    return result


def _row(entry: Entry, column: str | None, joined: Joined) -> list[object]:
    person = entry.person
    row: list[object] = [entry.student, person.get(column) if person is not None else ""]
    for a in joined.grades.assignments:
        grade = entry.grades.get(a)
        score = entry.score(a)
        row += ["" if score is None else number(score), number(joined.grades.points[a]),
                grade.status if grade else MISSING, grade.error if grade else ""]
    return row
