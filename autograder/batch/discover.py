"""Find the submissions in a folder, one per student.

Two layouts are understood:

- nbgrader's course layout, ``submitted/<student>/<assignment>/<file>`` (``FOLDER`` may be the
  course folder or its ``submitted/`` folder); a student without that assignment's folder did not
  submit it and is not listed;
- a flat folder, where each ``.ipynb`` or ``.py`` file is one student's submission (the student is
  the file's name without its suffix) and each sub-folder is one student's folder holding one.

Which file of a folder is graded is decided later, by the loader, so that a folder holding no
submission or several becomes that student's error row rather than stopping the batch. A file
that is no submission (``notes.txt`` beside the notebooks) is not dropped in silence:
:func:`skipped` lists it with the reason, and the batch reports it in its summary and CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.submission.load import SubmissionError, find_notebook

SUFFIXES = (".ipynb", ".py")


class DiscoveryError(ValueError):
    """The folder cannot be read as a class's submissions; the message is one line."""


@dataclass(frozen=True)
class Found:
    student: str
    path: Path  # a file, or a folder holding the student's submission


@dataclass(frozen=True)
class Skipped:
    name: str  # the file's name, as the CSV's student column shows it
    path: Path
    why: str


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "__"))


def _nbgrader_root(folder: Path, assignment: str) -> Path | None:
    """The ``submitted/`` folder if ``folder`` is laid out the nbgrader way, else None."""
    if (folder / "submitted").is_dir():  # a course folder (whose source/ is no student)
        return folder / "submitted"
    if any((d / assignment).is_dir() for d in folder.iterdir() if d.is_dir() and _visible(d)):
        return folder
    return None


def discover(folder: Path, assignment: str, *, exclude: Path | None = None) -> list[Found]:
    """The submissions in ``folder``, sorted by student; raises :class:`DiscoveryError`.

    ``exclude`` (the batch's own output folder, if it lies inside ``folder``) is not a student.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DiscoveryError(f"{folder}: no such folder" if not folder.exists()
                             else f"{folder}: not a folder (to grade one file: autograder grade)")
    submitted = _nbgrader_root(folder, assignment)
    if submitted is not None:
        found = [Found(d.name, d / assignment) for d in submitted.iterdir()
                 if _visible(d) and (d / assignment).is_dir()]
    else:
        found = []
        taken: set[str] = set()
        skip = exclude.resolve() if exclude is not None else None
        entries = sorted(p for p in folder.iterdir() if _visible(p) and p.resolve() != skip)
        for entry in entries:
            if entry.is_dir() or entry.suffix in SUFFIXES:
                name = entry.name if entry.is_dir() else entry.stem
                if name in taken:  # alice.ipynb and alice.py: keep both, told apart
                    name = entry.name
                taken.add(name)
                found.append(Found(name, entry))
    if not found:
        raise DiscoveryError(f"{folder}: holds no submissions of {assignment} (neither "
                             f"submitted/<student>/{assignment}/ folders nor .ipynb/.py files)")
    return sorted(found, key=lambda f: f.student)


def skipped(folder: Path, assignment: str, found: list[Found], *,
            exclude: Path | None = None) -> list[Skipped]:
    """The visible files of ``folder`` that no row of the batch grades, each with why;
    ``found`` is what :func:`discover` found there.

    - In the flat layout, files without a ``.ipynb`` or ``.py`` suffix.
    - In nbgrader's layout, files beside the students' folders (students' folders without this
      assignment's folder are not listed: a course holds every assignment, and a student who did
      not submit one is no error).
    - In a student's folder, any other ``.ipynb`` or ``.py`` file than the one graded (other
      files there, data or nbgrader's ``timestamp.txt``, belong to the submission).

    Hidden entries (``.ipynb_checkpoints``, ``.DS_Store``, ``__pycache__``) are not listed.
    """
    folder = Path(folder)
    submitted = _nbgrader_root(folder, assignment)
    root = submitted if submitted is not None else folder
    skip = exclude.resolve() if exclude is not None else None
    out = []
    for entry in sorted(root.iterdir()):
        if not _visible(entry) or entry.resolve() == skip or not entry.is_file():
            continue
        if submitted is None and entry.suffix in SUFFIXES:
            continue
        why = (f"not a submission: only .ipynb and .py files are graded ({entry.suffix or 'no'} "
               "suffix)" if submitted is None else
               f"not a submission: nbgrader's layout keeps them in <student>/{assignment}/")
        out.append(Skipped(entry.name, entry, why))
    for student in found:
        if student.path.is_dir():
            out.extend(_others_beside(student, assignment))
    return out


def _others_beside(found: Found, assignment: str) -> list[Skipped]:
    """The submissions in a student's folder besides the one that is graded."""
    try:
        graded = find_notebook(found.path, assignment)
    except SubmissionError:  # none, or several and none preferred: that is the student's row
        return []
    return [Skipped(f"{found.student}/{p.name}", p,
                    f"not graded: {graded.name} in the same folder is {found.student}'s submission")
            for p in sorted(found.path.iterdir())
            if p.is_file() and _visible(p) and p.suffix in SUFFIXES and p != graded]
