"""``autograder gradescope-run``: what the Gradescope package's ``run_autograder`` does.

For one submission: find the student's notebook or ``.py`` in ``<root>/submission/``, grade it with
the kit's worker and sandbox (``grading.run.grade``, with the leaderboard where the assignment has
one), and write ``<root>/results/results.json`` in Gradescope's schema with an ``output`` for the
student: the total and what to fix. A submission that cannot be graded (no file, several, not a
notebook, another assignment's) gets a result with no tests, 0 points and one line saying why;
a failure of the grader itself says that it is not the student's fault. ``results.json`` is
always written, so Gradescope never shows its own opaque error.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Any

from autograder import manifest
from autograder.grading.hidden import SecretError, course_secret
from autograder.grading.results import GradeResult, write_json
from autograder.submission.load import SubmissionError, load

SUFFIXES = (".ipynb", ".py")
_SKIP = ("__MACOSX", ".ipynb_checkpoints", "__pycache__")


def find_submission(folder: Path, assignment: str) -> Path:
    """The file to grade in Gradescope's submission folder (which may hold sub-folders: an
    upload of a zip or of a whole folder); raises :class:`SubmissionError` with one line."""
    if not folder.is_dir():
        raise SubmissionError("nothing was submitted")
    inside = folder.resolve()
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES
                   and not any(part.startswith(".") or part in _SKIP
                               for part in p.relative_to(folder).parts)
                   and p.resolve().is_relative_to(inside))  # no link out of the upload
    if len(found) == 1:
        return found[0]
    for pick in ([p for p in found if p.stem == assignment],
                 [p for p in found if p.suffix == ".ipynb"]):
        if len(pick) == 1:
            return pick[0]
    names = ", ".join(str(p.relative_to(folder)) for p in found[:5])
    if not found:
        raise SubmissionError(f"no .ipynb notebook or .py file was submitted (upload "
                              f"{assignment}.ipynb)")
    raise SubmissionError(f"several files could be the submission ({names}); upload only "
                          f"{assignment}.ipynb")


def student_output(result: GradeResult) -> str:
    """What the student reads at the top of Gradescope's page: the total and what to fix."""
    lines = [f"{result.score:g} / {result.max_score:g} points."]
    failed = [t for t in result.tests if t.status != "passed"]
    if not failed:
        lines.append("Every test passes.")
    else:
        lines.append("To fix:")
        for test in failed:
            if test.visibility == "hidden":
                lines.append("- a hidden check fails")
            else:
                lines.append(f"- {test.name}: {test.output or 'failed'}")
    lines.extend(result.notes)
    return "\n".join(lines)


def unusable(assignment: str, why: str, seconds: float) -> dict[str, Any]:
    """The results of a submission that cannot be graded: no tests, 0 points, one line why."""
    return {"score": 0.0, "max_score": float(manifest.get(assignment).points),
            "execution_time": round(seconds, 3), "output": why, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": []}


def _why_not(assignment: str, root: Path, exc: SubmissionError | SecretError,
             seconds: float) -> dict[str, Any]:
    if isinstance(exc, SecretError):
        return unusable(assignment, f"The autograder is set up wrongly ({exc}); this is not "
                        "your fault: tell your instructor.", seconds)
    folder = str(Path(root) / "submission")
    text = str(exc).replace(f"{folder}/", "").replace(folder, "your submission")
    return unusable(assignment, f"Not graded: {text}", seconds)


def check(*, assignment: str, root: Path) -> dict[str, Any] | None:
    """If ``<root>/submission`` cannot be graded (see :func:`run`), write the results that say
    why and return them, without starting the worker; else None."""
    manifest.get(assignment)
    start = time.monotonic()
    try:
        load(find_submission(Path(root) / "submission", assignment), assignment)
        course_secret()
    except (SubmissionError, SecretError) as exc:
        results = _why_not(assignment, root, exc, time.monotonic() - start)
        write_json(results, Path(root) / "results" / "results.json")
        return results
    return None


def run(*, assignment: str, root: Path) -> dict[str, Any]:
    """Grade ``<root>/submission`` and write ``<root>/results/results.json``; returns it."""
    from autograder.grading.run import grade

    manifest.get(assignment)
    start = time.monotonic()
    out = Path(root) / "results" / "results.json"
    try:
        path = find_submission(Path(root) / "submission", assignment)
        result = grade(assignment=assignment, submission=path, leaderboard=True)
    except (SubmissionError, SecretError) as exc:
        results = _why_not(assignment, root, exc, time.monotonic() - start)
    except Exception as exc:  # the grader's own failure: the student is told it is not theirs
        traceback.print_exc(file=sys.stderr)  # Gradescope shows this log to the instructor
        line = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        results = unusable(assignment, "The autograder failed while grading (an error of the "
                           f"grader, not of your code: {line}); tell your instructor.",
                           time.monotonic() - start)
    else:
        results = result.to_gradescope()
        results["output"] = student_output(result)
    write_json(results, out)
    return results
