"""What a batch shows while it runs: a progress bar with the time left, or one line per result.

On a terminal, a rich progress bar (done/total, elapsed, an estimate of the time left) with a
line above it for every submission that is invalid or could not be graded. Elsewhere (a log file,
a cluster job's output) one plain line per finished submission, with the same estimate.
A line names a student by their file's name and may quote why it is invalid: text from a
submission, printed inert (``autograder/text.py``), one line per submission.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from autograder.batch.jobs import GRADED, Outcome
from autograder.text import for_terminal


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def describe(outcome: Outcome) -> str:
    """One line about one finished submission, safe to print on a terminal."""
    if outcome.status == GRADED:
        text = (f"{outcome.student}: {outcome.score:g} / {outcome.max_score:g} "
                f"({outcome.seconds:.1f} s)")
    else:
        text = f"{outcome.student}: {outcome.status}: {outcome.error}"
    return for_terminal(text, one_line=True)


class Display:
    """Context manager; call :meth:`update` with each outcome."""

    def __init__(self, *, total: int, title: str, console: Console | None = None):
        self.total = total
        self.title = title
        self.console = console or Console(stderr=True)
        self.done = 0
        self.instant = 0  # rows recorded without grading (invalid input): not part of the pace
        self.started = time.monotonic()
        self.bar: Progress | None = None
        if self.console.is_terminal:
            self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(),
                                TextColumn("time left: {task.fields[left]}"), console=self.console)
            self.task = self.bar.add_task(title, total=total, left="unknown")

    def __enter__(self) -> Display:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.stop()

    def left(self) -> str:
        """The time left, from the pace of the graders so far."""
        if self.done == self.total:
            return "none"
        if self.done <= self.instant:
            return "unknown"
        per = (time.monotonic() - self.started) / (self.done - self.instant)
        return "about " + _duration(per * (self.total - self.done))

    def update(self, outcome: Outcome, *, instant: bool = False) -> None:
        """Count one finished submission; ``instant`` if it took no grading (invalid input)."""
        self.done += 1
        self.instant += instant
        if self.bar is not None:
            if outcome.status != GRADED:
                self.console.print(escape(describe(outcome)), highlight=False)
            self.bar.update(self.task, advance=1, left=self.left())
        else:
            self.console.print(escape(f"[{self.done}/{self.total}] {describe(outcome)}; "
                                      f"time left: {self.left()}"), highlight=False, soft_wrap=True)
