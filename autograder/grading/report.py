"""The terminal report: one row per test with its points, then the total.

The file's name, the reasons and the notes quote the submission (its name, what its code raised):
they are printed inert (``autograder/text.py``) and escaped for rich's markup.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.grading import isolation
from autograder.grading.results import GradeResult
from autograder.text import for_terminal


def _shown(text: str, *, one_line: bool = False) -> str:
    return escape(for_terminal(text, one_line=one_line))


def _points(x: float) -> str:
    return f"{x:g}"


def print_report(result: GradeResult, console: Console | None = None) -> None:
    console = console or Console()
    # The file's name on a line of its own, never cut short: a table title is, to fit the width.
    console.print(f"[bold]{_shown(result.assignment)}[/]: {_shown(result.submission, one_line=True)}",
                  highlight=False, soft_wrap=True)
    table = Table(show_lines=False, expand=False)
    table.add_column("", width=2)
    table.add_column("test")
    table.add_column("points", justify="right")
    table.add_column("why not", overflow="fold", max_width=70)
    for t in result.tests:
        mark = "[green]✓[/]" if t.status == "passed" else "[red]✗[/]"
        table.add_row(mark, _shown(t.name), f"{_points(t.score)}/{_points(t.max_score)}",
                      "" if t.status == "passed" else _shown(t.output))
    console.print(table)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {_shown(note)}", highlight=False)
    console.print(f"[bold]total: {_points(result.score)} / {_points(result.max_score)}[/]  "
                  f"({result.execution_time:.1f} s)", highlight=False)
    line = isolation.warning(result.isolation)
    if line:
        console.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)
