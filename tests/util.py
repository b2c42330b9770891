"""Helpers for the kit's own tests: reference sources, mutated (buggy) variants, grading them."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from autograder.generate import pipelines
from autograder.grading.plugin import function_of
from autograder.grading.results import GradeResult
from autograder.grading.run import grade

ROOT = Path(__file__).resolve().parent.parent


def eventually(condition: Any, seconds: float = 10.0) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (asked every 50 ms)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def solution_source(assignment: str) -> str:
    """The reference solution as a percent-format .py file (demo and selfcheck cells tagged)."""
    parts = []
    for cell in pipelines.build(assignment, pipelines.SOLUTION):
        if cell.kind != "code":
            continue
        tags = f' tags={list(cell.tags)!r}'.replace("'", '"') if cell.tags else ""
        parts.append(f"# %%{tags}\n{cell.source}\n")
    return "\n".join(parts)


def mutate(source: str, old: str, new: str) -> str:
    """Replace the one occurrence of ``old`` with ``new``; fails loudly if ``old`` is not unique."""
    count = source.count(old)
    assert count == 1, f"expected exactly one {old!r} in the reference, found {count}"
    return source.replace(old, new)


def grade_text(tmp_path: Path, assignment: str, text: str, name: str = "submission.py",
               **kwargs: object) -> GradeResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return grade(assignment=assignment, submission=path, **kwargs)


def failed(result: GradeResult) -> set[str]:
    """Ids of the tests that did not pass."""
    return {t.id for t in result.tests if t.status != "passed"}


def points_lost(result: GradeResult) -> float:
    return result.max_score - result.score


def mutate_all(source: str, replacements: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    """Apply several :func:`mutate` replacements in order."""
    for old, new in replacements:
        source = mutate(source, old, new)
    return source


def outputs(result: GradeResult) -> list[tuple[str, str]]:
    """(test id, output) pairs: what an assertion message should show when a grade is off."""
    return [(t.id, t.output) for t in result.tests]


def run_notebook(path: Path, cwd: Path, timeout: int = 600):
    """Execute a notebook top to bottom in a real Jupyter kernel, as a student would run it."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def replace_body(source: str, function: str, body: str) -> str:
    """``source`` with the body of the first top-level ``def function`` (after its docstring)
    replaced by ``body`` (indented by four spaces here); fails loudly if there is none."""
    import ast
    import textwrap

    tree = ast.parse(source)
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == function]
    assert found, f"no def {function} in the source"
    node = found[0]
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant)
    start = (first.end_lineno if has_doc else node.body[0].lineno - 1) or 0
    lines = source.split("\n")
    new_body = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ").split("\n")
    return "\n".join(lines[:start] + new_body + lines[node.end_lineno:])


def earned(result: GradeResult, function: str) -> float:
    """Points earned by the tests about ``function`` (by the name's prefix)."""
    return sum(t.score for t in result.tests if function_of(t.name) == function)


def possible(result: GradeResult, function: str) -> float:
    return sum(t.max_score for t in result.tests if function_of(t.name) == function)


CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")

# The figures most browser tests want: how many images decoded, and whether the page is wider
# than the window (it must never scroll sideways).
PAGE_FIGURES = """
  const imgs = [...document.images];
  out.images = imgs.length;
  out.decoded = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  out.page = document.documentElement.scrollWidth;
  out.view = window.innerWidth;
"""


def in_chromium(page: str, script: str, folder: Path, width: int = 1000) -> dict[str, Any]:
    """Open ``page`` (HTML text) in headless Chromium and return the object ``out`` that
    ``script`` (JavaScript run once the page has loaded) fills in."""
    probe = (f"<script>window.addEventListener('load', () => {{ const out = {{}};\n{script}\n"
             "const d = document.createElement('div'); d.id = 'probe';"
             " d.textContent = JSON.stringify(out); document.body.appendChild(d); });"
             "</script></body>")
    path = folder / "probe.html"
    path.write_text(page.replace("</body>", probe, 1), encoding="utf-8")
    done = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--disable-background-networking",
                           f"--window-size={width},800", f"--user-data-dir={folder / 'profile'}",
                           "--virtual-time-budget=5000", "--dump-dom", path.as_uri()],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r'<div id="probe">(.*?)</div>', done.stdout)
    assert found, done.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))
