"""``check()`` in a real kernel, as a student runs it, and the demo cells of an unfinished notebook.

Notebooks are executed by nbclient with ``JPY_SESSION_NAME`` set as JupyterLab sets it (the
notebook's path under the server's root; the kernel runs in the notebook's folder). Here the
instructor's kit is installed, so ``check()`` grades with it (``local``): its points must be those
of ``autograder grade`` on the same file. The grading service and the student bundle without the
kit are tried in tests/test_student_bundle.py and tests/test_serve*.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest
from util import ROOT, mutate

from coursekit import checker as selfcheck
from coursekit import config

pytestmark = pytest.mark.slow

A = "losses"
BIN = Path(sys.executable).parent
BUG = ("shifted = z - np.max(z, axis=-1, keepdims=True)", "shifted = z")


def execute(nb: Any, folder: Path, *, on_disk: Any | None = None) -> Any:
    """Save ``on_disk`` (default: ``nb``) as the notebook, then run ``nb`` in a kernel there."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(on_disk if on_disk is not None else nb, folder / f"{A}.ipynb")
    old = os.environ.get("JPY_SESSION_NAME")
    os.environ["JPY_SESSION_NAME"] = f"course/work/{A}.ipynb"  # relative to the server's root
    try:
        nbclient.NotebookClient(nb, timeout=600, allow_errors=True,
                                resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        if old is None:
            os.environ.pop("JPY_SESSION_NAME", None)
        else:
            os.environ["JPY_SESSION_NAME"] = old
    return nb


def shown(cell: Any) -> tuple[str, str]:
    """The text and the HTML a cell displayed as its result."""
    data = next((o.data for o in cell.outputs if o.output_type == "execute_result"), {})
    return data.get("text/plain", ""), data.get("text/html", "")


def check_cell(nb: Any) -> Any:
    return next(c for c in nb.cells if c.cell_type == "code" and "check()" in c.source)


def grade(path: Path) -> dict[str, Any]:
    out = path.with_suffix(".json")
    subprocess.run([str(BIN / "autograder"), "grade", A, str(path), "--json", str(out)],
                   check=True, capture_output=True, timeout=600)
    return json.loads(out.read_text())


def solution() -> Any:
    return nbformat.read(ROOT / "solutions" / A / f"{A}.ipynb", 4)


def partial() -> Any:
    nb = solution()
    cell = next(c for c in nb.cells if "def softmax(" in c.source)
    cell.source = mutate(cell.source, *BUG)
    return nb


@pytest.mark.parametrize("make", [solution, partial], ids=["full", "partial"])
def test_check_in_the_notebook_gives_the_points_of_autograder_grade(make, tmp_path: Path):
    nb = execute(make(), tmp_path)
    text, page = shown(check_cell(nb))
    graded = grade(tmp_path / f"{A}.ipynb")
    total = f"{A}: {graded['score']:g} / {graded['max_score']:g} points ({A}.ipynb, as saved)"
    assert text.splitlines()[0] == total, text
    assert f"{graded['score']:g} / {graded['max_score']:g} points" in page
    for test in graded["tests"]:
        assert test["name"] in text
        if test["status"] != "passed":
            assert test["output"] in text and "FAIL" in text
    if make is partial:
        assert 0 < graded["score"] < graded["max_score"]
        assert page.count("&#10008;") == sum(t["status"] != "passed" for t in graded["tests"])


def test_check_says_save_first_when_a_function_run_is_not_the_saved_one(tmp_path: Path):
    saved = solution()
    ran = solution()
    cell = next(c for c in ran.cells if "def softmax(" in c.source)
    cell.source = mutate(cell.source, *BUG)  # the kernel runs another softmax than the file has
    nb = execute(ran, tmp_path, on_disk=saved)
    text, page = shown(check_cell(nb))
    assert text.startswith("check(): save first:") and "softmax" in text and "Ctrl+S" in text
    assert "points" not in text and "save first" in page


def test_unsaved_cells_that_only_call_check_or_print_are_no_reason_to_save(tmp_path: Path):
    saved = solution()
    ran = solution()
    ran.cells += [nbformat.v4.new_code_cell("check('softmax')"),
                  nbformat.v4.new_code_cell("# a comment\nprint('not saved')"),
                  nbformat.v4.new_code_cell("check()")]
    nb = execute(ran, tmp_path, on_disk=saved)
    text, _ = shown(nb.cells[-3])
    assert text.startswith(f"{A}: 3 / 3 points"), text
    text, _ = shown(nb.cells[-1])
    assert text.startswith(f"{A}: 20 / 20 points"), text


def test_check_with_a_relative_path_from_the_notebooks_folder(tmp_path: Path, monkeypatch):
    nbformat.write(partial(), tmp_path / "mine.ipynb")
    monkeypatch.chdir(tmp_path)
    result = selfcheck.check(path="mine.ipynb")
    assert not result.problem, result.problem
    assert 0 < result.score < result.max_score == 20
    assert "no such notebook" in selfcheck.check(path="other.ipynb").problem


def test_without_a_service_or_the_kit_the_self_checks_run_and_one_line_says_why(
        tmp_path: Path, monkeypatch):
    monkeypatch.setattr(config, "kit_installed", lambda: False)
    for name in (config.ENV_SERVICE, config.ENV_TOKEN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.ENV_CONFIG, str(tmp_path / "none.json"))
    nbformat.write(partial(), tmp_path / "mine.ipynb")
    result = selfcheck.check(path=tmp_path / "mine.ipynb")
    text = repr(result)
    assert text.splitlines()[-1] == selfcheck.NOT_CONFIGURED and "points" not in text
    by_name = {s["name"]: s["passed"] for s in result.selfchecks}
    assert by_name["softmax"] is False and by_name["squared_loss"] is True, by_name
    stub = selfcheck.check(path=ROOT / "assignments" / A / f"{A}.ipynb")
    assert stub.selfchecks and not any(s["passed"] for s in stub.selfchecks)
    assert all("not implemented yet" in s["why"] for s in stub.selfchecks)


def test_check_of_one_function_and_when_nbgrader_runs(tmp_path: Path, monkeypatch):
    nb = solution()
    nb.cells.append(nbformat.v4.new_code_cell("check('softmax')"))
    nb = execute(nb, tmp_path)
    text, _ = shown(nb.cells[-1])
    assert text.startswith(f"{A}: 3 / 3 points")
    assert re.findall(r"^ok\s+(\w+):", text, re.MULTILINE) == ["softmax"] * 3
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert "skipped while the notebook is being run" in repr(selfcheck.check())


def test_check_without_a_notebook_to_find_says_how_to_name_it(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    result = selfcheck.check()
    assert result.problem.startswith("cannot tell which notebook this is")
    assert repr(result).count("\n") == 0


def test_demo_cells_of_an_unfinished_notebook_stop_in_one_line(tmp_path: Path):
    stub = nbformat.read(ROOT / "assignments" / A / f"{A}.ipynb", 4)
    nb = execute(stub, tmp_path)
    demos = [c for c in nb.cells if "demo" in c.metadata.get("tags", [])]
    errors = [o for c in demos for o in c.outputs if o.output_type == "error"]
    assert errors and all(e.ename == "NotDone" and len(e.traceback) == 1 for e in errors)
    assert all("is not implemented yet" not in e.evalue for e in errors)
    assert "write" in errors[0].evalue and "squared_loss" in errors[0].evalue
    every = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not [e for e in every if e.ename == "NameError"]
