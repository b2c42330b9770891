"""The student bundle: nothing of the answers in it, and everything a student's notebook needs.

``autograder export student`` is run as an instructor runs it. Every file of the bundle (the
wheel's members and the notebooks' cells too) is searched, by a search written here and not the
export's own guard, for the masters' solution lines, the hidden tests' names and bodies, the
suites' helpers and lists of equivalents, and the course secret. Then the bundle is installed in
a virtualenv without the kit (TensorFlow and the other libraries lent from the kit's environment,
the kit itself left out), where nothing of the kit can be imported and every released notebook
runs top to bottom.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbclient
import nbformat
import pytest
from serve_util import Server, issue_tokens, notebook, wait_for
from util import ROOT

from autograder import manifest
from autograder.export import student
from autograder.grading.hidden import course_secret

NAMES = [a.name for a in manifest.ASSIGNMENTS]
BIN = Path(sys.executable).parent
KIT_ENTRIES = ("autograder", "coursekit", "nn_tf_", "__editable__", "distutils-precedence")


def texts(folder: Path) -> Iterator[tuple[str, str]]:
    """Every file under ``folder`` as text, a wheel's or zip's members each on their own, a
    notebook both as it is stored and as its cells read."""
    def one(name: str, data: bytes) -> Iterator[tuple[str, str]]:
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    yield from one(f"{name}!{member}", archive.read(member))
            return
        text = data.decode("utf-8", "replace")
        yield name, text
        if name.endswith(".ipynb"):
            cells = json.loads(text)["cells"]
            yield f"{name} (cells)", "\n".join("".join(c["source"]) for c in cells)

    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield from one(str(path.relative_to(folder)), path.read_bytes())


def _given_lines() -> set[str]:
    """Lines every student has anyway: the stub notebooks' code and text."""
    lines = set()
    for name in NAMES:
        nb = json.loads((ROOT / "assignments" / name / f"{name}.ipynb").read_text())
        for cell in nb["cells"]:
            lines.update(line.strip() for line in "".join(cell["source"]).splitlines())
    return lines


def answers() -> dict[str, set[str]]:
    """What must not be in the bundle, by kind: each a set of strings searched for."""
    given = _given_lines()
    found: dict[str, set[str]] = {"solution line": set(), "hidden test name": set(),
                                  "hidden test line": set(), "equivalence": set()}
    for name in NAMES:
        text = (ROOT / "autograder" / "masters" / f"{name}.py").read_text()
        for region in text.split("### BEGIN SOLUTION")[1:]:
            for line in region.split("### END SOLUTION")[0].splitlines():
                if len(line.strip()) >= 10 and line.strip() not in given:
                    found["solution line"].add(line.strip())
    for path in (ROOT / "autograder" / "suites").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found["hidden test name"].add(node.name)
        for line in path.read_text().splitlines():
            if len(line.strip()) >= 30 and line.strip() not in given \
                    and not line.strip().startswith(("#", '"""', "from ", "import ")):
                found["hidden test line"].add(line.strip())
    for path in (ROOT / "autograder" / "suites").rglob("equivalent.json"):
        for entry in json.loads(path.read_text()):
            found["equivalence"].update({entry["mutant"], entry["reason"]})
    found["course secret"] = {course_secret().decode()}
    return found


