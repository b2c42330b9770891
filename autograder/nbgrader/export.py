"""``nbgrader export`` with a ``needs_attention`` column: no grade that is not one looks like a 0.

nbgrader's CSV gives a submission that could not be graded the same 0 as an empty one. The kit's
plugin (``c.ExportApp.plugin_class`` in the course's config) writes nbgrader's columns, properly
quoted, and one more, ``needs_attention``: empty for a graded submission, else why it needs a
person: the hidden suite could not grade it (the reason ``GradeWithHiddenSuites`` recorded, e.g.
"this notebook is the 'losses' assignment, not 'mlp_mnist'"), or ``nbgrader autograde`` failed on
it (no autograded notebook), or a test cell was never graded.

Every cell goes through ``for_csv_cell`` (``autograder/text.py``): a student id or a reason that
begins with ``=`` is text in a spreadsheet, not a formula; numbers stay numbers. The lines logged
for submissions that need attention are printed inert.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry, SubmittedAssignment
from nbgrader.plugins import ExportPlugin

from autograder.nbgrader import verdicts
from autograder.text import for_csv_cell, for_terminal

COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
           "raw_score", "late_submission_penalty", "score", "max_score", "needs_attention")


class CsvWithAttention(ExportPlugin):
    """nbgrader's CSV export plus ``needs_attention``; see the module's docstring."""

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        students = {str(s) for s in self.student}
        assignments = {str(a) for a in self.assignment}
        self.log.info("Exporting grades to %s", dest)
        rows = []
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                row = {"assignment": assignment.name, "duedate": assignment.duedate,
                       "student_id": student.id, "last_name": student.last_name,
                       "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:  # nothing submitted: a true 0
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0,
                               score=0.0, needs_attention="")
                else:
                    penalty = submission.late_submission_penalty or 0.0
                    row.update(timestamp=submission.timestamp, raw_score=submission.score,
                               late_submission_penalty=penalty,
                               score=max(0.0, submission.score - penalty),
                               needs_attention=self.attention(submission))
                rows.append({k: row.get(k) for k in COLUMNS})
        with open(dest, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow([for_csv_cell(k) for k in COLUMNS])
            writer.writerows([for_csv_cell(row[k]) for k in COLUMNS] for row in rows)
        flagged = [r for r in rows if r["needs_attention"]]
        for row in flagged:
            self.log.warning("needs attention: %s", for_terminal(
                f"{row['student_id']}, {row['assignment']}: {row['needs_attention']}",
                one_line=True))

    def attention(self, submission: SubmittedAssignment) -> str:
        """Why a person should look at this submission's grade; "" if it was graded."""
        reasons = []
        for notebook in submission.notebooks:
            path = self._autograded(submission, notebook.name)
            if path is not None and not path.is_file():
                reasons.append(f"{notebook.name}: nbgrader autograde could not process it "
                               "(see its log)")
                continue
            if notebook.flagged or notebook.needs_manual_grade:
                problem = self._problem(path) if path is not None else ""
                reasons.append(f"{notebook.name}: {problem or 'not graded by the hidden suite'}")
        return "; ".join(reasons)

    def _autograded(self, submission: SubmittedAssignment, notebook: str) -> Path | None:
        coursedir = getattr(self.parent, "coursedir", None)
        if coursedir is None:
            return None
        folder = coursedir.format_path(coursedir.autograded_directory, submission.student.id,
                                       submission.assignment.name)
        return Path(folder) / f"{notebook}.ipynb"

    @staticmethod
    def _problem(path: Path) -> str:
        try:
            return verdicts.problem_of(nbformat.read(os.fspath(path), as_version=4))
        except (OSError, ValueError):
            return ""
