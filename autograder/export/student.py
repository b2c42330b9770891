"""``autograder export student``: what students get, and nothing of the answers.

The student bundle (a folder, or a zip when ``-o`` ends in ``.zip``) holds:

=====================================  ==============================================================
``README.md``                          set-up in one command, then how to check one's work
``notebooks/<a>/<a>.ipynb``            the released notebooks: nbgrader's release of the course's
                                       source (stubs, nbgrader's cell metadata, test cells that are
                                       only comments), so that nbgrader's Validate works on them
``nn_tf_coursekit-<v>-py3-none-any``   the student package (:mod:`coursekit`: MNIST's loader and
``.whl``                               ``input_data``, ``needs``, the ``check()`` client, Validate's
                                       hooks), with the course's service address if one was given
``nbgrader_config.py``                 Validate's hooks, for a student's (or JupyterHub's) Jupyter
=====================================  ==============================================================

No master, suite, reference, course secret, equivalence list or MNIST test label is in it: the
bundle is made from the masters by the same pipeline as the course's release, the package is the
leaf :mod:`coursekit`, which imports nothing of the kit, and before anything is written every
file (inside the wheel too) is searched for the masters' solution lines and the course secret;
finding one is an error, never a bundle. ``tests/test_student_bundle.py`` checks the same with a
search of its own (hidden tests' names and bodies too) and installs the bundle in a virtualenv
without the kit.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from autograder import __version__, manifest
from autograder.export import wheel
from autograder.generate import command as generate
from autograder.generate import pipelines
from autograder.generate.transforms import BEGIN, END
from autograder.nbgrader.config import COURSE_ID

STUDENT_PACKAGE = Path(__file__).resolve().parents[2] / "coursekit"
DIST = "nn-tf-coursekit"
REQUIRES = ["numpy>=1.24", "matplotlib>=3.7", "tensorflow>=2.16"]
EXTRAS = {"lab": ["jupyterlab>=4"], "validate": ["nbgrader>=0.9"]}


class ExportError(ValueError):
    """The bundle cannot be made; the message is one line."""


def package_files(service: str | None, assignments: list[str]) -> dict[str, bytes]:
    """The student package's files as the wheel holds them, its ``course.json`` made here."""
    import coursekit

    root = Path(coursekit.__file__).resolve().parent
    files = {f"coursekit/{p.relative_to(root).as_posix()}": p.read_bytes()
             for p in sorted(root.rglob("*.py")) if "__pycache__" not in p.parts}
    course = {"course": COURSE_ID, "service": service, "assignments": assignments}
    files["coursekit/course.json"] = (json.dumps(course, indent=2) + "\n").encode()
    return files


