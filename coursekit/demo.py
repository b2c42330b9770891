"""``needs(...)``: a demo cell of an unfinished notebook stops with one clear line.

The generated notebooks start every demo cell (a training run, a plot) that calls the student's
functions, or uses what an earlier such cell made, with ``needs(build_model, train, ...)``. While
one of them is still the stub (``raise NotImplementedError("<name> is not implemented yet ...")``)
the cell stops there, with one line naming what to write first, instead of a traceback, or a
``NameError`` for a variable that the cell before it never made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

STUB = "is not implemented yet"


class NotDone(Exception):
    """A demo cell needs functions that are not written yet; IPython shows just the message."""

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


def is_stub(function: Callable[..., Any]) -> bool:
    """Whether ``function`` is still the notebook's stub: its code raises the stub's message."""
    code = getattr(function, "__code__", None)
    name = getattr(function, "__name__", "")
    consts = code.co_consts if code is not None else ()
    return any(isinstance(c, str) and c.startswith(f"{name} {STUB}") for c in consts)


def needs(*functions: Callable[..., Any]) -> None:
    """Stop the cell, in one line, unless every function given is written."""
    missing = [getattr(f, "__name__", repr(f)) for f in functions if is_stub(f)]
    if missing:
        raise NotDone(f"this demo needs {', '.join(missing)}: write "
                      f"{'it' if len(missing) == 1 else 'them'} first (the cells above), then run "
                      "this cell again")
