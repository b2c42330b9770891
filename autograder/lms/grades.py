"""The grades to export, read from either gradebook the kit's graders keep.

- ``autograder batch`` keeps ``<out>/gradebook.sqlite``, read through
  :class:`autograder.batch.gradebook.Gradebook`: one row per (assignment, student) with a status,
  ``graded`` (the hidden suite ran), ``invalid`` (the submission cannot be read: 0 points and why)
  or ``failed`` (the grader could not finish; the next run of the same batch grades it again).
- nbgrader keeps ``gradebook.db`` in the course folder, read with nbgrader's own API
  (:class:`nbgrader.api.Gradebook`) over a read-only connection, so that reading it never writes.
  A submission none of whose grades waits for a person is ``graded``, with the score nbgrader's
  own export gives (its score less the late penalty, not below 0). One that waits (the kit's
  ``FlagForAttention`` marks so a notebook the hidden suite could not grade, with the reason in
  the autograded notebook) or whose autograded notebook is missing (``nbgrader autograde`` failed
  on it) is ``failed`` here: not a grade yet. A student with no submission has no row.

Both become :class:`Grade` rows of :class:`Grades`; what an LMS file makes of each status is
decided in :mod:`autograder.lms.join`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from autograder import manifest
from autograder.batch.jobs import FAILED, GRADED, INVALID

BATCH_FILE = "gradebook.sqlite"
NBGRADER_FILE = "gradebook.db"
BATCH, NBGRADER = "batch", "nbgrader"
STATUSES = (GRADED, INVALID, FAILED)


class LmsError(ValueError):
    """The export cannot be made (a missing gradebook, a roster without a needed column, an
    unknown assignment); the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Grade:
    assignment: str
    student: str  # the kit's name: submitted/<student>/ or the file's stem
    status: str  # graded | invalid | failed
    score: float
    max_score: float
    error: str = ""  # why it is invalid or failed
    submission: str = ""  # the graded file, where known


@dataclass
class Grades:
    source: Path  # the gradebook file
    kind: str  # BATCH or NBGRADER
    assignments: list[str]  # those exported, in the order asked (default: the course's)
    rows: list[Grade] = field(default_factory=list)
    points: dict[str, float] = field(default_factory=dict)  # each assignment's maximum

    @property
    def regrade(self) -> str:
        """What to do about a failed row, in this gradebook's world."""
        return ("run the same `autograder batch` again" if self.kind == BATCH
                else "grade it in nbgrader's Formgrader, then export again")

    def students(self) -> list[str]:
        return sorted({g.student for g in self.rows})


def locate(path: Path) -> tuple[Path, str]:
    """The gradebook file ``path`` names (itself, or in the folder it is) and its kind."""
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in (BATCH_FILE, NBGRADER_FILE) if (path / n).is_file()]
        if not found:
            raise LmsError(f"{path}: holds neither {BATCH_FILE} (made by `autograder batch`) "
                           f"nor {NBGRADER_FILE} (nbgrader's)")
        path = found[0]
    elif not path.exists():
        raise LmsError(f"{path}: no such file or directory")
    tables = _tables(path)
    if "grades" in tables:
        if path.name != BATCH_FILE:
            raise LmsError(f"{path}: a batch gradebook is read as {BATCH_FILE} in its folder")
        return path, BATCH
    if "submitted_assignment" in tables:
        return path, NBGRADER
    raise LmsError(f"{path}: not a gradebook of `autograder batch` or nbgrader")


def _readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


def _tables(path: Path) -> set[str]:
    try:
        with contextlib.closing(_readonly(path)) as db:
            return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error as exc:
        raise LmsError(f"{path}: not a gradebook ({exc})") from None


def _in_course_order(names: set[str]) -> list[str]:
    known = [a.name for a in manifest.ASSIGNMENTS if a.name in names]
    return known + sorted(names - set(known))


def _choose(path: Path, held: list[str], asked: Sequence[str]) -> list[str]:
    if not held:
        raise LmsError(f"{path}: holds no grades yet")
    for name in asked:
        if name not in held:
            raise LmsError(f"{path}: holds no grades of {name!r} (it holds {', '.join(held)})")
    return list(dict.fromkeys(asked)) or held