def release(names: list[str], work: Path, say: Callable[[str], None]) -> tuple[dict[str, bytes],
                                                                            str]:
    """``{name: released notebook}`` made by nbgrader from the masters, and a note if nbgrader
    was not there (the student notebooks of ``assignments/`` then, without Validate)."""
    generate.main(root=work, assignments=names)
    course = work / "course"
    nbgrader = Path(sys.executable).parent / "nbgrader"
    if not nbgrader.is_file():
        note = ("nbgrader is not installed here, so the notebooks are the plain student notebooks "
                "(nbgrader's Validate will not know them); install the kit with [course]")
        return {n: (work / "assignments" / n / f"{n}.ipynb").read_bytes() for n in names}, note
    env = {**os.environ, "PATH": f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
    notebooks = {}
    for name in names:
        say(f"releasing {name} with nbgrader")
        done = subprocess.run([str(nbgrader), "generate_assignment", name, "--force"], cwd=course,
                              env=env, capture_output=True, text=True, timeout=600,
                              stdin=subprocess.DEVNULL)
        made = course / "release" / name / f"{name}.ipynb"
        if done.returncode != 0 or not made.is_file():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ExportError(f"nbgrader could not release {name}: {last}")
        notebooks[name] = made.read_bytes()
    return notebooks, ""


def solution_lines(names: list[str]) -> set[str]:
    """Lines of the masters' solution regions that the stubs and given code do not hold: text
    that is an answer wherever it appears."""
    given = set()
    for name in names:
        for cell in pipelines.build(name, pipelines.STUDENT):
            given.update(line.strip() for line in cell.source.splitlines())
    found = set()
    for name in names:
        inside = False
        for line in pipelines.master_path(name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if text in (BEGIN, END):
                inside = text == BEGIN
            elif inside and len(text) >= 12 and text not in given and not text.startswith("#"):
                found.add(text)
    return found


def _texts(files: dict[str, bytes]) -> Iterator[tuple[str, str]]:
    """Every file's text, a wheel's members too (a notebook's JSON decoded, so that its quoted
    source lines read as written)."""
    for name, data in files.items():
        if name.endswith(".whl"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                yield from _texts({f"{name}/{m}": archive.read(m) for m in archive.namelist()})
            continue
        text = data.decode("utf-8", "replace")
        if name.endswith(".ipynb"):
            nb = json.loads(text)
            text = "\n".join("".join(c.get("source", "")) for c in nb.get("cells", []))
        yield name, text


def guard(files: dict[str, bytes], names: list[str], secret: bytes | None) -> None:
    """Refuse a bundle that holds a solution line or the course secret."""
    answers = solution_lines(names)
    for name, text in _texts(files):
        lines = {line.strip() for line in text.splitlines()}
        leaked = sorted(answers & lines)
        if leaked:
            raise ExportError(f"{name} would hold a line of a reference solution "
                              f"({leaked[0][:40]!r}); nothing was written")
        if secret and secret.decode("utf-8", "replace") in text:
            raise ExportError(f"{name} would hold the course secret; nothing was written")


README = """\
# Neural Networks with TensorFlow: your notebooks

This folder holds the course's notebooks (`notebooks/`) and the small package they import
(`{wheel}`): MNIST's loader, and `check()`, which sends your saved notebook to the course's
grading service and shows what it earns.

## Set up (once)

With Python 3.10-3.12, in a terminal in this folder (a virtual environment is a good idea:
`python3 -m venv .venv && . .venv/bin/activate`):

```sh
python3 -m pip install "./{wheel}[lab]"
```

That installs the package, TensorFlow and JupyterLab. Then `jupyter lab notebooks/`.

{service_text}

## Work

Open an assignment, read it top to bottom, and replace each
`raise NotImplementedError("... is not implemented yet ...")` with your code. Run the self-check
cell after each function. Cells that need functions you have not written yet stop with one line
saying which.

## Check

Save the notebook (Ctrl+S), then run its last cell, `check()`. It sends the notebook as saved to the
course's grading service, which runs the course's hidden tests on it, and shows each test's points
and, for a test that fails, what is wrong. `check("build_loss")` shows one function's tests. Without
a service (no token yet, say) `check()` runs your notebook's own self-checks and says so.
From a terminal: `python -m coursekit check notebooks/mlp_mnist/mlp_mnist.ipynb`.

The MNIST test images are here, their labels are not: the grader measures your network on them.
While you work, measure it on `mnist.validation`.

## On JupyterHub or Colab

- JupyterHub: your course installs the package in its image and sets `COURSEKIT_SERVICE` and
  `COURSEKIT_TOKEN` for you; nbgrader's *Validate* button then shows your points too.
- Colab: run `%pip install -q <the address of {wheel}>` in the notebook's first cell, and
  `import os; os.environ["COURSEKIT_TOKEN"] = "<your token>"` before `check()`.
"""

SERVICE_TEXT = """\
Your course's grading service is `{service}`. Your course gives you a token; tell the package once:

```sh
python -m coursekit login <your token>
```"""

NO_SERVICE_TEXT = """\
Your course gives you the address of its grading service and a token; tell the package once:

```sh
python -m coursekit login <your token> --service <the address>
```"""

NBGRADER_CONFIG = """\
# nbgrader's Validate for the course "Neural Networks with TensorFlow": it asks the course's
# grading service what the notebook would earn (see coursekit/validate.py). Put this file in
# ~/.jupyter/ (a student's machine) or /etc/jupyter/ (a JupyterHub image).
c = get_config()  # noqa: F821 (provided by nbgrader)
c.CourseDirectory.course_id = "{course}"

from coursekit import validate  # noqa: E402

c.Execute.on_cell_execute = validate.before_test_cell
c.Execute.on_cell_complete = validate.after_test_cell
c.Validator.failed_warning = validate.FAILED_WARNING
"""


def main(*, assignments: list[str] | None = None, out: Path, service: str | None = None,
         progress: Callable[[str], None] | None = None) -> tuple[Path, str]:
    """Write the bundle to ``out`` (a folder, or a zip if it ends in ``.zip``); returns it and a
    note ("" or what is missing). Raises :class:`ExportError` or ``UnknownAssignment``."""
    names = list(assignments) or [a.name for a in manifest.ASSIGNMENTS]
    for name in names:
        manifest.get(name)
    say = progress or (lambda _text: None)
    out = Path(out)
    if service is not None and not service.startswith(("http://", "https://")):
        raise ExportError(f"--service {service!r}: give the service's address, https://...")
    if out.suffix != ".zip" and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out}: exists and is not an empty folder")
    with tempfile.TemporaryDirectory(prefix="autograder-student-") as tmp:
        notebooks, note = release(names, Path(tmp) / "work", say)
        say("writing the student package")
        made = wheel.write(Path(tmp), name=DIST, version=__version__,
                           summary="The notebooks' package of the course Neural Networks with "
                                   "TensorFlow", requires_python=">=3.10,<3.13",
                           requires=REQUIRES, extras=EXTRAS,
                           files=package_files(service, names))
        files = {f"notebooks/{n}/{n}.ipynb": data for n, data in notebooks.items()}
        files[made.name] = made.read_bytes()
        service_text = (SERVICE_TEXT.format(service=service) if service else NO_SERVICE_TEXT)
        files["README.md"] = README.format(wheel=made.name, service_text=service_text).encode()
        files["nbgrader_config.py"] = NBGRADER_CONFIG.format(course=COURSE_ID).encode()
        say("checking that no answer is in it")
        guard(files, names, _secret())
        _write(files, out)
    return out, note


def _secret() -> bytes | None:
    from autograder.grading.hidden import SecretError, course_secret

    try:
        return course_secret()
    except SecretError:
        return None


def _write(files: dict[str, bytes], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".zip":
        partial = out.with_name(f".{out.name}.part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                archive.writestr(f"{out.stem}/{name}", data)
        partial.replace(out)
        return
    partial = out.with_name(f".{out.name}.part")
    shutil.rmtree(partial, ignore_errors=True)
    for name, data in files.items():
        path = partial / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if out.exists():
        out.rmdir()
    partial.rename(out)
