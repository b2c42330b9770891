"""``autograder generate``: write every generated file from the masters, or check them."""

from __future__ import annotations

import difflib
from pathlib import Path

from autograder.generate import nbgrader_source, notebook, pipelines
from autograder.manifest import ASSIGNMENTS
from autograder.nbgrader.config import config_text


def outputs(assignment: str) -> dict[str, str]:
    """Relative path -> text of every file generated from one master."""
    files = {}
    for folder, role, pipeline in (
        ("assignments", "student", pipelines.STUDENT),
        ("solutions", "solution", pipelines.SOLUTION),
    ):
        cells = pipelines.build(assignment, pipeline)
        nb = notebook.to_notebook(cells, assignment=assignment, role=role)
        files[f"{folder}/{assignment}/{assignment}.ipynb"] = notebook.dumps(nb)
    files[f"course/source/{assignment}/{assignment}.ipynb"] = nbgrader_notebook(assignment)
    return files


def nbgrader_notebook(assignment: str) -> str:
    """The nbgrader source: the master's cells with nbgrader metadata, one test cell per test."""
    from autograder.nbgrader.suite import collect  # runs pytest's collection: loaded when needed

    cells = nbgrader_source.add_test_cells(pipelines.build(assignment, pipelines.NBGRADER_SOURCE),
                                           collect(assignment), assignment=assignment)
    nb = notebook.to_notebook(cells, assignment=assignment, role="nbgrader-source")
    return notebook.dumps(nb)


def all_outputs(assignments: list[str] | None = None) -> dict[str, str]:
    files: dict[str, str] = {}
    for name in assignments or [a.name for a in ASSIGNMENTS]:
        files.update(outputs(name))
    files["course/nbgrader_config.py"] = config_text()
    return files


def main(*, root: Path, assignments: list[str] | None = None) -> list[Path]:
    """Write all generated files under ``root``; returns the paths written."""
    written = []
    for rel, text in all_outputs(assignments).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def drift(*, root: Path, assignments: list[str] | None = None) -> list[str]:
    """Differences between the committed generated files under ``root`` and a fresh generation."""
    problems = []
    for rel, text in all_outputs(assignments).items():
        path = root / rel
        if not path.exists():
            problems.append(f"{rel}: missing (run `autograder generate`)")
            continue
        committed = path.read_text(encoding="utf-8")
        if committed != text:
            diff = difflib.unified_diff(
                committed.splitlines(), text.splitlines(), f"{rel} (committed)", f"{rel} (master)",
                lineterm="", n=1,
            )
            problems.append("\n".join(list(diff)[:40]))
    return problems
