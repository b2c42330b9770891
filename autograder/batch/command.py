"""``autograder batch``: grade every submission of a folder, resumably, in parallel.

::

    main(assignment="mlp_mnist", folder=Path("course"), out=Path("grades"), workers=8)

finds the submissions, skips those whose content key is already in the gradebook, grades the
rest with grader processes on this machine (or on a Dask cluster, given ``dask``), records each
as it finishes and exports ``<out>/<assignment>.csv`` at the end, also after Ctrl-C.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from autograder import manifest
from autograder.batch import cluster, pool
from autograder.batch.discover import DiscoveryError, Found, Skipped, discover, skipped
from autograder.batch.fingerprint import content_key, listing_key
from autograder.batch.gradebook import Gradebook
from autograder.batch.jobs import FAILED, GRADED, INVALID, Job, Outcome, invalid
from autograder.batch.progress import Display
from autograder.grading import isolation
from autograder.grading.hidden import SecretError, course_secret, secret_id
from autograder.report import dashboard, pages
from autograder.submission.load import SubmissionError, find_notebook, load
from autograder.text import for_terminal
from autograder.worker import template
from autograder.worker.limits import Limits

DEFAULT_OUT = Path("grades")


class BatchError(ValueError):
    """The batch cannot start (a missing folder, an unreachable cluster); one line."""


@dataclass
class Summary:
    assignment: str
    found: int = 0
    unchanged: int = 0  # already in the gradebook with the same content key
    graded: int = 0
    invalid: int = 0
    failed: int = 0
    skipped: list[Skipped] = field(default_factory=list)  # files that are no submission
    interrupted: bool = False
    seconds: float = 0.0
    gradebook: Path | None = None
    csv: Path | None = None
    dashboard: Path | None = None
    dashboard_error: str = ""
    weaker: int = 0  # grades whose isolation was weaker than full (grading/isolation.py)
    weaker_line: str = ""  # the first of them, in a line

    def describe(self) -> str:
        """What the batch did, for a terminal: the names of skipped files are printed inert."""
        text = (f"{self.assignment}: {self.found} submissions: {self.graded} graded, "
                f"{self.invalid} invalid, {self.failed} failed, {self.unchanged} unchanged "
                f"(already graded) in {self.seconds:.1f} s")
        if self.skipped:
            text += f"\n{len(self.skipped)} skipped, not graded (listed in the CSV):" + "".join(
                f"\n  {for_terminal(f'{s.path}: {s.why}', one_line=True)}" for s in self.skipped)
        if self.interrupted:
            text += "\ninterrupted: what was graded is saved; run the same command to go on"
        elif self.failed:
            text += "\nthe failed ones are graded again by the next run of the same command"
        text += f"\ngradebook: {self.gradebook}\nCSV: {self.csv}"
        if self.dashboard is not None:
            text += f"\ndashboard: {self.dashboard}"
        if self.weaker:
            text += f"\n{self.weaker} of the grades ran with {self.weaker_line}"
        if self.dashboard_error:
            text += f"\nthe dashboard could not be written ({self.dashboard_error}); the grades are"\
                    " saved: `autograder report` makes it again"
        return text


def _job(found: Found, assignment: str, limits: Limits,
         recorded: dict[str, tuple[str, str]], secret: bytes,
         figures: bool = False) -> Job | Outcome | None:
    """The job for one student, the row saying why their submission cannot be graded, or None
    if the gradebook holds a grade of these very bytes by this very suite and secret."""
    name = secret_id(secret)
    try:
        path = find_notebook(found.path, assignment)
        key = content_key(assignment=assignment, data=path.read_bytes(), secret=name)
    except (SubmissionError, OSError) as exc:
        message = str(exc) if isinstance(exc, SubmissionError) else f"{found.path}: {exc.strerror}"
        key = listing_key(assignment=assignment, folder=found.path, secret=name)
        outcome = invalid(assignment=assignment, student=found.student,
                          submission=str(found.path), key=key, error=message)
        return None if recorded.get(found.student) == (key, INVALID) else outcome
    if recorded.get(found.student) in {(key, GRADED), (key, INVALID)}:
        return None
    try:
        path, cells = load(path, assignment)
    except SubmissionError as exc:
        return invalid(assignment=assignment, student=found.student, submission=str(path),
                       key=key, error=str(exc))
    return Job(assignment=assignment, student=found.student, submission=str(path), key=key,
               cells=cells, limits=limits, secret=secret, figures=figures)


def main(*, assignment: str, folder: Path, out: Path = DEFAULT_OUT, workers: int | None = None,
         dask: str | None = None, force: bool = False, limits: Limits | None = None,
         console: Console | None = None, figures: bool = False,
         extras: Callable[[Path], Sequence[str]] | None = None) -> Summary:
    """Grade every submission of ``assignment`` in ``folder``; see the module's docstring.

    ``extras(out)`` gives sections other tools add to the dashboard (see ``dashboard.build``).

    ``workers`` grader processes run on this machine (default: one per core) unless ``dask``
    names a Dask scheduler. ``force`` grades everything again. ``figures`` adds the suite's
    figures to each report page (for mlp_mnist a training run more per submission). Raises
    :class:`~autograder.manifest.UnknownAssignment` and :class:`BatchError`.
    """
    graded = manifest.get(assignment)
    start = time.monotonic()
    template.start(tensorflow=graded.tensorflow)  # its import overlaps the checks below
    try:
        secret = course_secret()
    except SecretError as exc:
        raise BatchError(str(exc)) from None
    try:
        found = discover(Path(folder), assignment, exclude=Path(out))
        others = skipped(Path(folder), assignment, found, exclude=Path(out))
    except DiscoveryError as exc:
        raise BatchError(str(exc)) from None
    try:
        client = cluster.connect(dask) if dask else None
    except cluster.ClusterError as exc:
        raise BatchError(str(exc)) from None
    try:
        book = Gradebook(Path(out))
    except (OSError, sqlite3.Error) as exc:
        if client is not None:
            client.close()
        raise BatchError(f"{out}: cannot keep a gradebook there ({exc})") from None
    summary = Summary(assignment=assignment, found=len(found), gradebook=book.path,
                      skipped=others)
    counts = {GRADED: "graded", INVALID: "invalid", FAILED: "failed"}

    def record(outcome: Outcome, instant: bool = False) -> None:
        book.record(outcome)
        line = isolation.warning(outcome.results.get("extra_data", {}).get("isolation", {}))
        if line:
            summary.weaker += 1
            summary.weaker_line = summary.weaker_line or line
        setattr(summary, counts[outcome.status], getattr(summary, counts[outcome.status]) + 1)
        display.update(outcome, instant=instant)

    try:
        recorded = {} if force else book.recorded(assignment)
        todo = [_job(item, assignment, limits or Limits(), recorded, secret, figures)
                for item in found]
        summary.unchanged = todo.count(None)
        todo = [item for item in todo if item is not None]
        # The dashboard's charts need matplotlib (0.4 s to import): imported while the
        # submissions are graded, by this process, which only waits meanwhile.
        threading.Thread(target=pages.pyplot, daemon=True, name="autograder-pyplot").start()
        with Display(total=len(todo), title=assignment, console=console) as display:
            for outcome in [j for j in todo if isinstance(j, Outcome)]:
                record(outcome, instant=True)
            jobs = [j for j in todo if isinstance(j, Job)]
            if client is not None:
                cluster.run(jobs, client=client, on_result=record)
            else:
                pool.run(jobs, workers=workers or os.cpu_count() or 1, on_result=record,
                         log=book.folder / "graders.log", tensorflow=graded.tensorflow)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.csv = book.export_csv(
            assignment, skipped=[(s.name, str(s.path), s.why) for s in others])
        try:
            summary.dashboard = dashboard.build(book.folder, book.everything(),
                                                extras=extras(book.folder) if extras else ())
        except (OSError, ValueError, RuntimeError) as exc:  # the grades are recorded already
            summary.dashboard_error = str(exc)
        book.close()
        if client is not None:
            client.close()
        summary.seconds = time.monotonic() - start
    return summary
