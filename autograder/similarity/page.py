"""The pages of a similarity check: the ranked pairs (``index.html``) and, for each flagged pair,
the two students' own code side by side with the matching regions marked (``pair-NNN.html``).

Everything from a submission (its code, a student's name, a file's name) is escaped, and
characters that change how text is shown without being seen (bidirectional overrides and
isolates, zero-width characters, other format and control characters) are replaced by a visible
mark naming their code point: a submission cannot make its code look like something else.
Files are named relative to the class folder. The same match has the same colour and the same
``data-match`` number in both columns.
"""

from __future__ import annotations

import html
import unicodedata
from collections import Counter
from pathlib import Path

from autograder.report.pages import esc, page, write
from autograder.similarity import compare
from autograder.similarity.compare import Result
from autograder.similarity.student import Code

MAX_PAGES = 100  # side-by-side pages for the first this many flagged pairs
UNFLAGGED_SHOWN = 30  # rows below the threshold the list still shows
PALETTE = ("#ffe08a", "#a8e6cf", "#ffb3ba", "#bae1ff", "#e0c3fc", "#ffd8a8", "#c7f0a0",
           "#f9c6e0", "#b5ead7", "#d7e3fc")
EXTRA_STYLE = """
body.pair { max-width: 110em; }
.sides { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1em; }
.side pre { background: #f8f8f8; padding: 0.5em; overflow-x: auto; font-size: 0.85em;
            line-height: 1.35; margin: 0 0 0.8em 0; }
.side h3 { font-size: 1em; margin: 0.2em 0; } .cell { color: #666; font-size: 0.8em; }
.ln { color: #999; user-select: none; display: inline-block; width: 3em; }
.context { color: #888; } .gap { color: #aaa; }
mark.m { color: inherit; border-radius: 2px; }
.hidden-char { background: #c0392b; color: #fff; font-size: 0.75em; border-radius: 2px;
               padding: 0 0.15em; }
tr.flagged td { font-weight: bold; } td.score { white-space: nowrap; }
"""
_VISIBLE = {"\n", "\t"}
_INVISIBLE = ("Cf", "Cc", "Co", "Cs", "Zl", "Zp")  # format, control, private, surrogate, breaks
_MARK = "background:#c0392b;color:#fff"  # inline: the mark shows on any page that holds it


def shown(text: str) -> str:
    """``text`` escaped for HTML, with invisible characters made visible."""
    out = []
    for ch in str(text):
        category = unicodedata.category(ch)
        if ch not in _VISIBLE and category in _INVISIBLE:
            name = unicodedata.name(ch, "control character")
            out.append(f'<span class="hidden-char" title="{esc(name)}" style="{_MARK}">'
                       f"U+{ord(ch):04X}</span>")
        else:
            out.append(html.escape(ch, quote=True))
    return "".join(out)


def plain(text: str) -> str:
    """``text`` with invisible characters written as ``<U+XXXX>``: for a title, a terminal."""
    return "".join(f"<U+{ord(ch):04X}>" if ch not in _VISIBLE and unicodedata.category(ch)
                   in _INVISIBLE else ch for ch in str(text))


def _document(title: str, body: str, *, wide: bool = False) -> str:
    text = page(plain(title), body)
    if "</style>" in text:
        text = text.replace("</style>", EXTRA_STYLE + "</style>", 1)
    else:
        text = text.replace("</head>", f"<style>{EXTRA_STYLE}</style></head>", 1)
    return text.replace("<body>", '<body class="pair">', 1) if wide else text


def _marks(code: Code, regions: list[tuple[int, tuple[int, int, int]]]) -> dict:
    """``(cell, row) -> {column: match}`` for the characters of the matched regions; the gap
    between two tokens of a match on the same row is marked too."""
    marks: dict[tuple[int, int], dict[int, int]] = {}
    texts = {cell: source.split("\n") for cell, source in code.cells.items()}
    for match, region in regions:
        previous = None
        for token in compare.tokens_of(code, region):
            (r0, c0), (r1, c1) = token.start, token.end
            if previous is not None and previous[0] == r0:
                c0 = previous[1]
            for row in range(r0, r1 + 1):
                text = texts.get(token.cell, [])
                width = len(text[row - 1]) if 0 < row <= len(text) else 0
                line = marks.setdefault((token.cell, row), {})
                for col in range(c0 if row == r0 else 0, c1 if row == r1 else width):
                    line[col] = match
            previous = token.end
    return marks


