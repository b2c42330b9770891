"""The generator: masters parse, transforms do one thing each, committed outputs do not drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from util import ROOT, run_notebook

from autograder.generate import command, pipelines, transforms
from autograder.generate.cells import Cell, MasterError, parse_master
from autograder.manifest import ASSIGNMENTS

MASTERS = [a.name for a in ASSIGNMENTS if pipelines.master_path(a.name).exists()]


def test_committed_generated_files_match_the_masters():
    problems = command.drift(root=ROOT, assignments=MASTERS)
    assert not problems, "generated files drifted; run `autograder generate`:\n" + "\n".join(problems)


def test_regenerating_into_a_fresh_folder_gives_the_committed_bytes(tmp_path: Path):
    written = command.main(root=tmp_path, assignments=MASTERS)
    assert written
    for path in written:
        rel = path.relative_to(tmp_path)
        assert path.read_bytes() == (ROOT / rel).read_bytes(), rel


def test_drift_is_detected(tmp_path: Path):
    command.main(root=tmp_path, assignments=["mlp_mnist"])
    stub = tmp_path / "assignments" / "mlp_mnist" / "mlp_mnist.ipynb"
    stub.write_text(stub.read_text().replace("build_model", "build_modle", 1))
    problems = command.drift(root=tmp_path, assignments=["mlp_mnist"])
    assert len(problems) == 1 and "build_modle" in problems[0]


@pytest.mark.parametrize("assignment", MASTERS)
def test_student_notebook_holds_no_solution_or_hidden_test(assignment: str):
    stub = (ROOT / "assignments" / assignment / f"{assignment}.ipynb").read_text()
    nb = json.loads(stub)
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "BEGIN SOLUTION" not in stub and "END SOLUTION" not in stub
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    solution_lines = {
        line.strip() for cell in pipelines.build(assignment, pipelines.SOLUTION)
        if "solution" in cell.tags for line in cell.source.split("\n")
    } - {line.strip() for cell in pipelines.build(assignment, pipelines.STUDENT)
         for line in cell.source.split("\n")}
    code_lines = {line.strip() for line in code.split("\n")}
    leaked = [line for line in solution_lines if len(line) > 12 and line in code_lines]
    assert not leaked, leaked
    suite = ROOT / "autograder" / "suites" / assignment
    for test_file in suite.glob("test_*.py"):
        for name in (line.split("(")[0][4:] for line in test_file.read_text().splitlines()
                     if line.startswith("def test_")):
            assert name not in stub, name
    assert "raise NotImplementedError(" in code


def test_clear_solutions_names_the_function_and_keeps_indentation():
    cell = Cell("code", "def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n"
                        "    ### END SOLUTION\n")
    (out,) = transforms.clear_solutions([cell])
    assert out.source == ("def f(x):\n    y = 1\n    " + transforms.stub_line("f") + "\n")
    assert "f is not implemented yet" in out.source


def test_unclosed_solution_region_is_an_error():
    with pytest.raises(ValueError, match="never closed"):
        transforms.clear_solutions([Cell("code", "### BEGIN SOLUTION\nx = 1\n")])


def test_parse_master_reads_kinds_tags_and_markdown():
    cells = parse_master('# header\n# %% [markdown]\n# # Title\n#\n# text\n'
                         '# %% tags=["demo"]\nprint(1)\n\n')
    assert cells == [Cell("markdown", "# Title\n\ntext"), Cell("code", "print(1)", ("demo",))]


def test_malformed_marker_is_reported_with_its_line():
    with pytest.raises(MasterError, match=r"m.py:2: malformed cell marker"):
        parse_master("# %%\n# %% tags=oops\n", name="m.py")


def test_reference_notebook_runs_top_to_bottom(tmp_path: Path):
    """The reference solution executes as a student would run it: every cell, a real kernel."""
    nb = run_notebook(ROOT / "solutions" / "mlp_mnist" / "mlp_mnist.ipynb", tmp_path)
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Accuracy on the 5,000 validation images: 0.9" in text


def test_generate_check_cli_passes_on_the_repo():
    proc = subprocess.run([sys.executable, "-m", "autograder", "generate", "--check", *MASTERS],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
