"""Self-contained HTML pages: one style, figures drawn by matplotlib (Agg) and embedded as PNG.

Nothing on a page is fetched from a network: the style is inline and every figure is a
``data:image/png;base64,...`` image, so a report opens from a disk, an e-mail or an LMS.
Text goes onto a page through :func:`esc`, which makes it inert (``autograder/text.py``: no
control characters, bidi overrides and zero-width characters shown as ``<U+202E>``).
"""

from __future__ import annotations

import base64
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.text import for_html

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 64em; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; width: 100%; }
th, td { padding: 0.3em 0.6em; border-bottom: 1px solid #ddd; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.passed td.mark { color: #1e561e; } tr.failed td.mark { color: #c0392b; }
tr.failed td.name { color: #8e1f14; font-weight: bold; }
td.why, .not-graded { white-space: pre-wrap; overflow-wrap: anywhere; }
.total { font-size: 1.3em; font-weight: bold; }
.note { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f6f6; padding: 0.6em; }
img.figure { max-width: 100%; height: auto; display: block; margin: 0.5em 0; }
.bar { display: inline-block; height: 0.8em; background: #27ae60; vertical-align: middle; }
.bar.miss { background: #c0392b; }
"""


def esc(value: Any) -> str:
    """``value`` as inert text for an element or a quoted attribute (see ``autograder/text.py``)."""
    return for_html(value)


def page(title: str, body: str) -> str:
    """A whole HTML document around ``body``."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
            f"<body>\n{body}\n</body></html>\n")


def figure(fig: Any, alt: str,
           facts: dict[str, Any] | Callable[[Any], dict[str, Any]] | None = None) -> str:
    """An ``<img>`` holding a matplotlib figure as an embedded PNG; the figure is closed.
    ``facts`` become ``data-*`` attributes, as JSON (``{"y_ticks": [...]}``: ``data-y-ticks``);
    a function gives them from the figure once it is drawn (saving it draws it)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    if callable(facts):
        facts = facts(fig)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    extra = "".join(f' data-{k.replace("_", "-")}="{esc(json.dumps(v))}"'
                    for k, v in (facts or {}).items())
    return f'<img class="figure" alt="{esc(alt)}"{extra} src="data:image/png;base64,{data}">'


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def write(path: Path, text: str) -> Path:
    """Write a page atomically (a reader sees the old page or the whole new one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, 0o644)  # a page is for reading: the LMS, the web server, the student
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path