def _rows(code: Code) -> dict[int, set[int]]:
    """The rows to show of each cell: those of the student's tokens, and each function's
    ``def`` line."""
    rows: dict[int, set[int]] = {}
    for segment in code.segments:
        for token in segment.tokens:
            rows.setdefault(token.cell, set()).update(range(token.start[0], token.end[0] + 1))
        if segment.header is not None:
            rows.setdefault(segment.header[0], set()).add(segment.header[1])
    return rows


def _line(text: str, marks: dict[int, int]) -> str:
    out, start = [], 0
    for col in range(1, len(text) + 1):
        if col == len(text) or marks.get(col) != marks.get(start):
            part, match = text[start:col], marks.get(start)
            out.append(shown(part) if match is None else
                       f'<mark class="m" data-match="{match}" style="background:'
                       f'{PALETTE[match % len(PALETTE)]}">{shown(part)}</mark>')
            start = col
    return "".join(out)


def code_view(code: Code, regions: list[tuple[int, tuple[int, int, int]]]) -> str:
    """A submission's own code, cell by cell, with ``regions`` (match number, token region)
    marked."""
    marks = _marks(code, regions)
    own = {(t.cell, r) for s in code.segments for t in s.tokens
           for r in range(t.start[0], t.end[0] + 1)}
    parts = []
    for cell, rows in sorted(_rows(code).items()):
        text = code.cells.get(cell, "").split("\n")
        lines, previous = [], None
        for row in sorted(r for r in rows if 0 < r <= len(text)):
            if previous is not None and row > previous + 1:
                lines.append('<span class="gap">  \u22ee</span>')
            body = _line(text[row - 1], marks.get((cell, row), {}))
            kind = "" if (cell, row) in own else ' class="context"'
            lines.append(f'<span class="ln">{row}</span><span{kind}>{body}</span>')
            previous = row
        parts.append(f'<div class="cell">cell {cell + 1}</div><pre>{chr(10).join(lines)}</pre>')
    return "\n".join(parts)


def pair_page(result: Result, rank: int, pair: compare.Pair) -> str:
    a, b = result.submissions[pair.a], result.submissions[pair.b]
    found = compare.matches(a, b, result.ignore, k=result.k)
    together: Counter[tuple[str, str]] = Counter()
    for m in found:
        together[(a.code.segments[m.a[0]].name, b.code.segments[m.b[0]].name)] += m.length
    rows = "".join(f"<tr><td>{shown(x)}</td><td>{shown(y)}</td><td class=\"num\">{n}</td></tr>"
                   for (x, y), n in together.most_common())
    sides = []
    for who, sub, share, regions in (
            ("a", a, pair.of_a, [(i, m.a) for i, m in enumerate(found)]),
            ("b", b, pair.of_b, [(i, m.b) for i, m in enumerate(found)])):
        sides.append(f'<div class="side" id="side-{who}"><h3>{shown(sub.student)}</h3>'
                     f'<p>{shown(sub.file)}: {100 * share:.0f}% of its fingerprints are in the '
                     f"other's code</p>{code_view(sub.code, regions)}</div>")
    body = (f'<h1>{shown(a.student)} ~ {shown(b.student)}</h1>'
            f'<p><a href="index.html">all pairs of {esc(result.assignment)}</a></p>'
            f'<p class="total" id="score" data-score="{pair.score}">similarity {pair.score:.2f}'
            f"</p><p>{len(found)} matching regions, marked in the same colour on both sides. "
            "Only the students' own code is shown (the starter code is left out), with each "
            "function's <code>def</code> line in grey.</p>"
            '<table id="functions"><tr><th>in ' + shown(a.student) + "</th><th>in "
            + shown(b.student) + '</th><th class="num">tokens alike</th></tr>' + rows
            + f'</table><div class="sides">{"".join(sides)}</div>')
    return _document(f"{a.student} ~ {b.student}", body, wide=True)


