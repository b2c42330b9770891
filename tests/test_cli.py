"""The CLI as people use it: help, grading with --json, clear one-line errors."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

from util import ROOT

from autograder import manifest
from autograder.grading.plugin import points_of  # noqa: F401  (the plugin imports cleanly)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=600)


def test_help_lists_the_commands():
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("grade", "generate", "list", "data"):
        assert command in proc.stdout


def test_unknown_assignment_is_one_clear_line():
    proc = run("grade", "no_such", "samples/mlp_mnist/student_with_bugs.ipynb")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "unknown assignment 'no_such'" in proc.stderr


def test_missing_file_is_one_clear_line(tmp_path: Path):
    proc = run("grade", "mlp_mnist", str(tmp_path / "nope.ipynb"))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"autograder: error: {tmp_path / 'nope.ipynb'}: no such file or directory"


def test_a_notebook_of_another_assignment_is_one_clear_line(tmp_path: Path):
    """Each notebook of the kit records its assignment; grading it as another one would give a
    table of "not defined" rows that looks like a grade."""
    proc = run("grade", "mlp_mnist", "solutions/losses/losses.ipynb", "--json", str(tmp_path / "r"))
    assert proc.returncode == 2 and not (tmp_path / "r").exists()
    assert proc.stderr.strip() == ("autograder: error: solutions/losses/losses.ipynb: this notebook "
                                   "is the 'losses' assignment, not 'mlp_mnist'")


def test_bad_option_is_a_usage_error():
    proc = run("grade", "--no-such-option")
    assert proc.returncode == 2 and "No such option" in proc.stderr


def test_list_shows_the_course_in_order():
    proc = run("list")
    names = [line.split()[1] for line in proc.stdout.strip().splitlines()]
    assert names == [a.name for a in manifest.ASSIGNMENTS]


def test_grade_writes_gradescope_json(tmp_path: Path):
    out = tmp_path / "results.json"
    proc = run("grade", "mlp_mnist", "samples/mlp_mnist/student_with_bugs.ipynb", "--json", str(out),
               "--html", str(tmp_path / "report.html"))
    assert proc.returncode == 0, proc.stderr
    assert "total: 12 / 20" in proc.stdout
    data = json.loads(out.read_text())
    assert set(data) >= {"score", "max_score", "execution_time", "tests"}
    assert isinstance(data["score"], float) and data["max_score"] == 20
    assert data["execution_time"] > 0
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert 0 <= test["score"] <= test["max_score"]
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 12
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'data-score="12" data-max="20"' in page
    assert page.count('<tr class="failed">') == sum(t["status"] != "passed" for t in data["tests"])
    for test in data["tests"]:
        assert html.escape(test["name"], quote=True) in page
        if test["status"] != "passed":
            assert html.escape(test["output"], quote=True) in page


def test_report_without_a_gradebook_is_one_clear_line(tmp_path: Path):
    proc = run("report", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"autograder: error: {tmp_path}: holds no gradebook.sqlite "
                                   "(made by `autograder batch`)")
