"""What ``check()`` shows: a table of tests (HTML in Jupyter, text elsewhere), or one line."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

_UNSEEN = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(text: Any) -> str:
    """Text from a grader or a notebook, safe to show: no terminal escapes or control characters,
    and characters that change the reading order or cannot be seen written out as ``<U+202E>``."""
    text = _CONTROL.sub("", str(text))
    return _UNSEEN.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


@dataclass
class Checked:
    """What ``check()`` found: the graded tests, or the self-checks when no grader is there."""

    assignment: str = ""
    notebook: str = ""
    tests: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    problem: str = ""  # set when nothing was checked; then the rest is empty
    selfchecks: list[dict[str, Any]] = field(default_factory=list)  # {"name", "passed", "why"}
    notice: str = ""  # one line on why only the self-checks ran

    @property
    def score(self) -> float:
        return round(sum(float(t.get("score", 0)) for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(float(t.get("max_score", 0)) for t in self.tests), 6)

    def _heading(self) -> str:
        if self.selfchecks or self.notice:
            passed = sum(bool(s["passed"]) for s in self.selfchecks)
            return (f"{self.assignment}: {passed} of {len(self.selfchecks)} self-checks pass "
                    f"({self.notebook}, as saved)")
        return (f"{self.assignment}: {self.score:g} / {self.max_score:g} points ({self.notebook}, "
                "as saved)")

    def _rows(self) -> list[tuple[bool, str, str, str]]:
        if self.selfchecks or self.notice:
            return [(bool(s["passed"]), shown(s["name"]), "", shown(s.get("why", "")))
                    for s in self.selfchecks]
        return [(t.get("status") == "passed", shown(t.get("name", "")),
                 f"{t.get('score', 0):g}/{t.get('max_score', 0):g}",
                 shown(t.get("output") or "failed")) for t in self.tests]

    def __repr__(self) -> str:
        if self.problem:
            return f"check(): {shown(self.problem)}"
        rows = self._rows()
        width = max((len(name) for _, name, _, _ in rows), default=10)
        lines = [self._heading()]
        for passed, name, points, why in rows:
            lines.append(f"{'ok  ' if passed else 'FAIL'} {name:<{width}}  {points}".rstrip())
            if not passed and why:
                lines.append(f"     {why}")
        for extra in (self.notes, self.notice):
            if extra:
                lines.append(shown(extra))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.problem:
            return (f'<div style="border-left:4px solid #c0392b;padding:0.4em 0.8em;'
                    f'background:#fdecea"><b>check():</b> {html.escape(shown(self.problem))}</div>')
        graded = not (self.selfchecks or self.notice)
        body = []
        for passed, name, points, why in self._rows():
            color = "#1e561e" if passed else "#8e1f14"
            cells = [f'<td style="color:{color}">{"&#10004;" if passed else "&#10008;"}</td>',
                     f'<td style="text-align:left">{html.escape(name)}</td>']
            if graded:
                cells.append(f"<td>{html.escape(points.replace('/', ' / '))}</td>")
            cells.append('<td style="text-align:left;white-space:pre-wrap">'
                         f'{"" if passed else html.escape(why)}</td>')
            body.append(f'<tr style="background:{"#e8f5e8" if passed else "#fdecea"}">'
                        f'{"".join(cells)}</tr>')
        head = "<th></th><th style=\"text-align:left\">" + ("test" if graded else "self-check") \
            + "</th>" + ("<th>points</th>" if graded else "") \
            + '<th style="text-align:left">why it fails</th>'
        extras = "".join(f'<p style="white-space:pre-wrap">{html.escape(shown(text))}</p>'
                         for text in (self.notes, self.notice) if text)
        heading = html.escape(self._heading()).replace(
            html.escape(f" ({self.notebook}, as saved)"), "")
        return (f"<p><b>{heading}</b> ({html.escape(self.notebook)}, as saved)</p>"
                f"<table><tr>{head}</tr>{''.join(body)}</table>{extras}")
