"""Text from a submission, made inert for where it is shown: a terminal, an HTML page, a CSV cell.

A submission chooses its file's name and the messages its code raises, and both reach the people
who grade it. Three ways that text could act instead of being read, and what is done about each:

- **Terminal escapes and control characters** (``ESC [ 31m``, an OSC 8 hyperlink, a carriage
  return that overwrites the line, a backspace) would colour, rewrite or hide what a terminal
  shows. Every escape sequence (CSI, OSC, DCS and the other string controls, 7- and 8-bit) is
  removed whole, then every other control character (Unicode category Cc); a newline and a tab
  stay where text may span lines (:func:`for_terminal` with ``one_line=False``, HTML, CSV).
- **Invisible format characters** (category Cf: the bidi embeddings, overrides and isolates
  U+202A-U+202E and U+2066-U+2069, the marks U+200E, U+200F and U+061C, the zero-width
  U+200B-U+200D, U+2060 and U+FEFF, ...), the line and paragraph separators U+2028 and U+2029,
  and lone surrogates (a file name that is not UTF-8) are made visible as ``<U+202E>``: a
  reordered "deliaf" cannot pass for "failed", and two names that differ only there do not look
  the same. (An emoji joined by U+200D shows its parts and the marker.)
- **Spreadsheet formulas**: a CSV cell that begins with ``=``, ``+``, ``-``, ``@`` (or their
  full-width forms), a tab or a carriage return, after any blanks, would run as a formula
  (``=HYPERLINK(...)``) when the CSV is opened (OWASP's "CSV injection"); :func:`for_csv_cell`
  prefixes it with ``'``, which spreadsheets take as "text" and do not show. Numbers (``int``,
  ``float``) and a lone ``-`` (no formula anywhere, and Moodle's own "no grade" in its grade
  files) stay as they are; text that merely looks like a number (a student named ``+1``) is text,
  and is prefixed too, so that the spreadsheet shows the name as it is. :func:`write_csv` writes
  a whole file so.

All three start from :func:`inert`. These functions are for text the kit shows, not for
what it stores: the gradebook and ``results.json`` keep what the submission gave.
"""

from __future__ import annotations

import csv
import html
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: ESC [ params intermediates final
    r"|\x1b[\]PX^_][^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # any other escape (charset switches, keypad modes, RIS, ...)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|[\x90\x98\x9d\x9e\x9f][^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?"  # 8-bit strings
)
_SHOWN = frozenset("\u2028\u2029")  # separators a terminal or an editor may break lines at
_FORMULA = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
NO_GRADE = "-"


def visible(char: str) -> str:
    """How an invisible character is shown: ``<U+202E>``."""
    return f"<U+{ord(char):04X}>"


def _char(char: str, *, one_line: bool) -> str:
    if char in "\n\t":
        return " " if one_line else char
    kind = unicodedata.category(char)
    if kind == "Cc":
        return ""
    if kind in ("Cf", "Cs") or char in _SHOWN:
        return visible(char)
    return char


def inert(text: Any, *, one_line: bool = False) -> str:
    """``text`` without escape sequences and control characters, its invisible format characters
    shown as ``<U+XXXX>``; with ``one_line``, a newline or a tab becomes a space."""
    text = _ESCAPES.sub("", str(text)).replace("\r\n", "\n")
    if text.isascii() and text.isprintable():  # the common case, at once
        return text
    return "".join(_char(c, one_line=one_line) for c in text)


def for_terminal(text: Any, *, one_line: bool = False) -> str:
    """Text to print on a terminal (or a log a terminal will show): see :func:`inert`. It is
    not escaped for rich's markup: print it with ``markup=False`` or through ``escape``."""
    return inert(text, one_line=one_line)


def for_html(text: Any) -> str:
    """Text to put in an HTML page, as an element's text or a quoted attribute's value."""
    return html.escape(inert(text), quote=True)


def for_csv_cell(value: Any) -> Any:
    """A value for a CSV cell a spreadsheet will open: a number as it is, ``None`` as ``""``,
    anything else as inert text (see :func:`inert`) that cannot start a formula."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = inert(value)
    start = text.lstrip(" \n")[:1]
    if start in _FORMULA and text != NO_GRADE:
        return "'" + text
    return text


def write_csv(path: Path, rows: Iterable[Sequence[Any]], *, lineterminator: str = "\r\n") -> Path:
    """Write ``rows`` to ``path`` as UTF-8 CSV, every cell through :func:`for_csv_cell`.

    The file is replaced atomically: a reader never sees half of it. Line ends are CRLF by
    default (RFC 4180, which LMS importers follow).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator=lineterminator)
            for row in rows:
                writer.writerow([for_csv_cell(cell) for cell in row])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
