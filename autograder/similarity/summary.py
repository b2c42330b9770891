"""A short section for the class dashboard: the most similar pairs of each assignment, with links
to their side-by-side pages.

The dashboard (``autograder/report/dashboard.py``, ``<out>/index.html``) is meant to add it to its
body when there is one::

    from autograder.similarity import section

    extra = section(out)             # or section(out, assignment) inside an assignment's part
    if extra is not None:
        body.append(extra)

It reads what ``autograder similarity ASSIGNMENT FOLDER --out <out>`` wrote (``<out>/similarity/
<assignment>/pairs.json``) and nothing else: it runs no comparison, so the dashboard stays as
quick as before, and shows the run's date (a check run before the last submissions came in says
so by its date). Links are relative to ``<out>/index.html``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from autograder.report.pages import esc
from autograder.similarity.page import shown

FOLDER = "similarity"
TOP = 5


def _runs(folder: Path, assignment: str | None) -> list[tuple[str, dict[str, Any]]]:
    root = Path(folder) / FOLDER
    names = [assignment] if assignment else sorted(p.name for p in root.glob("*") if p.is_dir())
    out = []
    for name in names:
        try:
            data = json.loads((root / name / "pairs.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("pairs"), list):
            out.append((name, data))
    return out


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _rows(name: str, data: dict[str, Any], top: int) -> str:
    rows = []
    for pair in data["pairs"][:top]:
        if not isinstance(pair, dict):
            continue
        page = str(pair.get("page") or "")
        link = (f'<a href="{FOLDER}/{quote(name)}/{quote(page)}">side by side</a>'
                if page else "")
        flagged = bool(pair.get("flagged"))
        rows.append(f'<tr class="{"flagged" if flagged else "pair"}">'
                    f"<td>{shown(pair.get('a', ''))}</td><td>{shown(pair.get('b', ''))}</td>"
                    f'<td class="num">{_number(pair.get("score")):.2f}</td><td>{link}</td></tr>')
    return "".join(rows)


def section(folder: Path, assignment: str | None = None, *, top: int = TOP) -> str | None:
    """HTML for the dashboard in ``folder``: per assignment checked (or only ``assignment``),
    the ``top`` most similar pairs and how many are flagged; None where no check was run."""
    runs = _runs(Path(folder), assignment)
    if not runs:
        return None
    parts = ['<section class="similarity" id="similarity"><h2>Similar submissions</h2>']
    for name, data in runs:
        flagged = sum(1 for p in data["pairs"] if isinstance(p, dict) and p.get("flagged"))
        index = f"{FOLDER}/{quote(name)}/index.html"
        parts.append(
            f'<h3>{esc(name)}</h3><p class="similarity-summary" data-assignment="{esc(name)}" '
            f'data-flagged="{flagged}">{flagged} pairs flagged (score '
            f'{_number(data.get("threshold")):g} or more) in {len(data.get("submissions") or [])}'
            f' submissions, checked {esc(data.get("made", ""))}. '
            f'<a href="{index}">All pairs</a>.</p>')
        rows = _rows(name, data, top)
        if rows:
            parts.append('<table class="similar"><tr><th>student</th><th>student</th>'
                         f'<th class="num">score</th><th></th></tr>{rows}</table>')
    parts.append("</section>")
    return "\n".join(parts)