def leaks(folder: Path) -> list[str]:
    found = answers()
    problems = []
    for name, text in texts(folder):
        lines = {line.strip() for line in text.splitlines()}
        for kind, needles in found.items():
            hits = needles & lines if kind.endswith("line") else {n for n in needles if n in text}
            problems += [f"{name}: {kind} {hit[:60]!r}" for hit in sorted(hits)[:3]]
    return problems


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle of every assignment, as the CLI writes it (a zip), unpacked."""
    tmp = tmp_path_factory.mktemp("bundle")
    done = subprocess.run([str(BIN / "autograder"), "export", "student", "-o",
                           str(tmp / "course.zip")], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "note:" not in done.stderr, done.stderr
    with zipfile.ZipFile(tmp / "course.zip") as archive:
        archive.extractall(tmp / "unpacked")
    return tmp / "unpacked" / "course"


def test_the_bundle_holds_the_notebooks_the_package_and_nothing_of_the_answers(bundle: Path):
    names = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    wheel = next(bundle.glob("nn_tf_coursekit-*.whl")).name
    assert names == {"README.md", "nbgrader_config.py", wheel,
                     *(f"notebooks/{n}/{n}.ipynb" for n in NAMES)}
    with zipfile.ZipFile(bundle / wheel) as archive:
        members = archive.namelist()
    assert all(m.startswith(("coursekit/", "nn_tf_coursekit-")) for m in members), members
    assert not [m for m in members if any(k in m for k in ("masters", "suites", "solution",
                                                           "equivalent", "secret"))]
    for name in NAMES:  # nbgrader's release: its metadata, stubs, test cells that are comments
        nb = nbformat.read(bundle / "notebooks" / name / f"{name}.ipynb", 4)
        tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert tests and all("hidden_test" not in c.source for c in tests)
        assert "is not implemented yet" in "".join(c.source for c in nb.cells)
    assert leaks(bundle) == []


def test_the_search_finds_an_answer_planted_in_the_bundle(bundle: Path, tmp_path: Path):
    """The search above can fail: a copy of the bundle with one master inside the wheel."""
    copy = tmp_path / "copy"
    copy.mkdir()
    wheel = next(bundle.glob("*.whl"))
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(copy / wheel.name, "w") as dst:
        for member in src.namelist():
            dst.writestr(member, src.read(member))
        dst.writestr("coursekit/leftover.py", (ROOT / "autograder/masters/losses.py").read_text())
    (copy / "notes.txt").write_text("def test_build_model_shape(student, rng):\n")
    found = leaks(copy)
    assert any("solution line" in f for f in found) and any("hidden test name" in f for f in found)


def test_the_export_refuses_a_bundle_that_would_hold_an_answer(tmp_path: Path, monkeypatch):
    real = student.package_files

    def with_a_master(service: str | None, assignments: list[str]) -> dict[str, bytes]:
        files = real(service, assignments)
        files["coursekit/oops.py"] = (ROOT / "autograder/masters/losses.py").read_bytes()
        return files

    monkeypatch.setattr(student, "package_files", with_a_master)
    with pytest.raises(student.ExportError, match="reference solution"):
        student.main(assignments=["losses"], out=tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_bad_arguments_are_one_line(tmp_path: Path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "autograder"), "export", "student", *args],
                              capture_output=True, text=True, timeout=120)

    done = run("nope", "-o", str(tmp_path / "x"))
    assert done.returncode == 2 and "unknown assignment 'nope'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    done = run("losses", "-o", str(tmp_path / "full"))
    assert done.returncode == 2 and "not an empty folder" in done.stderr
    done = run("losses", "--service", "grader.example.org", "-o", str(tmp_path / "y"))
    assert done.returncode == 2 and "https://" in done.stderr


# --- installed without the kit -----------------------------------------------------------------

@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def student_env(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A virtualenv with the bundle's wheel installed, lent the kit's libraries but not the kit.

    TensorFlow is not installed again (that takes minutes and a download): a folder of links to
    every entry of the kit's site-packages but the kit's own is put on the new environment's path.
    """
    tmp = tmp_path_factory.mktemp("student")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    lent = tmp / "lent"
    lent.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(KIT_ENTRIES):
            (lent / entry.name).symlink_to(entry)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"], capture_output=True,
                             text=True, check=True).stdout.strip()
    (Path(purelib) / "lent-libraries.pth").write_text(f"{lent}\n")
    wheel = next(bundle.glob("*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    kernels = tmp / "jupyter" / "kernels" / "bundle"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bundle", "language": "python"}))
    home = tmp / "home"
    home.mkdir()
    return {"python": python, "jupyter": tmp / "jupyter", "home": home}


def student_run(env: dict[str, Path], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(env["python"]), "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=env["home"],
                          env={"PATH": os.environ["PATH"], "HOME": str(env["home"]),
                               "TF_CPP_MIN_LOG_LEVEL": "3"})


@pytest.mark.slow
def test_without_the_kit_no_master_or_suite_can_be_imported(student_env: dict[str, Path]):
    done = student_run(student_env, "import coursekit, coursekit.checker, coursekit.validate; "
                                    "print(coursekit.__file__)")
    assert done.returncode == 0, done.stderr
    assert str(student_env["python"].parent.parent) in done.stdout
    for module in ("autograder", "autograder.masters", "autograder.suites", "solutions"):
        done = student_run(student_env, f"import {module}")
        assert "ModuleNotFoundError" in done.stderr, (module, done.stderr)
    done = student_run(student_env, "from coursekit import config; print(config.settings())")
    assert "service=None" in done.stdout, done.stdout + done.stderr  # no kit: not `local`


