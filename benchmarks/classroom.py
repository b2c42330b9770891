"""A class of submissions for the benchmarks, in a copy of the nbgrader course.

The notebooks start from nbgrader's release of the course (so that nbgrader can autograde them):
full solutions, solutions with one bug each (the mutations of ``tests/test_<assignment>.py``'s
``BUGS``; an assignment without them gets full solutions instead) and untouched stubs, laid out
as ``submitted/<student>/<assignment>/<assignment>.ipynb``.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import importlib  # noqa: E402

from autograder.generate import pipelines  # noqa: E402

A = "mlp_mnist"


def bugs(assignment: str) -> dict[str, list[tuple[str, str]]]:
    """``{bug: [(old, new), ...]}``: the mutations the kit's own tests of ``assignment`` know
    (one replacement, ``(old, new, ...)``, or several, ``([(old, new), ...], ...)``)."""
    try:
        found = importlib.import_module(f"test_{assignment}").BUGS
    except (ImportError, AttributeError):
        return {}
    return {name: list(spec[0]) if isinstance(spec[0], list) else [(spec[0], spec[1])]
            for name, spec in found.items()}


BIN = Path(sys.executable).parent
KINDS = ("solution", "bug", "stub", "solution", "bug")  # cycled: 2/5 full, 2/5 buggy, 1/5 stub


def nbgrader(*args: str, cwd: Path, **kwargs: Any) -> subprocess.Popen:
    """Start an nbgrader command as an instructor would: the venv's bin first on PATH."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.Popen([str(BIN / "nbgrader"), *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, **kwargs)


def new_course(folder: Path, config: str | None = None, assignment: str = A) -> Path:
    """A course folder with ``assignment`` released; ``config`` replaces the course's config."""
    folder.mkdir(parents=True)
    if config is None:
        shutil.copy(ROOT / "course" / "nbgrader_config.py", folder)
    else:
        (folder / "nbgrader_config.py").write_text(config, encoding="utf-8")
    shutil.copytree(ROOT / "course" / "source" / assignment, folder / "source" / assignment)
    done = nbgrader("generate_assignment", assignment, cwd=folder, stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE, text=True)
    _, err = done.communicate()
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{err[-2000:]}")
    return folder


def _solved(release: Any, assignment: str) -> Any:
    nb = copy.deepcopy(release)
    answers = iter(c.source for c in pipelines.build(assignment, pipelines.SOLUTION)
                   if "solution" in c.tags)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = next(answers)
    return nb


def _with_bug(release: Any, assignment: str, bug: str) -> Any:
    nb = _solved(release, assignment)
    for old, new in bugs(assignment)[bug]:
        cells = [c for c in nb.cells if old in c.source]
        assert len(cells) == 1, f"bug {bug!r}: {len(cells)} cells hold its line"
        cells[0].source = cells[0].source.replace(old, new)
    return nb


def submissions(release_notebook: Path, count: int,
                assignment: str = A) -> dict[str, tuple[str, Any]]:
    """``{student: (kind, notebook)}`` for ``count`` students."""
    release = nbformat.read(release_notebook, 4)
    # only bugs in the student's own cells: nbgrader restores the given (read-only) ones before
    # it grades, a deliberate difference to `autograder grade` (docs/instructors-nbgrader.md)
    solved = _solved(release, assignment)
    written = [c.source for c in solved.cells if c.metadata.get("nbgrader", {}).get("solution")]
    known = [bug for bug, changes in bugs(assignment).items()
             if all(any(old in source for source in written) for old, _ in changes)]
    out = {}
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        student = f"s{i:03d}"
        if kind == "solution" or (kind == "bug" and not known):
            out[student] = ("solution", _solved(release, assignment))
        elif kind == "bug":
            bug = known[(i // len(KINDS) * 2 + (i % len(KINDS) == 4)) % len(known)]
            out[student] = (f"bug: {bug}", _with_bug(release, assignment, bug))
        else:
            out[student] = (kind, release)
    return out


def submit(course: Path, notebooks: dict[str, tuple[str, Any]], assignment: str = A) -> None:
    for student, (_, nb) in notebooks.items():
        path = course / "submitted" / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
