"""What every command of ``autograder`` shares: one-line errors and a status line."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

import click


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, and exit 2 (or ``code``); the message may quote a file's name:
    printed inert."""
    from autograder.text import for_terminal

    click.echo(f"autograder: error: {for_terminal(message)}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def status_line() -> Iterator[Callable[[str], None] | None]:
    """A spinner with what is being done, on a terminal's stderr; nothing elsewhere.

    It writes to its own copy of the stderr descriptor: pytest captures fd 2 while the suite runs.
    """
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.markup import escape

    with open(os.dup(sys.stderr.fileno()), "w") as terminal:
        console = Console(file=terminal)
        with console.status("starting") as status:
            yield lambda text: status.update(escape(text))
