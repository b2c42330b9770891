"""The Gradescope package: built by one command, unpacked as Gradescope unpacks it, run as
Gradescope runs it (``run_autograder`` copied to the root, the submission in ``submission/``), and
every ``results.json`` checked against Gradescope's documented schema."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from util import ROOT, mutate, solution_source

from autograder.export.gradescope import unpack
from autograder.export.runner import find_submission
from autograder.grading.hidden import course_secret
from autograder.grading.results import VISIBILITIES
from autograder.submission.load import SubmissionError
from coursekit.data import mnist

pytestmark = pytest.mark.slow

A = "mlp_mnist"
BIN = Path(sys.executable).parent
LAZY_TRAIN = ("    costs = []\n    for step in range(n_iter):",
              "    return [2.3] * len(range(0, n_iter, n_prt))  # fabricated\n    costs = []\n"
              "    for step in range(n_iter):")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip, built by the CLI and unpacked into ``<root>/source`` with its file modes."""
    root = tmp_path_factory.mktemp("gradescope")
    out = root / "autograder.zip"
    done = subprocess.run([str(BIN / "autograder"), "export", "gradescope", A, "-o", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"wrote {out}" in done.stdout
    unpack(out, root)  # as Gradescope does: source/, and run_autograder copied to the root
    return root


def run_autograder(root: Path, files: dict[str, bytes]) -> dict[str, Any]:
    submission = root / "submission"
    shutil.rmtree(submission, ignore_errors=True)
    shutil.rmtree(root / "results", ignore_errors=True)
    for name, data in files.items():
        (submission / name).parent.mkdir(parents=True, exist_ok=True)
        (submission / name).write_bytes(data)
    submission.mkdir(exist_ok=True)
    env = {**os.environ, "AUTOGRADER_GRADESCOPE_ROOT": str(root),
           "AUTOGRADER_VENV": sys.prefix, "AUTOGRADER_MNIST_DIR": str(mnist.ensure())}
    env.pop("AUTOGRADER_SECRET", None)
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=900, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    check_schema(results)
    return results


def check_schema(results: dict[str, Any]) -> None:
    """Gradescope's documented results.json: the fields it reads, with their types."""
    assert isinstance(results["score"], int | float) and isinstance(results["output"], str)
    assert isinstance(results["execution_time"], int | float) and results["execution_time"] >= 0
    assert results.get("visibility", "visible") in VISIBILITIES
    for test in results["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], int | float) and isinstance(test["max_score"], int | float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
    for entry in results.get("leaderboard", []):
        assert isinstance(entry["name"], str) and isinstance(entry["value"], int | float)
        assert entry["order"] in ("asc", "desc")
    json.dumps(results, allow_nan=False)


def test_the_zip_holds_what_gradescope_needs(package: Path):
    source = package / "source"
    for script in ("setup.sh", "run_autograder"):
        assert (source / script).stat().st_mode & 0o111, f"{script} is not executable"
    assert len(list((source / "wheels").glob("nn_tf_autograder-*.whl"))) == 1
    for name, digest in mnist.SHA256.items():
        assert hashlib.sha256((source / "mnist" / name).read_bytes()).hexdigest() == digest
    assert (source / "secret").read_bytes().strip() == course_secret()
    assert (source / "secret").stat().st_mode & 0o077 == 0
    run = (source / "run_autograder").read_text()
    # the console script, not `python -m` (no folder named autograder can shadow the kit), and
    # the package named as something no worker may read
    assert 'exec "$VENV/bin/autograder" gradescope-run' in run
    assert 'export AUTOGRADER_HIDE="$ROOT/source"' in run


def test_setup_installs_the_kit_and_mnist_from_the_zip(package: Path, tmp_path: Path):
    env = {**os.environ, "AUTOGRADER_SETUP_DRY_RUN": "1", "AUTOGRADER_VENV": str(tmp_path / "v"),
           "AUTOGRADER_MNIST_DIR": str(tmp_path / "m")}
    done = subprocess.run(["bash", str(package / "source" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    said = done.stdout
    wheel = next((package / "source" / "wheels").glob("*.whl"))
    assert f"+ python3 -m venv {tmp_path / 'v'}" in said
    assert f"-m pip install --quiet {wheel}" in said
    assert f"+ cp {package / 'source' / 'mnist'}/" in said and f"{tmp_path / 'm'}/" in said
    # workers run as uids of their own: the package (the wheel with the masters, the secret,
    # the test labels) and, by `autograder data`, the installed suites and masters, MNIST's
    # test labels and the secret are made unreadable to them (tests/test_containment.py)
    assert f"+ chmod -R go-rwx {package / 'source'}\n" in said
    assert (f"AUTOGRADER_MNIST_SOURCES= AUTOGRADER_SECRET_FILE={package / 'source' / 'secret'} "
            f"{tmp_path / 'v'}/bin/autograder data") in said


def test_the_reference_earns_everything_and_a_leaderboard_entry(package: Path):
    results = run_autograder(package, {f"{A}.ipynb": (ROOT / "solutions" / A /
                                                      f"{A}.ipynb").read_bytes()})
    assert results["score"] == results["max_score"] == 20
    assert all(t["status"] == "passed" for t in results["tests"])
    assert results["output"].startswith("20 / 20 points.\nEvery test passes.")
    [entry] = results["leaderboard"]
    assert entry["order"] == "desc" and 85 < entry["value"] <= 100
    assert round(entry["value"], 2) == entry["value"]
    assert f"classifies {entry['value']:.2f}% of the 10,000 MNIST test images" in results["output"]


def test_the_stub_earns_nothing_and_is_told_what_to_fix(package: Path):
    stub = (ROOT / "assignments" / A / f"{A}.ipynb").read_bytes()
    results = run_autograder(package, {"folder/" + f"{A}.ipynb": stub, "notes.md": b"hi"})
    assert results["score"] == 0 and results["tests"]
    assert "To fix:\n- build_model" in results["output"]
    assert results["leaderboard"] == [{"name": "Test accuracy (%)", "value": 0.0, "order": "desc"}]
    assert "leaderboard entry is 0" in results["output"]


@pytest.mark.parametrize("files, why", [
    ({"notes.txt": b"my answers are in my head"}, "no .ipynb notebook or .py file was submitted"),
    ({"a.ipynb": b"{}", "b.ipynb": b"{}"}, "several files could be the submission (a.ipynb, "
                                           "b.ipynb)"),
    ({f"{A}.ipynb": b"{not json"}, f"{A}.ipynb: not a notebook (invalid JSON at line 1)"),
    ({f"{A}.ipynb": (ROOT / "solutions" / "losses" / "losses.ipynb").read_bytes()},
     "this notebook is the 'losses' assignment, not 'mlp_mnist'"),
])
def test_what_cannot_be_graded_is_one_line_for_the_student(package: Path, files: dict,
                                                           why: str):
    results = run_autograder(package, files)
    assert results["score"] == 0 and results["tests"] == [] and results["max_score"] == 20
    assert results["output"].startswith("Not graded: ") and why in results["output"]
    assert "\n" not in results["output"] and str(package) not in results["output"]


def test_a_train_that_fabricates_its_costs_tops_no_leaderboard(package: Path):
    """The entry is the grader's measure of the trained weights: a train that only returns costs
    leaves the network as it started, about one digit in ten right."""
    lazy = mutate(solution_source(A), *LAZY_TRAIN)
    results = run_autograder(package, {f"{A}.py": lazy.encode()})
    [entry] = results["leaderboard"]
    assert entry["value"] < 30, entry
    assert results["score"] < 20


def test_the_submission_is_found_in_folders_gradescope_makes(tmp_path: Path):
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / f"._{A}.ipynb").write_text("{}")
    (tmp_path / "upload" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "upload" / ".ipynb_checkpoints" / f"{A}-checkpoint.ipynb").write_text("{}")
    (tmp_path / "upload" / f"{A}.ipynb").write_text("{}")
    (tmp_path / "upload" / "helper.py").write_text("")
    assert find_submission(tmp_path, A) == tmp_path / "upload" / f"{A}.ipynb"
    (tmp_path / "upload" / f"{A}.ipynb").unlink()
    (tmp_path / "upload" / "other.ipynb").write_text("{}")
    assert find_submission(tmp_path, A) == tmp_path / "upload" / "other.ipynb"
    (tmp_path / "upload" / "third.ipynb").write_text("{}")
    with pytest.raises(SubmissionError, match="several files could be the submission"):
        find_submission(tmp_path, A)


def test_a_link_out_of_the_upload_is_not_the_submission(tmp_path: Path):
    """A zip upload may hold symbolic links: one to the package's secret is never read."""
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "secret").write_text("course secret")
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / f"{A}.ipynb").symlink_to(tmp_path / "source" / "secret")
    with pytest.raises(SubmissionError, match=r"no \.ipynb notebook or \.py file was submitted"):
        find_submission(tmp_path / "submission", A)


def test_the_wheel_holds_every_file_of_the_kit(package: Path):
    """An editable install reads the checkout; Gradescope installs the wheel: a data file left
    out of it (the suites' pytest.ini once) makes every grade 0 / 0."""
    wheel = next((package / "source" / "wheels").glob("*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        packed = {n for n in archive.namelist() if n.startswith(("autograder/", "coursekit/"))}
    kit = {str(p.relative_to(ROOT)) for package in ("autograder", "coursekit")
           for p in (ROOT / package).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert kit - packed == set()  # nothing left out
    assert packed - kit == set()  # and nothing stale (an old build/ folder's modules)
    assert not (ROOT / "build").exists() or (ROOT / "build").stat().st_mtime < (
        package / "source" / "setup.sh").stat().st_mtime  # building leaves no build/ here


def test_a_suite_that_runs_no_tests_is_an_error_not_a_zero(tmp_path: Path, monkeypatch):
    from autograder.grading import run as grading

    monkeypatch.setattr(grading, "SUITES", tmp_path)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / A).mkdir()
    with pytest.raises(grading.SuiteMissing, match="ran no tests"):
        grading.grade(assignment=A, submission=ROOT / "solutions" / A / f"{A}.ipynb")
