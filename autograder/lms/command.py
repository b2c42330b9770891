"""``autograder export canvas|moodle|csv``: a gradebook's grades as a file an LMS imports.

::

    main(lms="canvas", gradebook=Path("grades"), roster=Path("canvas-gradebook.csv"),
         out=Path("canvas.csv"))

reads the grades (:mod:`autograder.lms.grades`: a batch's ``gradebook.sqlite`` or nbgrader's
``gradebook.db``), joins them to the roster by the kit's student names
(:mod:`autograder.lms.roster`, :mod:`autograder.lms.join`), lays them out as the LMS's import
expects (:mod:`autograder.lms.canvas`, :mod:`autograder.lms.moodle`, :mod:`autograder.lms.plain`)
and writes the file, every cell made safe for spreadsheets (:func:`autograder.text.write_csv`).
Beside it, ``<out stem>.summary.txt`` keeps what was exported and one line for each thing a
person must look at: a student on the roster without a grade, a grade whose student is not on the
roster, an invalid submission (exported as 0), a failed one (not exported). The gradebook is only
read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autograder.lms import canvas, moodle, plain
from autograder.lms import grades as gradebooks
from autograder.lms import roster as rosters
from autograder.lms.grades import Grades, LmsError
from autograder.lms.join import Joined, join
from autograder.text import write_csv

LMSES = {"canvas": "Canvas", "moodle": "Moodle", "csv": "a plain CSV"}
DEFAULT_OUT = {"canvas": Path("canvas.csv"), "moodle": Path("moodle.csv"), "csv": Path("grades.csv")}

__all__ = ["DEFAULT_OUT", "LMSES", "LmsError", "Summary", "main"]


@dataclass
class Summary:
    lms: str
    out: Path
    summary: Path  # the text file beside ``out``
    grades: Grades
    joined: Joined
    exported: int  # student rows in the file
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one line each, also on stderr

    def headline(self) -> str:
        """What was written, in a few lines (the CLI prints it on stdout)."""
        g = self.grades
        lines = [f"wrote {self.out} for {LMSES[self.lms]}: grades of {', '.join(g.assignments)} "
                 f"for {self.exported} students, from {g.source}"]
        found, students = self.joined.match, g.students()
        if found is not None and self.joined.roster is not None:
            how = "found" if found.chosen else "looked up"
            lines.append(f"kit names {how} in column {found.column!r} of "
                         f"{self.joined.roster.path.name}: {len(found.people)} of "
                         f"{len(students)} students with grades")
            if found.chosen and not found.people and students:
                lines.append("no kit name matched a roster row: name the roster's column of "
                             "the kit's names with --name-column")
        lines += self.notes
        if self.problems:
            lines.append(f"{len(self.problems)} lines to read (on stderr, and in {self.summary})")
        return "\n".join(lines)

    def describe(self) -> str:
        """The whole summary: the headline, then every line to read."""
        return self.headline() + "".join(f"\n  {p}" for p in self.problems) + "\n"


def main(*, lms: str, gradebook: Path, out: Path, roster: Path | None = None,
         assignments: Sequence[str] = (), name_column: str | None = None,
         id_column: str | None = None, columns: Mapping[str, str] | None = None,
         feedback: bool = False) -> Summary:
    """Export the grades of ``assignments`` (default: every one in ``gradebook``) for ``lms``
    (canvas, moodle or csv) to ``out``; see the module's docstring.

    ``name_column`` names the roster's column of the kit's student names (default: guessed, see
    :mod:`autograder.lms.roster`); ``id_column`` the roster's column that identifies students to
    Moodle or fills the plain CSV's ``lms_id``; ``columns`` (Canvas) maps an assignment to the
    header of its Canvas column; ``feedback`` (Moodle) adds feedback columns. Raises
    :class:`LmsError` (one line) and ``OSError`` (the file cannot be written).
    """
    if lms not in LMSES:
        raise LmsError(f"unknown LMS {lms!r} (known: {', '.join(LMSES)})")
    if roster is None and lms != "csv":
        raise LmsError(f"a {LMSES[lms]} file needs a roster (--roster): the LMS's identifiers "
                       "of the kit's students")
    if roster is not None and Path(out).resolve() == Path(roster).resolve():
        raise LmsError(f"{out}: is the roster: write the export to another file (-o)")
    grades = gradebooks.read(Path(gradebook), assignments)
    people = rosters.read(Path(roster)) if roster is not None else None
    joined = join(grades, people, name_column)
    if lms == "canvas":
        table = canvas.table(joined, columns=dict(columns or {}))
    elif lms == "moodle":
        table = moodle.table(joined, id_column_name=id_column, feedback=feedback)
    else:
        table = plain.table(joined, id_column_name=id_column)
    out = Path(out)
    write_csv(out, table.rows)
    summary = Summary(lms=lms, out=out, summary=out.with_name(f"{out.stem}.summary.txt"),
                      grades=grades, joined=joined, exported=len(table.rows) - table.head,
                      notes=table.notes, problems=[*joined.problems, *table.problems])
    summary.summary.write_text(summary.describe(), encoding="utf-8")
    return summary
