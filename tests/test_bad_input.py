"""Bad input gets a clear answer: a one-line error for input the grader cannot use, a report that
names the problem for a submission it can run. Never a traceback, never a damaged results file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from util import ROOT, grade_text, mutate, solution_source

from autograder.grading.results import GradeResult
from autograder.grading.run import grade

A = "mlp_mnist"
CHEAP = ["build_model", "build_loss", "build_accuracy"]
_HEADER = re.compile(r"^# %%(?: tags=(\[.*\]))?\s*$")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=900)


def notebook(source: str, nbformat: int = 4) -> str:
    """A notebook of format 3 or 4 with the cells (and tags) of a percent-format source."""
    cells, header, lines = [], None, []

    def flush() -> None:
        if header is not None:
            tags = json.loads(header.group(1)) if header.group(1) else []
            key = "source" if nbformat == 4 else "input"
            cells.append({"cell_type": "code", "metadata": {"tags": tags}, key: "\n".join(lines),
                          "outputs": [], **({"execution_count": None} if nbformat == 4 else {})})

    for line in source.split("\n"):
        if match := _HEADER.match(line):
            flush()
            header, lines = match, []
        else:
            lines.append(line)
    flush()
    if nbformat == 3:
        return json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                           "worksheets": [{"cells": cells, "metadata": {}}]})
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


def outputs(result: GradeResult) -> dict[str, str]:
    return {t.id: ("" if t.status == "passed" else t.output) for t in result.tests}


# --- input the grader cannot use: one line on stderr, exit status 2, results file untouched -----

def _make(kind: str, folder: Path) -> tuple[Path, str]:
    """Create bad input of ``kind`` in ``folder``: its path and the problem the error names."""
    path = folder / "submission.ipynb"
    if kind == "missing path":
        return path, "no such file or directory"
    if kind == "directory without a notebook":
        path = folder / "handed-in"
        path.mkdir()
        (path / "README.txt").write_text("my notebook is attached")
        return path, "directory holds no .ipynb or .py submission"
    if kind == "a pipe, not a file":
        os.mkfifo(path)
        return path, "not a regular file or a directory"
    contents: dict[str, bytes] = {
        "empty file": b"",
        "not JSON": b"{'cells': [print('hello')]}",
        "not UTF-8": b'{"cells": "\xff\xfe"}',
        "JSON nested too deeply": b"[" * 200_000 + b"]" * 200_000,
        "JSON but not a notebook": b'["a", "list"]',
        "newer notebook format": json.dumps({"nbformat": 5, "cells": []}).encode(),
        "older notebook format": json.dumps({"nbformat": 2, "worksheets": []}).encode(),
        "notebook with no code": json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [
            {"cell_type": "markdown", "source": "I ran out of time", "metadata": {}}]}).encode(),
    }
    problems = {
        "empty file": "file is empty",
        "not JSON": "not a notebook (invalid JSON at line 1)",
        "not UTF-8": "not UTF-8 text (byte 11)",
        "JSON nested too deeply": "not a notebook (JSON nested too deeply)",
        "JSON but not a notebook": "not a notebook (JSON list, not an object)",
        "newer notebook format": "notebook format 5 is newer than this grader reads (3 or 4)",
        "older notebook format": "notebook format 2 is too old to read (3 or 4)",
        "notebook with no code": "holds no code to grade",
    }
    path.write_bytes(contents[kind])
    return path, problems[kind]


UNUSABLE = ["missing path", "directory without a notebook", "a pipe, not a file", "empty file",
            "not JSON", "not UTF-8", "JSON nested too deeply", "JSON but not a notebook",
            "newer notebook format", "older notebook format", "notebook with no code"]


@pytest.mark.parametrize("kind", UNUSABLE)
def test_unusable_input_is_one_line_naming_the_file_and_the_problem(tmp_path, kind):
    path, problem = _make(kind, tmp_path)
    results = tmp_path / "results.json"
    results.write_text('{"score": 17, "from": "an earlier run"}')
    before = (results.read_bytes(), results.stat().st_mtime_ns)
    proc = run_cli("grade", A, str(path), "--json", str(results))
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"autograder: error: {path}: {problem}"), proc.stderr
    assert (results.read_bytes(), results.stat().st_mtime_ns) == before


# --- submissions that run but are broken: a report that names each problem ----------------------

@pytest.fixture(scope="module")
def broken_script(tmp_path_factory) -> GradeResult:
    """A .py file with a syntax error in build_loss and the wrong signature for build_accuracy."""
    source = mutate(solution_source(A), "def build_loss(logits, y):", "def build_loss(logits, y)")
    source = mutate(source, "def build_accuracy(logits, y):", "def build_accuracy(logits):")
    return grade_text(tmp_path_factory.mktemp("script"), A, source, name="broken.py",
                      select=CHEAP)


def test_a_syntax_error_is_a_note_and_its_function_is_missing(broken_script):
    assert broken_script.submission.endswith("broken.py")
    [note] = [n for n in broken_script.notes if "SyntaxError" in n]
    assert re.fullmatch(r"cell \d+ failed while loading: SyntaxError: expected ':' "
                        r"\(cell \d+, line \d+\)", note), note
    out = outputs(broken_script)
    assert out["test_build_loss_scalar"] == "build_loss is not defined in the submission"
    assert out["test_build_model_shape"] == out["test_build_model_values"] == ""


def test_a_wrong_signature_says_how_the_function_was_called(broken_script):
    assert outputs(broken_script)["test_build_accuracy"] == (
        "build_accuracy cannot be called the way the assignment asks (too many positional "
        "arguments); compare its parameters with the docstring")


@pytest.fixture(scope="module")
def old_notebook(tmp_path_factory) -> GradeResult:
    """A format-3 notebook: a cell raises at import, build_model is missing, build_loss gives NaN,
    build_accuracy one value per example instead of their mean."""
    source = mutate(solution_source(A), "def build_model(x, weights, biases):",
                    "def build_modle(x, weights, biases):")
    source = mutate(source, "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(",
                    "return tf.constant(float('nan')) * tf.reduce_mean(tf.nn."
                    "softmax_cross_entropy_with_logits(")
    source = mutate(source, "return tf.reduce_mean(tf.cast(correct, tf.float32))",
                    "return tf.cast(correct, tf.float32)")
    source += '\n# %%\nraise FileNotFoundError("my_data.csv")\n'
    folder = tmp_path_factory.mktemp("old")
    return grade_text(folder, A, notebook(source, nbformat=3), name="old.ipynb", select=CHEAP)


def test_an_older_notebook_is_graded_and_a_failing_cell_is_named(old_notebook):
    assert old_notebook.submission.endswith("old.ipynb")
    assert any(re.fullmatch(r"cell \d+ failed while loading: FileNotFoundError: my_data.csv "
                            r"\(cell \d+, line 1\)", n) for n in old_notebook.notes), \
        old_notebook.notes
    out = outputs(old_notebook)
    assert out["test_build_model_shape"] == "build_model is not defined in the submission"
    assert out["test_build_loss_scalar"] == "build_loss's result holds 1 NaN or infinite value(s)"
    assert re.fullmatch(r"build_accuracy's result should be a scalar, but has shape \[\d+\]",
                        out["test_build_accuracy"]), out["test_build_accuracy"]


@pytest.fixture(scope="module")
def wrong_results(tmp_path_factory) -> GradeResult:
    """A format-4 notebook: float64 logits, an infinite loss, accuracy as a Python string."""
    source = mutate(solution_source(A),
                    'return tf.add(tf.matmul(hidden1, weights["output"]), biases["output"])',
                    'return tf.cast(tf.add(tf.matmul(hidden1, weights["output"]), '
                    'biases["output"]), tf.float64)')
    source = mutate(source, "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(",
                    "return float('inf') + tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(")
    source = mutate(source, "return tf.reduce_mean(tf.cast(correct, tf.float32))", 'return "0.5"')
    return grade_text(tmp_path_factory.mktemp("new"), A, notebook(source), name="new.ipynb",
                      select=CHEAP)


def test_wrong_dtype_infinity_and_wrong_type_are_named(wrong_results):
    out = outputs(wrong_results)
    assert out["test_build_model_shape"] == ("build_model's logits have dtype float64, expected "
                                             "float32")
    assert out["test_build_loss_scalar"] == "build_loss's result holds 1 NaN or infinite value(s)"
    assert out["test_build_accuracy"] == ("build_accuracy should return a TensorFlow tensor of the "
                                          "graph")


def test_the_cli_reports_a_broken_submission_and_writes_complete_json(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(mutate(solution_source(A), "def build_loss(logits, y):",
                           "def build_loss(logits, y)"))
    results = tmp_path / "results.json"
    proc = run_cli("grade", A, str(path), "--json", str(results), "--call-timeout", "60")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "SyntaxError: expected ':'" in proc.stdout and "broken.py" in proc.stdout
    data = json.loads(results.read_text())
    assert data["score"] == sum(t["score"] for t in data["tests"]) < data["max_score"] == 20
    assert "SyntaxError" in data["output"]


def test_text_from_the_submission_cannot_break_the_report(tmp_path):
    source = solution_source(A) + '\n# %%\nraise ValueError("[/] [red]\\x1b[31mred[/red]")\n'
    result = grade(assignment=A, submission=_write(tmp_path / "[weird] name.py", source),
                   select=["build_model_shape"])
    [note] = [n for n in result.notes if "ValueError" in n]
    assert "[/] [red]red[/red]" in note and "\x1b" not in note
    from rich.console import Console

    from autograder.grading.report import print_report

    console = Console(record=True, width=200)
    print_report(result, console=console)
    assert "[/] [red]red[/red]" in console.export_text()
    narrow = Console(record=True, width=40)  # a path longer than the line is not cut short
    print_report(result, console=narrow)
    assert result.submission.endswith("[weird] name.py") and len(result.submission) > 40
    assert result.submission in narrow.export_text()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