def index_page(result: Result) -> str:
    flagged = result.flagged
    shown_pairs = [*flagged, *result.pairs[len(flagged):len(flagged) + UNFLAGGED_SHOWN]]
    rows = []
    for rank, pair in enumerate(shown_pairs, start=1):
        a, b = result.names(pair)
        link = (f'<a href="{pair_name(rank)}">side by side</a>'
                if pair.score >= result.threshold and rank <= MAX_PAGES else "")
        rows.append(f'<tr class="{"flagged" if pair.score >= result.threshold else "pair"}" '
                    f'data-score="{pair.score}"><td class="num">{rank}</td>'
                    f"<td>{shown(a)}</td><td>{shown(b)}</td>"
                    f'<td class="num score">{pair.score:.2f} <span class="bar" '
                    f'style="width:{5 * pair.score:.2f}em"></span></td>'
                    f'<td class="num">{100 * pair.of_a:.0f}% / {100 * pair.of_b:.0f}%</td>'
                    f"<td>{link}</td></tr>")
    n = len(result.submissions)
    parts = [f"<h1>Similar submissions: {esc(result.assignment)}</h1>",
             f'<p id="summary" data-flagged="{len(flagged)}">{n} submissions, '
             f"{n * (n - 1) // 2} pairs. <b>{len(flagged)}</b> pairs score "
             f"{result.threshold:g} or more and are flagged. The score is the share of "
             "fingerprints of their own code the two have in common (1: the same code, "
             "whatever its variable names, layout, comments and order of functions). A high "
             "score is a reason to look, not a verdict: read the code side by side.</p>",
             '<p>For scripts: <a href="pairs.json">pairs.json</a>, '
             '<a href="pairs.csv">pairs.csv</a>.</p>']
    if rows:
        parts.append('<table id="pairs"><tr><th class="num">#</th><th>student</th>'
                     '<th>student</th><th class="num">score</th>'
                     '<th class="num">share of each</th><th></th></tr>' + "".join(rows)
                     + "</table>")
        if len(flagged) > MAX_PAGES:
            parts.append(f"<p>Side-by-side pages are made for the first {MAX_PAGES} pairs.</p>")
    else:
        parts.append("<p>No two submissions share code of their own.</p>")
    if result.skipped:
        items = "".join(f"<li>{shown(name)}: {shown(why)}</li>" for name, why in result.skipped)
        parts.append(f'<h2>Skipped</h2><ul id="skipped">{items}</ul>')
    if result.crowded:
        parts.append(f'<p id="crowded">{len(result.crowded)} submissions lost more than half '
                     f"of their fingerprints as code of more than {result.common} submissions: "
                     "idioms, or one source many students share (then run again with a higher "
                     "<code>--common</code>).</p>")
    parts.append(f'<p class="note">Fingerprints: k-grams of {result.k} tokens, winnowing '
                 f"window {result.w}. Left out: those of the starter code, and those of more "
                 f"than {result.common} submissions ({result.frequent} idioms). See "
                 "docs/similarity.md in the kit.</p>")
    return _document(f"Similar submissions: {result.assignment}", "\n".join(parts))


def pair_name(rank: int) -> str:
    return f"pair-{rank:03d}.html"


def write_all(result: Result, folder: Path) -> Path:
    """Write ``index.html`` and the flagged pairs' pages into ``folder`` (removing the pair
    pages of an earlier run); returns the index's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = set()
    for rank, pair in enumerate(result.flagged[:MAX_PAGES], start=1):
        written.add(write(folder / pair_name(rank), pair_page(result, rank, pair)).name)
    for old in folder.glob("pair-*.html"):
        if old.name not in written:
            old.unlink()
    return write(folder / "index.html", index_page(result))
