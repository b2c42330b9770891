"""Reference answers that are the same for every submission are computed once and kept on disk
(``grading/kept.py``), under a key that changes with anything that could change them."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autograder.grading import kept
from autograder.grading.proxy import StudentProxy
from autograder.grading.run import Remembered
from autograder.worker.limits import Limits


class CountingReference:
    """Stands in for the reference: counts how often it is really asked."""

    assignment = "gradient_descent"

    def __init__(self) -> None:
        self.asked = 0

    def task(self, name: str, **kwargs):
        self.asked += 1
        return {"costs": np.arange(5.0) * kwargs["rate"], "name": name}

    def call(self, name: str, *args, mode: str = "plain", **kwargs):
        self.asked += 1
        return float(np.sum(args[0]))


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path


def test_a_kept_answer_is_computed_once_across_runs(cache_home):
    first = CountingReference()
    got = Remembered(first).task("optimizer_runs", keep=True, rate=0.5)
    assert first.asked == 1
    again = CountingReference()  # a later run: a new process, a new reference
    assert np.array_equal(Remembered(again).task("optimizer_runs", keep=True, rate=0.5)["costs"],
                          got["costs"])
    assert again.asked == 0
    files = list((cache_home / "autograder" / "reference").glob("gradient_descent-*/*.bin"))
    assert len(files) == 1
    # another question is another answer; a question not marked is never kept
    Remembered(again).task("optimizer_runs", keep=True, rate=0.25)
    assert again.asked == 1
    Remembered(again).call("cost", np.ones(3))
    Remembered(again).call("cost", np.ones(3))
    assert again.asked == 3  # each run asks an unmarked question again
    assert len(list(files[0].parent.glob("*.bin"))) == 2


def test_a_change_of_the_kit_or_a_broken_file_computes_it_again(cache_home, monkeypatch):
    Remembered(CountingReference()).task("optimizer_runs", keep=True, rate=0.5)
    (path,) = (cache_home / "autograder" / "reference").glob("*/*.bin")
    path.write_bytes(b"\x00\x00\x00\x05junk")
    broken = CountingReference()
    assert Remembered(broken).task("optimizer_runs", keep=True, rate=0.5)["costs"][1] == 0.5
    assert broken.asked == 1
    later = CountingReference()
    Remembered(later).task("optimizer_runs", keep=True, rate=0.5)
    assert later.asked == 0  # the broken file was written again
    monkeypatch.setattr(kept, "version", lambda assignment: "another-master")
    changed = CountingReference()
    Remembered(changed).task("optimizer_runs", keep=True, rate=0.5)
    assert changed.asked == 1


def test_the_key_follows_the_master_and_the_tasks(tmp_path, monkeypatch):
    kept.version.cache_clear()
    before = kept.version("gradient_descent")
    fake = tmp_path / "autograder"
    for part in ("masters", "tasks", "worker", "generate"):
        (fake / part).mkdir(parents=True)
    for name in ("masters/gradient_descent.py", "tasks/gradient_descent.py", "worker/harness.py",
                 "generate/pipelines.py", "generate/transforms.py"):
        (fake / name).write_bytes((kept.PACKAGE / name).read_bytes())
    monkeypatch.setattr(kept, "PACKAGE", fake)
    kept.version.cache_clear()
    assert kept.version("gradient_descent") == before
    (fake / "masters" / "gradient_descent.py").write_text("# another reference\n")
    kept.version.cache_clear()
    assert kept.version("gradient_descent") != before
    kept.version.cache_clear()



@pytest.mark.skipif(os.geteuid() != 0, reason="the private root needs root here")
def test_workers_cannot_read_the_kept_answers(tmp_path, monkeypatch):
    # Kept inside the Python installation, which workers do see (read-only): only the
    # grader's hiding keeps them out.
    inside = Path(tempfile.mkdtemp(prefix="kept-test-", dir=sys.prefix))
    inside.chmod(0o755)  # as a cache folder is: readable by others
    monkeypatch.setenv("XDG_CACHE_HOME", str(inside))
    try:
        _worker_reads_nothing(tmp_path)
    finally:
        shutil.rmtree(inside, ignore_errors=True)


def _worker_reads_nothing(tmp_path: Path) -> None:
    Remembered(CountingReference()).task("optimizer_runs", keep=True, rate=0.5)
    folder = kept.folder()
    assert any(folder.rglob("*.bin"))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    source = (f"import os\ndef observe():\n    found = []\n"
              f"    for root, _, files in os.walk({str(folder)!r}):\n"
              f"        found += [open(os.path.join(root, f), 'rb').read(8) for f in files]\n"
              f"    return len(found)\n")
    student = StudentProxy(assignment="gradient_descent", limits=Limits(call_timeout=20),
                           scratch=scratch, cells=[{"index": 0, "source": source}])
    try:
        assert student.call("observe") == 0
    finally:
        student.close()


def test_the_reference_is_built_when_first_asked_and_a_broken_one_gives_no_grade(monkeypatch):
    """``remembered_reference`` builds the reference at its first question, not before the
    tests; a reference that cannot be built fails the grade (never a grade of zeros)."""
    from autograder.grading import run
    from autograder.grading.reference import ReferenceError_

    built = []
    lazy = Remembered(make=lambda: built.append(1) or CountingReference(),
                      assignment="gradient_descent")
    assert built == []
    assert lazy.call("cost", np.ones(3)) == 3.0 and built == [1]
    lazy.call("cost", np.ones(4))
    assert built == [1]  # once

    def broken(assignment: str):
        raise ReferenceError_(f"the reference solution of {assignment} failed to load")

    monkeypatch.setattr(run, "reference", broken)
    run.remembered_reference.cache_clear()
    try:
        with pytest.raises(ReferenceError_, match="failed to load"):
            run.grade(assignment="gradient_descent",
                      submission=Path(__file__).resolve().parent.parent / "solutions"
                      / "gradient_descent" / "gradient_descent.ipynb")
    finally:
        run.remembered_reference.cache_clear()