def _run_notebook(path: Path, env: dict[str, Path], folder: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, 4)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / path.name)
    with environment(JUPYTER_PATH=str(env["jupyter"]), JPY_SESSION_NAME=str(folder / path.name),
                     COURSEKIT_CONFIG=str(env["home"] / "none.json")):
        for key in ("COURSEKIT_SERVICE", "COURSEKIT_TOKEN"):
            os.environ.pop(key, None)
        nbclient.NotebookClient(nb, timeout=600, kernel_name="bundle", allow_errors=True,
                                resources={"metadata": {"path": str(folder)}}).execute()
    return nb


@pytest.mark.slow
def test_the_released_notebooks_run_top_to_bottom_without_the_kit(
        bundle: Path, student_env: dict[str, Path], tmp_path: Path):
    """Stubs: demo cells stop with NotDone, self-checks with the stub's NotImplementedError, and
    the last cell, check(), runs the self-checks and says the service is not configured."""
    for name in NAMES:
        nb = _run_notebook(bundle / "notebooks" / name / f"{name}.ipynb", student_env,
                           tmp_path / name)
        for cell in (c for c in nb.cells if c.cell_type == "code"):
            kinds = cell.metadata.get("tags", [])
            for out in (o for o in cell.outputs if o.output_type == "error"):
                allowed = "NotDone" if "demo" in kinds else "NotImplementedError" \
                    if "selfcheck" in kinds else None
                assert out.ename == allowed, (name, cell.source[:80], out.ename, out.evalue)
        last = next(c for c in reversed(nb.cells) if c.cell_type == "code")
        shown = "".join(o.get("data", {}).get("text/plain", "") for o in last.outputs)
        assert "self-checks pass" in shown and "not configured" in shown, (name, shown)


@pytest.mark.slow
def test_the_reference_runs_every_demo_without_the_kit(student_env: dict[str, Path],
                                                        tmp_path: Path):
    nb = _run_notebook(ROOT / "solutions" / "mlp_mnist" / "mlp_mnist.ipynb", student_env,
                       tmp_path / "mlp")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Accuracy on the 5,000 validation images: 0.9" in text
    shown = "".join(o.get("data", {}).get("text/plain", "") for o in nb.cells[-1].outputs)
    assert "mlp_mnist: 5 of 5 self-checks pass" in shown, shown