def read(path: Path, assignments: Sequence[str] = ()) -> Grades:
    """The grades of ``assignments`` (default: all it holds) in the gradebook at ``path``: a
    batch's output folder or its ``gradebook.sqlite``, an nbgrader course folder or its
    ``gradebook.db``. Raises :class:`LmsError`."""
    file, kind = locate(path)
    return _batch(file, assignments) if kind == BATCH else _nbgrader(file, assignments)


def _batch(file: Path, asked: Sequence[str]) -> Grades:
    from autograder.batch.gradebook import Gradebook

    try:
        book = Gradebook(file.parent)
        try:
            everything = book.everything()
        finally:
            book.close()
        rows = [Grade(assignment=r["assignment"], student=r["student"], status=r["status"],
                      score=float(r["score"]), max_score=float(r["max_score"]),
                      error=r["error"] or "", submission=r["submission"] or "")
                for r in everything]
    except (sqlite3.Error, KeyError, ValueError, TypeError) as exc:
        raise LmsError(f"{file}: cannot be read ({exc})") from None
    chosen = _choose(file, _in_course_order({g.assignment for g in rows}), asked)
    grades = Grades(source=file, kind=BATCH, assignments=chosen,
                    rows=[g for g in rows if g.assignment in chosen])
    for name in chosen:
        maxima = [g.max_score for g in grades.rows if g.assignment == name and g.max_score > 0]
        grades.points[name] = max(maxima, default=_manifest_points(name))
    return grades


def _manifest_points(name: str) -> float:
    try:
        return float(manifest.get(name).points)
    except manifest.UnknownAssignment:
        return 0.0


def _nbgrader(file: Path, asked: Sequence[str]) -> Grades:
    try:
        from nbgrader.api import Gradebook
    except ImportError:
        raise LmsError(f"{file}: reading nbgrader's gradebook needs nbgrader "
                       "(pip install 'nn-tf-autograder[course]')") from None
    try:
        with contextlib.closing(_readonly(file)) as db:
            course = next(iter(db.execute("SELECT id FROM course")), ("",))[0]
    except sqlite3.Error as exc:
        raise LmsError(f"{file}: cannot be read ({exc})") from None
    url = f"sqlite:///file:{quote(str(file.resolve()))}?mode=ro&uri=true"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's about nbgrader's own models
            with Gradebook(url, course_id=course) as gb:
                chosen = _choose(file, _in_course_order({a.name for a in gb.assignments}), asked)
                grades = Grades(source=file, kind=NBGRADER, assignments=chosen)
                for name in chosen:
                    grades.points[name] = float(gb.find_assignment(name).max_score or 0.0)
                    for submission in gb.assignment_submissions(name):
                        grades.rows.append(_submission(submission, file.parent))
    except LmsError:
        raise
    except Exception as exc:  # sqlalchemy's errors: a gradebook of another nbgrader version
        raise LmsError(f"{file}: cannot be read with nbgrader ({type(exc).__name__}: {exc})") \
            from None
    grades.rows.sort(key=lambda g: (g.assignment, g.student))
    return grades


def _submission(submission, course: Path) -> Grade:  # an nbgrader SubmittedAssignment
    name, student = submission.assignment.name, submission.student.id
    autograded = course / "autograded"
    reasons = []
    for notebook in submission.notebooks:
        path = autograded / student / name / f"{notebook.name}.ipynb"
        if autograded.is_dir() and not path.is_file():
            reasons.append(f"{notebook.name}.ipynb: nbgrader autograde could not process it "
                           "(see its log)")
        elif notebook.needs_manual_grade:
            reasons.append(f"{notebook.name}.ipynb: {_problem(path) or 'waits for a grade by hand'}")
    maximum = float(submission.max_score or 0.0)
    if reasons:
        return Grade(assignment=name, student=student, status=FAILED, score=0.0,
                     max_score=maximum, error="; ".join(reasons))
    penalty = float(submission.late_submission_penalty or 0.0)
    return Grade(assignment=name, student=student, status=GRADED, max_score=maximum,
                 score=max(0.0, float(submission.score or 0.0) - penalty))


def _problem(path: Path) -> str:
    """Why the hidden suite could not grade this autograded notebook ("" if unknown)."""
    try:
        import nbformat

        from autograder.nbgrader.verdicts import problem_of

        return problem_of(nbformat.read(str(path), as_version=4))
    except Exception:  # best effort: the row says it waits for a person either way
        return ""
