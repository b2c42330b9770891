"""Read a submission (``.ipynb`` or ``.py``) into the code cells the worker will execute.

Cells tagged ``demo`` or ``selfcheck`` (the notebook's training runs, plots and self-checks) are
not executed while grading. A ``.py`` file is split at ``# %%`` markers, if it has any, so that a
syntax error in one part does not hide the functions of the others.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

from autograder.generate.cells import NOT_GRADED

MAX_BYTES = 20 * 1024 * 1024
_PY_CELL = re.compile(r"^# %%.*$", re.MULTILINE)


class SubmissionError(ValueError):
    """Input the grader cannot use; the message is one line that names the file."""


def find_notebook(path: Path, assignment: str) -> Path:
    """The file to grade: ``path`` itself, or the one submission inside a directory."""
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or directory")
    if path.is_file():
        return path
    if not path.is_dir():
        raise SubmissionError(f"{path}: not a regular file or a directory")
    try:
        candidates = sorted(p for p in path.iterdir() if p.suffix in (".ipynb", ".py")
                            and p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot be read ({exc.strerror})") from None
    preferred = [p for p in candidates if p.stem == assignment]
    if len(preferred) == 1:
        return preferred[0]
    notebooks = [p for p in candidates if p.suffix == ".ipynb"]
    if len(notebooks) == 1:
        return notebooks[0]
    if not candidates:
        raise SubmissionError(f"{path}: directory holds no .ipynb or .py submission")
    names = ", ".join(p.name for p in candidates[:5])
    raise SubmissionError(f"{path}: directory holds several submissions ({names}); name one")


def _read_text(path: Path) -> str:
    size = path.stat().st_size
    if size == 0:
        raise SubmissionError(f"{path}: file is empty")
    if size > MAX_BYTES:
        raise SubmissionError(f"{path}: file is {size // (1 << 20)} MiB, over the 20 MiB limit")
    try:
        return path.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of the code
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SubmissionError(f"{path}: cannot be read ({exc.strerror})") from None


def _decode(path: Path, data: bytes) -> str:
    """The text of a submission that arrived as bytes (an upload to the grading service)."""
    if not data:
        raise SubmissionError(f"{path}: file is empty")
    if len(data) > MAX_BYTES:
        raise SubmissionError(f"{path}: file is {len(data) // (1 << 20)} MiB, over the 20 MiB limit")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def _source(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value) if value is not None else ""


def _v3_cells(path: Path, worksheets: Any) -> list[Any]:
    """nbformat 3 kept the cells in worksheets, and a code cell's source in ``input``."""
    if not isinstance(worksheets, list) or not all(isinstance(w, dict) for w in worksheets):
        raise SubmissionError(f"{path}: not a notebook (its 'worksheets' is not a list)")
    cells = [c for ws in worksheets for c in (ws.get("cells") or [])]
    return [dict(c, source=c.get("input", c.get("source", ""))) if isinstance(c, dict) else c
            for c in cells]


def _assignment_of(nb: dict[str, Any]) -> str | None:
    """The assignment a notebook of the kit says it is (``metadata.autograder.assignment``)."""
    metadata = nb.get("metadata")
    kit = metadata.get("autograder") if isinstance(metadata, dict) else None
    name = kit.get("assignment") if isinstance(kit, dict) else None
    return name if isinstance(name, str) and name else None


def notebook_assignment(text: str) -> str | None:
    """The assignment a notebook's text says it is, or None (no such metadata, or no notebook)."""
    try:
        nb = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return _assignment_of(nb) if isinstance(nb, dict) else None


def notebook_cells(path: Path, text: str, assignment: str | None = None) -> list[dict[str, Any]]:
    """The code cells of a notebook that grading runs.

    A notebook of the kit records its assignment in its metadata; given ``assignment``, a notebook
    of another one is refused (its functions would all be "not defined", which is no grade).
    """
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{path}: not a notebook (invalid JSON at line {exc.lineno})") from None
    except RecursionError:
        raise SubmissionError(f"{path}: not a notebook (JSON nested too deeply)") from None
    if not isinstance(nb, dict):
        raise SubmissionError(f"{path}: not a notebook (JSON {type(nb).__name__}, not an object)")
    major = nb.get("nbformat")
    if major is None and "worksheets" not in nb:
        raise SubmissionError(f"{path}: not a notebook (no 'nbformat' field)")
    if major is not None and type(major) is not int:
        raise SubmissionError(f"{path}: not a notebook (its 'nbformat' is not a number)")
    if major is not None and major > 4:
        raise SubmissionError(f"{path}: notebook format {major} is newer than this grader reads "
                              "(3 or 4); save it as format 4")
    recorded = _assignment_of(nb)
    if assignment is not None and recorded is not None and recorded != assignment:
        raise SubmissionError(f"{path}: this notebook is the {recorded!r} assignment, "
                              f"not {assignment!r}")
    if major == 4:
        raw_cells = nb.get("cells")
    elif major == 3 or (major is None and "worksheets" in nb):
        raw_cells = _v3_cells(path, nb.get("worksheets"))
    else:
        raise SubmissionError(f"{path}: notebook format {major} is too old to read (3 or 4); "
                              "open and save it in Jupyter to upgrade it")
    if not isinstance(raw_cells, list):
        raise SubmissionError(f"{path}: not a notebook (its 'cells' is not a list)")
    cells = []
    for index, cell in enumerate(raw_cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
        if NOT_GRADED & {str(t) for t in tags}:
            continue
        cells.append({"index": index, "source": _source(cell.get("source"))})
    return cells


def script_cells(text: str) -> list[dict[str, Any]]:
    starts = [m.start() for m in _PY_CELL.finditer(text)]
    if not starts or starts[0] != 0:
        starts = [0, *starts]
    bounds = [*starts, len(text)]
    cells = []
    for index, (a, b) in enumerate(itertools.pairwise(bounds)):
        chunk = text[a:b]
        first = chunk.split("\n", 1)[0]
        if first.startswith("# %%") and any(t in first for t in NOT_GRADED):
            continue
        # keep line numbers true to the file: pad with the newlines that came before
        cells.append({"index": index, "source": "\n" * text.count("\n", 0, a) + chunk})
    return cells


def load(path: Path, assignment: str) -> tuple[Path, list[dict[str, Any]]]:
    """The submission file found at ``path`` and its code cells; raises :class:`SubmissionError`."""
    path = find_notebook(Path(path), assignment)
    text = _read_text(path)
    if path.suffix == ".ipynb":
        cells = notebook_cells(path, text, assignment)
    elif path.suffix == ".py":
        cells = script_cells(text)
    else:
        raise SubmissionError(f"{path}: expected a .ipynb notebook or a .py file")
    _some_code(path, cells)
    return path, cells


def _some_code(path: Path, cells: list[dict[str, Any]]) -> None:
    if not any(c["source"].strip() for c in cells):
        raise SubmissionError(f"{path}: holds no code to grade")


def load_notebook_bytes(name: str, data: bytes, assignment: str | None) -> list[dict[str, Any]]:
    """The code cells of a notebook that arrived as ``data`` (the grading service's upload),
    checked as :func:`load` checks a file; ``name`` stands for the file in the messages of
    :class:`SubmissionError`; ``assignment`` None: a notebook of any assignment."""
    path = Path(name)
    cells = notebook_cells(path, _decode(path, data), assignment)
    _some_code(path, cells)
    return cells
