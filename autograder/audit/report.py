"""An audit for people: a table per function on the terminal, and a self-contained HTML page
with each survivor's diff and the tests it passed. What a mutant's run said (the reasons of the
tests that failed) is printed inert (``autograder/text.py``), as is everything on the page."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from autograder.audit.command import EQUIVALENT, SURVIVED, Audit, Verdict
from autograder.text import for_html, for_terminal


def _percent(score: float) -> str:
    return f"{100 * score:.1f}%"


def print_report(audit: Audit, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"mutation audit of {audit.assignment}")
    for column in ("function", "mutants", "killed", "survived", "equivalent", "score"):
        table.add_column(column, justify="left" if column == "function" else "right")
    for function in audit.functions():
        c = audit.counts(function)
        table.add_row(escape(for_terminal(function)), str(c["mutants"]), str(c["killed"]),
                      str(c["survived"]), str(c["equivalent"]), _percent(c["score"]))
    total = audit.counts()
    table.add_row("all", str(total["mutants"]), str(total["killed"]), str(total["survived"]),
                  str(total["equivalent"]), _percent(total["score"]), style="bold")
    console.print(table)
    for verdict in (v for v in audit.verdicts if v.verdict == SURVIVED):
        console.print(for_terminal(f"survived {verdict.id} ({verdict.operator}): {verdict.change}"),
                      markup=False, highlight=False)
        if verdict.elsewhere:
            console.print(for_terminal("  only other functions' tests failed: "
                                       f"{'; '.join(verdict.elsewhere)}"),
                          markup=False, highlight=False)
    sample = f"; {audit.sample}" if audit.sample else ""
    console.print(f"{total['mutants']} mutants graded in {audit.seconds:.0f} s with "
                  f"{audit.workers} workers{sample}", markup=False, highlight=False)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: bold; }
.survived { border-left: 4px solid #c0392b; padding-left: 1em; margin: 1.5em 0; }
.equivalent { border-left: 4px solid #7f8c8d; padding-left: 1em; margin: 1.5em 0; }
pre { background: #f6f6f6; padding: 0.6em; white-space: pre-wrap; overflow-wrap: anywhere; }
.bar { display: inline-block; height: 0.8em; background: #27ae60; }
.bar.miss { background: #c0392b; }
"""


def _bar(score: float, mutants: int) -> str:
    if not mutants:
        return ""
    width = 120
    kept = round(width * score)
    return (f'<span class="bar" style="width:{kept}px"></span>'
            f'<span class="bar miss" style="width:{width - kept}px"></span>')


def _mutant(verdict: Verdict) -> str:
    tests = "".join(f"<li>{for_html(t)}</li>" for t in verdict.passed) or "<li>(none)</li>"
    extra = ""
    if verdict.reason:
        extra = f"<p>Declared equivalent: {for_html(verdict.reason)}</p>"
    if verdict.elsewhere:
        extra += ("<p>Only tests of other functions failed: "
                  f"{for_html('; '.join(verdict.elsewhere))}</p>")
    return (f'<div class="{verdict.verdict}"><h3>{for_html(verdict.id)} '
            f'<small>({for_html(verdict.operator)})</small></h3>'
            f"<p><code>{for_html(verdict.change)}</code></p>"
            f"<pre>{for_html(verdict.diff)}</pre>"
            f"<p>Tests of {for_html(verdict.function)} it passed:</p><ul>{tests}</ul>{extra}"
            "</div>")


def render_html(audit: Audit) -> str:
    rows = []
    for function in [*audit.functions(), None]:
        c = audit.counts(function)
        rows.append(f'<tr class="{"total" if function is None else ""}">'
                    f"<td>{for_html(function or 'all')}</td><td>{c['mutants']}</td>"
                    f"<td>{c['killed']}</td><td>{c['survived']}</td><td>{c['equivalent']}</td>"
                    f"<td>{_percent(c['score'])}</td><td>{_bar(c['score'], c['mutants'])}</td></tr>")
    survivors = [v for v in audit.verdicts if v.verdict == SURVIVED]
    equivalents = [v for v in audit.verdicts if v.verdict == EQUIVALENT]
    total = audit.counts()
    sample = f" ({for_html(audit.sample)})" if audit.sample else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Mutation audit of {for_html(audit.assignment)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Mutation audit of {for_html(audit.assignment)}</h1>"
        f"<p>{total['mutants']} mutants of the reference solution{sample}, each graded by the "
        f"hidden suite in {audit.seconds:.0f} s with {audit.workers} workers. A mutant is killed "
        "when a test of the function it changes fails; the score counts killed among killed and "
        "survived (declared equivalents do not count).</p>"
        "<table><tr><th>function</th><th>mutants</th><th>killed</th><th>survived</th>"
        f"<th>equivalent</th><th>score</th><th></th></tr>{''.join(rows)}</table>"
        f"<h2>Survivors ({len(survivors)})</h2>"
        + ("".join(_mutant(v) for v in survivors) or "<p>None: every mutant was caught.</p>")
        + f"<h2>Declared equivalent ({len(equivalents)})</h2>"
        + ("".join(_mutant(v) for v in equivalents) or "<p>None.</p>")
        + "</body></html>\n")


def write_html(audit: Audit, path: Path) -> None:
    """Write the page atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render_html(audit))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
