"""Text the kit writes for people to open elsewhere: CSV files that end up in a spreadsheet.

A spreadsheet (Excel, LibreOffice, Google Sheets) reads a CSV cell that begins with ``=``, ``+``,
``-`` or ``@`` as a formula, and one that begins with a tab, a carriage return or a NUL may be
too: a student who names a file ``=HYPERLINK("http://x","y").ipynb`` would put a live link (or
worse) into the instructor's gradebook. This is "CSV injection" (formula injection); the defence
OWASP describes (the CSV Injection page, and ASVS requirement 1.2.10) is to make such a cell plain
text by putting an apostrophe before it, which spreadsheets take as "text" and do not show.

:func:`spreadsheet_safe` does that to one cell and :func:`write_csv` to every cell of a file, so
that each CSV writer of the kit needs one call. Two kinds of cell pass unchanged:

- numbers (``int``, ``float``): ``-1.5`` is a number, no formula, and a grade must stay a number;
- a lone ``-``: no formula in any spreadsheet, and it is Moodle's own "no grade" in its grade
  files (its importer would reject ``'-`` as a malformed grade).

Any other text is neutralised, digits or not: a student named ``+1`` is a name, not a number.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
NO_GRADE = "-"


def spreadsheet_safe(value: object) -> object:
    """``value`` as a CSV cell no spreadsheet runs as a formula (see the module's docstring)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    if text != NO_GRADE and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(path: Path, rows: Iterable[Sequence[object]], *,
              lineterminator: str = "\r\n") -> Path:
    """Write ``rows`` to ``path`` as UTF-8 CSV, every cell through :func:`spreadsheet_safe`.

    The file is replaced atomically: a reader never sees half of it. Line ends are CRLF by
    default (RFC 4180, which LMS importers follow).
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator=lineterminator)
            for row in rows:
                writer.writerow([spreadsheet_safe(cell) for cell in row])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
