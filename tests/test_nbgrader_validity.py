"""The course path cannot mislead: Validate tells the grade, no silent zeros, readable feedback.

A copy of ``course/`` releases ``losses`` (no training, so each kernel run takes seconds) and
goes through the real ``nbgrader validate``, ``autograde``, ``generate_feedback`` and ``export``,
with notebooks students really hand in: the stub, one bug, the full solution, copies of
``solutions/`` and ``assignments/`` (no nbgrader metadata), a notebook whose metadata was damaged,
a notebook of another assignment and a file that is not a notebook.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat
import pytest
from test_nbgrader_course import BIN, nbg, run, solved
from util import PAGE_FIGURES, ROOT, in_chromium, mutate, needs_chromium

from autograder import manifest

pytestmark = pytest.mark.slow

A = "losses"
POINTS = manifest.get(A).points
BUG = ("shifted = z - np.max(z, axis=-1, keepdims=True)", "shifted = z")  # overflows on big logits


def partial(release: Any) -> Any:
    nb = solved(release, A)
    cell = next(c for c in nb.cells if nbg(c).get("grade_id") == "solution-softmax")
    cell.source = mutate(cell.source, *BUG)
    return nb


def without_metadata(path: Path) -> Any:
    """A notebook of the kit as a student might copy it: no nbgrader metadata anywhere."""
    nb = nbformat.read(path, 4)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    return nb


def damaged(release: Any) -> Any:
    """The full solution whose editor lost one solution cell's metadata and broke another's."""
    nb = solved(release, A)
    solutions = [c for c in nb.cells if nbg(c).get("solution")]
    del solutions[0].metadata["nbgrader"]
    solutions[1].metadata["nbgrader"] = {"grade": True}  # no grade_id
    return nb


def cli_grade(path: Path, out: Path) -> dict[str, Any]:
    run(str(BIN / "autograder"), "grade", A, str(path), "--json", str(out), cwd=out.parent)
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("validity") / "course"
    root.mkdir()
    shutil.copy(ROOT / "course" / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "course" / "source" / A, root / "source" / A)
    run("nbgrader", "generate_assignment", A, cwd=root)
    return root


@pytest.fixture(scope="module")
def release(course: Path) -> Any:
    return nbformat.read(course / "release" / A / f"{A}.ipynb", 4)


# --- Validate ---------------------------------------------------------------------------------

def validate(course: Path, nb: Any, name: str) -> str:
    folder = course.parent / "student" / name
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{A}.ipynb")
    return run("nbgrader", "validate", str(folder / f"{A}.ipynb"), cwd=course)


@pytest.mark.parametrize("which", ["stub", "partial", "full"])
def test_validate_reports_what_autograder_grade_gives(course: Path, release: Any, which: str):
    nb = {"stub": release, "partial": partial(release), "full": solved(release, A)}[which]
    said = validate(course, nb, which)
    graded = cli_grade(course.parent / "student" / which / f"{A}.ipynb",
                       course.parent / "student" / which / "results.json")
    failed = [t for t in graded["tests"] if t["status"] != "passed"]
    if which == "full":
        assert graded["score"] == POINTS and not failed
        assert "Success! Your notebook passes all the tests." in said, said[-3000:]
        return
    assert "Success" not in said, said[-3000:]
    assert f"{len(failed)} HIDDEN TEST(S) FAIL" in said
    assert f"Points if handed in now: {graded['score']:g} / {POINTS:g}" in said
    assert said.count("Points if handed in now") == 1  # once, under the last failing test
    assert said.count("The following cell failed") == len(failed)
    flat = re.sub(r"\s+", " ", said)  # the reasons are wrapped to fit nbgrader's report
    quoted = re.sub(r"\s+", " ", re.sub(r"\n\s*#\s+", " ", said))  # a comment's wrapped lines
    for test in failed:  # the quoted cell names the test, its error says why, each once
        assert f"HiddenTestFailed: {test['output']}" in flat
        assert quoted.count(f"): {test['name']}") == 1, test["name"]
    lines = [line for line in said.splitlines() if line.startswith("    ")]
    assert lines and not [line for line in lines if line.endswith("...")]  # nothing cut off
    if which == "partial":
        assert 0 < graded["score"] < POINTS and all(t["name"].startswith("softmax")
                                                    for t in failed)


# --- autograde: no silent zeros ---------------------------------------------------------------

@pytest.fixture(scope="module")
def autograded(course: Path, release: Any) -> dict[str, Any]:
    notebooks = {
        "stub": release,
        "full": solved(release, A),
        "solutions_copy": without_metadata(ROOT / "solutions" / A / f"{A}.ipynb"),
        "assignments_copy": without_metadata(ROOT / "assignments" / A / f"{A}.ipynb"),
        "damaged": damaged(release),
        "other": nbformat.read(ROOT / "solutions" / "mlp_mnist" / "mlp_mnist.ipynb", 4),
    }
    for student, nb in notebooks.items():
        path = course / "submitted" / student / A / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    garbage = course / "submitted" / "garbage" / A / f"{A}.ipynb"
    garbage.parent.mkdir(parents=True)
    garbage.write_text("{not a notebook", encoding="utf-8")
    done = subprocess.run(["nbgrader", "autograde", A], cwd=course, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    log = done.stdout + done.stderr
    assert done.returncode == 1, log[-3000:]  # nbgrader's exit status: one file is no notebook
    run("nbgrader", "generate_feedback", A, cwd=course)
    export_log = run("nbgrader", "export", cwd=course)
    with (course / "grades.csv").open(newline="", encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    return {"log": log, "rows": rows, "export_log": export_log}


def test_a_notebook_without_nbgrader_metadata_is_graded_by_its_functions(autograded: dict):
    rows = autograded["rows"]
    assert float(rows["solutions_copy"]["score"]) == POINTS, autograded["log"][-3000:]
    assert float(rows["damaged"]["score"]) == POINTS
    assert float(rows["full"]["score"]) == POINTS
    for student in ("solutions_copy", "damaged", "full", "assignments_copy", "stub"):
        assert rows[student]["needs_attention"] == "", rows[student]
    assert float(rows["assignments_copy"]["score"]) == float(rows["stub"]["score"]) == 0
    assert "KeyError" not in autograded["log"]
    assert "found by the function they define" in autograded["log"]


def test_what_cannot_be_graded_needs_attention_with_a_reason_not_a_zero(autograded: dict):
    rows = autograded["rows"]
    assert "this notebook is the 'mlp_mnist' assignment, not 'losses'" in \
        rows["other"]["needs_attention"]
    assert "could not process it" in rows["garbage"]["needs_attention"]
    assert "needs attention: other" in autograded["export_log"]
    assert "needs attention: garbage" in autograded["export_log"]


def test_untouched_cells_log_no_checksum_or_sqlalchemy_warnings(autograded: dict):
    log = autograded["log"]
    assert "Attribute 'checksum'" not in log and "has changed!" not in log
    assert "SAWarning" not in log
    # nbgrader's own traceback, for the file that is no notebook only, after the kit's one line
    assert log.count("[AutogradeApp | ERROR] Traceback") == 1
    said = "autograder: garbage's submission needs attention: "
    assert said in log and log.index(said) < log.index("[AutogradeApp | ERROR] Traceback")
    assert "not a notebook (invalid JSON at line 1)" in log


# --- feedback a student can read --------------------------------------------------------------

def test_feedback_names_every_test_and_shows_every_reason(course: Path, autograded: dict):
    page = (course / "feedback" / "stub" / A / f"{A}.html").read_text(encoding="utf-8")
    graded = cli_grade(course / "submitted" / "stub" / A / f"{A}.ipynb",
                       course.parent / "stub.json")
    summary = page[page.index('<ol class="autograder-tests">'):page.index("</ol>")]
    assert "Test cell" not in summary
    for test in graded["tests"]:
        assert test["name"] in summary.replace("&#39;", "'").replace("&quot;", '"')
    assert summary.count('class="test-failed"') == len(graded["tests"])
    assert ">Comment</a>" not in summary  # nbgrader's own "No response." is no item of its own
    full = (course / "feedback" / "full" / A / f"{A}.html").read_text(encoding="utf-8")
    full_summary = full[full.index('<ol class="autograder-tests">'):full.index("</ol>")]
    assert full_summary.count('class="test-passed"') == len(graded["tests"])
    assert full.count("<body") == 1 and page.count("<body") == 1


@needs_chromium
def test_feedback_reasons_are_visible_without_scrolling_sideways(course: Path, autograded: dict,
                                                                tmp_path: Path):
    """In a real browser 1000 px wide: every failure reason in the page is as wide as the page
    at most (it wraps), the page itself does not scroll sideways, and failed tests are red."""
    source = (course / "feedback" / "stub" / A / f"{A}.html").read_text(encoding="utf-8")
    out = in_chromium(source, PAGE_FIGURES + """
      out.reasons = []; out.red = 0;
      for (const el of document.querySelectorAll('pre, .why')) {
        if (!el.textContent.includes('HiddenTestFailed') && !el.classList.contains('why')) continue;
        const box = el.getBoundingClientRect();
        out.reasons.push({right: box.right, overflow: el.scrollWidth - el.clientWidth});
      }
      for (const el of document.querySelectorAll('li.test-failed > a')) {
        if (getComputedStyle(el).color === 'rgb(192, 57, 43)') out.red += 1;
      }""", tmp_path)
    release = nbformat.read(course / "release" / A / f"{A}.ipynb", 4)
    tests = sum(bool(nbg(c).get("grade")) for c in release.cells)  # the stub fails every one
    assert out["page"] <= out["view"], out
    assert len(out["reasons"]) >= 2 * tests, out  # in the summary and in each cell
    assert all(r["overflow"] <= 1 and r["right"] <= out["view"] for r in out["reasons"]), out
    assert out["red"] == tests, out


def test_the_feedback_of_a_copied_notebook_keeps_its_reasons(course: Path, autograded: dict):
    page = (course / "feedback" / "assignments_copy" / A / f"{A}.html").read_text(encoding="utf-8")
    assert "was missing from the submission" in page and "HiddenTestFailed" in page


def test_the_release_cells_fit_nbgraders_report():
    """nbgrader quotes a failed cell indented by 4 and cut at 87: the test cells' lines fit."""
    source = nbformat.read(ROOT / "course" / "source" / A / f"{A}.ipynb", 4)
    tests = [c for c in source.cells if nbg(c).get("grade")]
    assert tests and all(len(line) <= 83 for c in tests for line in c.source.splitlines())



def test_the_readme_s_notebook_command_runs_the_grader_from_a_kernel(tmp_path: Path):
    """``!python`` may be another Python in a kernel whose PATH lacks the virtualenv's bin
    (JupyterLab started as ``.venv/bin/jupyter lab``); the line the README gives works there
    (here the kit is installed, so it grades with it)."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(line.strip() for line in readme.splitlines()
                if line.strip().startswith("!{sys.executable} -m coursekit check"))
    shutil.copy(ROOT / "solutions" / A / f"{A}.ipynb", tmp_path / f"{A}.ipynb")
    command = line.replace("mlp_mnist", A)
    nb = new_notebook(cells=[new_code_cell(f"import sys\n{command}")])
    path = os.environ["PATH"].split(os.pathsep)
    env_path = os.pathsep.join(p for p in path if Path(p).resolve() != BIN.resolve())
    old = os.environ["PATH"]
    os.environ["PATH"] = env_path  # the kernel inherits it, as it would from `jupyter lab`
    try:
        NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:
        os.environ["PATH"] = old
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert f"{POINTS:g} / {POINTS:g}" in text or f"{POINTS:.1f} / {POINTS:.1f}" in text, text[-2000:]