def test_the_student_package_is_a_leaf_that_imports_nothing_of_the_kit():
    for path in (ROOT / "coursekit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] == "autograder"], (path, names)


# --- against the grading service -----------------------------------------------------------------

def partial(name: str) -> bytes:
    """The reference with its first graded function put back to the stub."""
    solved = json.loads((ROOT / "solutions" / name / f"{name}.ipynb").read_text())
    stub = json.loads((ROOT / "assignments" / name / f"{name}.ipynb").read_text())
    graded = [i for i, c in enumerate(stub["cells"]) if "solution" in c["metadata"].get("tags", [])]
    solved["cells"][graded[0]] = stub["cells"][graded[0]]
    return json.dumps(solved).encode()


def notebooks() -> dict[str, bytes]:
    """``{"<assignment>-<kind>": notebook}``: the reference, the stub and a partial of each."""
    made = {}
    for name in NAMES:
        made[f"{name}-reference"] = (ROOT / "solutions" / name / f"{name}.ipynb").read_bytes()
        made[f"{name}-stub"] = (ROOT / "assignments" / name / f"{name}.ipynb").read_bytes()
        made[f"{name}-partial"] = partial(name)
    return made


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("service")
    db = folder / "service.sqlite"
    tokens = issue_tokens(db, ["stu", "val"], folder)
    server = Server(db, "--workers", "2", "--rate", "100/minute")
    try:
        yield server, tokens
    finally:
        server.stop()


def points(tests: list[dict[str, object]]) -> dict[str, float]:
    return {str(t["name"]): float(t["score"]) for t in tests}  # type: ignore[arg-type]


@pytest.mark.slow
def test_check_without_the_kit_gives_the_points_of_autograder_grade(
        student_env: dict[str, Path], service: tuple[Server, dict[str, str]], tmp_path: Path):
    server, tokens = service
    made = notebooks()
    for key, data in made.items():
        (tmp_path / "class" / key).mkdir(parents=True)
        (tmp_path / "class" / key / f"{key.split('-')[0]}.ipynb").write_bytes(data)
    for name in NAMES:  # the kit's own grades of the same files, by `autograder batch`
        done = subprocess.run([str(BIN / "autograder"), "batch", name, str(tmp_path / "class"),
                               "--out", str(tmp_path / "grades")], capture_output=True,
                              text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
    env = {"PATH": os.environ["PATH"], "HOME": str(student_env["home"]),
           "COURSEKIT_SERVICE": server.url, "COURSEKIT_TOKEN": tokens["stu"],
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    for key in made:
        name = key.split("-")[0]
        done = subprocess.run([str(student_env["python"]), "-m", "coursekit", "check", "--json",
                               str(tmp_path / "class" / key / f"{name}.ipynb")], env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        checked = json.loads(done.stdout)
        graded = json.loads((tmp_path / "grades" / name / key / "results.json").read_text())
        assert points(checked["tests"]) == points(graded["tests"]), key
        assert checked["score"] == graded["score"], key
        if key.endswith("-reference"):
            assert checked["score"] == checked["max_score"] == 20
        elif key.endswith("-stub"):
            assert checked["score"] == 0
        else:
            assert 0 < checked["score"] < 20, key


@pytest.mark.slow
def test_validate_on_a_students_server_asks_the_service(
        bundle: Path, student_env: dict[str, Path], service: tuple[Server, dict[str, str]],
        tmp_path: Path):
    """nbgrader's Validate with the bundle's config, in the environment without the kit: the
    failing tests each once, the points once, as `autograder grade` gives them."""
    server, tokens = service
    released = json.loads((bundle / "notebooks" / "losses" / "losses.ipynb").read_text())
    source = json.loads((ROOT / "course" / "source" / "losses" / "losses.ipynb").read_text())
    answers = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"])
               for c in source["cells"] if c["metadata"].get("nbgrader", {}).get("solution")}
    for cell in released["cells"]:  # the student's answers, all but softmax's
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers and "def softmax(" not in answers[grade_id]:
            cell["source"] = "\n".join(line for line in answers[grade_id].splitlines()
                                       if "### BEGIN SOLUTION" not in line
                                       and "### END SOLUTION" not in line)
    (tmp_path / "losses.ipynb").write_text(json.dumps(released))
    shutil.copy(bundle / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    env = {"PATH": f"{student_env['python'].parent}{os.pathsep}{os.environ['PATH']}",
           "HOME": str(student_env["home"]), "COURSEKIT_SERVICE": server.url,
           "COURSEKIT_TOKEN": tokens["val"], "TF_CPP_MIN_LOG_LEVEL": "3",
           "JUPYTER_PATH": str(student_env["jupyter"])}
    done = subprocess.run([str(student_env["python"]), "-m", "nbgrader", "validate",
                           "losses.ipynb"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    said = done.stdout + done.stderr
    flat = " ".join(said.split())  # Validate wraps long lines, and a comment's with "#"
    quoted = " ".join(re.sub(r"\n\s*#\s+", " ", said).split())
    graded = subprocess.run([str(BIN / "autograder"), "grade", "losses", str(tmp_path /
                            "losses.ipynb"), "--json", str(tmp_path / "r.json")],
                            capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, graded.stderr
    results = json.loads((tmp_path / "r.json").read_text())
    assert 0 < results["score"] < 20
    assert flat.count("Points if handed in now") == 1, said
    assert f"Points if handed in now: {results['score']:g} / 20" in flat, said
    failing = [t["name"] for t in results["tests"] if t["status"] != "passed"]
    assert f"{len(failing)} HIDDEN TEST(S) FAIL" in flat, said
    for name in failing:  # named once, by the quoted test cell
        assert quoted.count(f"): {name}") == 1, (name, said)
    assert "Success" not in said


@pytest.mark.slow
def test_the_client_gets_its_answer_through_a_restart_of_the_service(tmp_path: Path):
    """A check whose service is killed mid-grade and started again on the same address."""
    from coursekit import client

    db = tmp_path / "service.sqlite"
    tokens = issue_tokens(db, ["amy"], tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Server(db, "--workers", "1", "--port", str(port))
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(
        _grade_or_error(client, server.url, tokens["amy"], notebook("losses", sleep=5))))
    try:
        thread.start()
        wait_for(lambda: _pending(db), 120, "the check to be accepted")
        time.sleep(1.0)
        server.stop(signal.SIGKILL)
        server = Server(db, "--workers", "1", "--port", str(port))
        thread.join(300)
    finally:
        server.stop()
    assert answers and isinstance(answers[0], dict), answers
    assert answers[0]["score"] == 20


def _grade_or_error(client: object, url: str, token: str, data: bytes) -> object:
    try:
        return client.grade(url, token, data, "losses")  # type: ignore[attr-defined]
    except Exception as exc:  # what the thread saw, for the assertion
        return exc


def _pending(db: Path) -> bool:
    connection = sqlite3.connect(db)
    try:
        return bool(connection.execute("SELECT 1 FROM checks WHERE status = 'pending'").fetchall())
    except sqlite3.Error:
        return False
    finally:
        connection.close()
