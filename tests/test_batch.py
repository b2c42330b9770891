"""`autograder batch`: a class graded in parallel, recorded as it goes, resumed after a kill."""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from batch_util import PARTIAL_POINTS, STUB, A, graded_tests, partial_source, result_tests, write_class
from rich.console import Console
from util import PAGE_FIGURES, ROOT, in_chromium, needs_chromium

from autograder.batch import command, pool
from autograder.batch.discover import DiscoveryError, discover, skipped
from autograder.batch.fingerprint import content_key, suite_version
from autograder.batch.jobs import FAILED, GRADED, INVALID, Job
from autograder.grading.run import Remembered, grade
from autograder.report import dashboard
from autograder.submission.load import load
from autograder.text import for_html
from autograder.worker.limits import Limits

MALLORY = "\x1b[31mmallory"  # a file name that would turn a terminal red
FORMULA = '=HYPERLINK("evil","ok")'  # a file name that would be a live formula in a spreadsheet
BIDI = "\u202edeliaf\u202c"  # reads "failed" backwards... or, reordered, passes for it
STUDENTS = [MALLORY, FORMULA, "alice", "bob", "carol", "dave", "erin", "frank", "hank"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, command.Summary]:
    """Nine students graded by two graders: two identical partial solutions, a stub, a notebook
    that is not JSON, a submission that ends its own process, an empty folder, a notebook of
    another assignment, a file named with a terminal escape (not JSON either) and a stub named as
    a spreadsheet formula whose error message holds bidi overrides; and a file that is no
    submission. What the batch printed is kept in ``console.txt`` beside the grades."""
    root = tmp_path_factory.mktemp("class")
    folder = write_class(root / "flat", {
        "alice.py": partial_source(), "bob.py": partial_source(), "carol.py": STUB,
        "dave.ipynb": "{not json", "erin.py": "import os\nos._exit(3)\n", "frank/": "",
        "hank.ipynb": (ROOT / "solutions" / "losses" / "losses.ipynb").read_text(),
        "notes.txt": "alice and bob worked together",
        f"{MALLORY}.ipynb": "{not json",
        f"{FORMULA}.py": STUB.replace("NotImplementedError", "ValueError").replace(
            "build_model is not implemented yet", BIDI),
    })
    printed = io.StringIO()
    summary = command.main(assignment=A, folder=folder, out=root / "grades", workers=2,
                           console=Console(file=printed, width=300))
    (root / "console.txt").write_text(printed.getvalue() + summary.describe(), encoding="utf-8")
    return folder, root / "grades", summary


def rows(out: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(out / "gradebook.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return {r["student"]: r for r in db.execute("SELECT * FROM grades")}
    finally:
        db.close()


def test_every_student_gets_a_row_and_bad_input_does_not_stop_the_batch(graded):
    _, out, summary = graded
    book = rows(out)
    assert sorted(book) == STUDENTS
    assert (summary.graded, summary.invalid, summary.failed) == (5, 4, 0), summary.describe()
    assert {s: book[s]["status"] for s in book} == {
        "alice": GRADED, "bob": GRADED, "carol": GRADED, "erin": GRADED, FORMULA: GRADED,
        "dave": INVALID, "frank": INVALID, "hank": INVALID, MALLORY: INVALID}
    assert book["hank"]["error"].endswith(
        "hank.ipynb: this notebook is the 'losses' assignment, not 'mlp_mnist'")
    assert book["dave"]["error"].endswith("dave.ipynb: not a notebook (invalid JSON at line 1)")
    assert book["frank"]["error"].endswith("frank: directory holds no .ipynb or .py submission")
    assert book["alice"]["score"] == PARTIAL_POINTS
    assert book["carol"]["score"] == book["erin"]["score"] == book[FORMULA]["score"] == 0
    assert all(book[s]["max_score"] == 20 for s in book)


def test_a_file_that_is_no_submission_is_listed_as_skipped_with_why(graded):
    folder, out, summary = graded
    assert [s.name for s in summary.skipped] == ["notes.txt"]
    assert f"1 skipped, not graded (listed in the CSV):\n  {folder / 'notes.txt'}: not a " \
           "submission: only .ipynb and .py files are graded (.txt suffix)" in summary.describe()
    with (out / f"{A}.csv").open(newline="") as f:
        table = {r["student"]: r for r in csv.DictReader(f)}
    assert table["notes.txt"]["status"] == "skipped" and table["notes.txt"]["score"] == ""
    assert "only .ipynb and .py files are graded" in table["notes.txt"]["error"]
    assert table["hank"]["status"] == INVALID and "'losses' assignment" in table["hank"]["error"]


def test_the_dashboard_shows_the_gradebook_and_links_every_report(graded):
    _, out, summary = graded
    assert summary.dashboard == out / "index.html" and not summary.dashboard_error
    page = (out / "index.html").read_text(encoding="utf-8")
    book = rows(out)
    scores = [r["score"] for r in book.values() if r["status"] == GRADED]
    bins = json.loads(html.unescape(re.search(r'data-bins="([^"]*)"', page).group(1)))
    assert bins == dashboard.histogram(scores, 20) and sum(bins) == len(scores) == 5
    assert bins[int(PARTIAL_POINTS)] == 2 and bins[0] == 3  # alice and bob; carol, erin, =HYP..
    assert 'data-graded="5" data-invalid="4" data-failed="0"' in page
    tests = {t["name"] for r in book.values() if r["status"] == GRADED
             for t in json.loads(r["results"])["tests"]}
    rates = re.findall(r'<tr class="rate" data-test="([^"]*)" data-passed="(\d+)" '
                       r'data-graded="(\d+)"', page)
    assert {html.unescape(n) for n, _, _ in rates} == tests
    ratios = [int(p) / int(g) for _, p, g in rates]
    assert ratios == sorted(ratios)  # the hardest first
    for student, row in book.items():
        assert f'href="{dashboard.report_path(A, student)}"' in page
        report = (out / A / student / "report.html").read_text(encoding="utf-8")
        if row["status"] == INVALID:  # why, with the file named in the graded folder; no score
            why = row["error"].replace(f"{out.parent / 'flat'}/", "")
            assert f"not graded: {for_html(why)}</p>" in report
            assert "data-score" not in report and " points" not in report
        else:
            assert f'data-score="{row["score"]:g}"' in report


def test_report_makes_the_same_dashboard_again_without_grading(graded, tmp_path: Path):
    _, out, _ = graded
    copy = shutil.copytree(out, tmp_path / "grades")
    before = (copy / "index.html").read_text(encoding="utf-8")
    (copy / "index.html").unlink()
    (copy / A / "alice" / "report.html").unlink()
    done = subprocess.run([sys.executable, "-m", "autograder", "report", str(copy)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (copy / "index.html").read_text(encoding="utf-8") == before
    assert (copy / A / "alice" / "report.html").is_file()


DASHBOARD = """
  const charts = [...document.querySelectorAll('img.figure')];
  out.titles = charts.map(i => JSON.parse(i.dataset.title || '""'));
  out.ticks = charts.map(i => JSON.parse(i.dataset.yTicks || '[]'));
  out.tests = [...document.querySelectorAll('tr.rate')].map(r => r.dataset.test);
  out.students = [...document.querySelectorAll('tr.student')].map(
    r => [r.dataset.student, r.children[1].innerText, r.children[3].innerText]);
  out.text = document.body.innerText;
"""


@needs_chromium
def test_the_dashboard_renders_in_a_browser_and_reads_at_a_glance(graded, tmp_path: Path):
    _, out, _ = graded
    seen = in_chromium((out / "index.html").read_text(encoding="utf-8"), PAGE_FIGURES + DASHBOARD,
                       tmp_path)
    assert seen["images"] == 3 and seen["decoded"] == 3, seen  # histogram, pass rates, times
    assert seen["page"] <= seen["view"], seen
    assert seen["titles"] == [f"{A}: scores", f"{A}: pass rate of each test, the hardest first",
                              f"{A}: grading time per submission"], seen["titles"]
    scores, names, seconds = seen["ticks"]
    assert all(re.fullmatch(r"\d+", t) for t in scores + seconds), (scores, seconds)  # counts
    assert [" ".join(n.split("\n")) for n in names] == seen["tests"]  # every name in full
    assert not any(n.endswith(("...", "\u2026")) for n in names)
    assert str(out.parent) not in seen["text"] and "/tmp/" not in seen["text"]
    students = {s: (score, note) for s, score, note in seen["students"]}
    assert len(students) == len(rows(out))
    assert {s for s, (score, _) in students.items() if score == "not graded"} == {
        "mallory", "dave", "frank", "hank"}
    assert students["dave"][1] == "dave.ipynb: not a notebook (invalid JSON at line 1)"
    assert students["mallory"][1] == "mallory.ipynb: not a notebook (invalid JSON at line 1)"
    assert students[FORMULA][0] == "0 / 20" and "\x1b" not in seen["text"]


@needs_chromium
def test_bidi_characters_from_a_submission_show_on_its_report_page(graded, tmp_path: Path):
    _, out, _ = graded
    page = (out / A / FORMULA / "report.html").read_text(encoding="utf-8")
    seen = in_chromium(page, "out.text = document.body.innerText;", tmp_path)
    assert "\u202e" not in seen["text"] and "\u202c" not in seen["text"]
    assert "<U+202E>deliaf<U+202C>" in seen["text"], seen["text"]
    assert f"{FORMULA}.py" in seen["text"] and str(out.parent) not in seen["text"]


def test_text_from_submissions_reaches_the_terminal_and_the_csv_inert(graded):
    _, out, _ = graded
    printed = (out.parent / "console.txt").read_text(encoding="utf-8")
    assert "\x1b" not in printed and "\u202e" not in printed
    assert "] mallory: invalid: " in printed and f"] {FORMULA}: 0 / 20" in printed
    cells = [c for row in csv.reader((out / f"{A}.csv").open(newline="", encoding="utf-8"))
             for c in row]
    assert f"'{FORMULA}" in cells and "mallory" in cells
    numbers = re.compile(r"[+-]?\d+(\.\d*)?")
    for cell in cells:  # a spreadsheet would run none of them
        assert "\x1b" not in cell, cell
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or numbers.fullmatch(cell), cell


def test_each_submission_has_its_results_json_and_the_csv_has_each_test(graded):
    _, out, _ = graded
    for student in ("alice", "bob", "carol", "dave", "erin", "frank"):
        assert (out / A / student / "results.json").is_file()
    with (out / f"{A}.csv").open(encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    assert [r["student"] for r in table] == ["mallory", f"'{FORMULA}", "alice", "bob", "carol",
                                             "dave", "erin", "frank", "hank", "notes.txt"]
    alice = next(r for r in table if r["student"] == "alice")
    assert float(alice["score"]) == PARTIAL_POINTS
    assert float(alice["test_build_model_values"]) == 3
    assert float(alice["test_train_steps"]) == 0
    assert float(alice["test_predict"]) == 2  # predict is judged apart from train


def test_same_submission_same_grade_in_parallel_and_alone(graded, tmp_path: Path):
    _, out, _ = graded
    assert graded_tests(out, "alice") == graded_tests(out, "bob")  # graded at the same time by 2 graders
    alone = grade(assignment=A, submission=write_class(tmp_path, {"a.py": partial_source()}) / "a.py")
    assert graded_tests(out, "alice") == result_tests(alone)


def test_submission_that_ends_its_process_is_graded_with_reasons(graded):
    _, out, _ = graded
    outputs = [t[3] for t in graded_tests(out, "erin")]
    assert all(outputs) and not any("Traceback" in o for o in outputs)


def test_rerun_grades_only_what_is_new_or_changed_serially_with_the_same_grade(graded,
                                                                            tmp_path: Path):
    folder, out, _ = graded
    folder, out = shutil.copytree(folder, tmp_path / "flat"), shutil.copytree(out, tmp_path / "out")
    again = command.main(assignment=A, folder=folder, out=out, workers=2)
    assert (again.unchanged, again.graded, again.invalid, again.failed) == (9, 0, 0, 0)

    (folder / "alice.py").write_text(partial_source() + "\n# changed\n", encoding="utf-8")
    (folder / "gina.py").write_text(STUB, encoding="utf-8")
    before = rows(out)
    third = command.main(assignment=A, folder=folder, out=out, workers=1)
    assert (third.unchanged, third.graded) == (8, 2), third.describe()
    after = rows(out)
    assert after["gina"]["score"] == 0
    assert after["alice"]["key"] != before["alice"]["key"]
    assert after["bob"]["graded_at"] == before["bob"]["graded_at"]
    assert graded_tests(out, "alice") == graded_tests(out, "bob")  # one grader, alone, same grade


def test_killed_batch_keeps_what_was_graded_and_the_same_command_finishes_it(tmp_path: Path):
    folder = write_class(tmp_path / "flat", {f"s{i}.py": STUB + f"# {i}\n" for i in range(4)})
    out = tmp_path / "grades"
    args = [sys.executable, "-m", "autograder", "batch", A, str(folder), "--out", str(out),
            "--workers", "1"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (
                (out / "gradebook.sqlite").exists() and rows(out)):
            time.sleep(0.2)
        # graders, the warm template, workers: everything the coordinator started
        graders = psutil.Process(proc.pid).children(recursive=True)
        assert graders
        proc.kill()  # no chance to clean up, as when a laptop's battery runs out
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    kept = rows(out)
    assert 1 <= len(kept) < 4
    assert all((out / A / s / "results.json").is_file() for s in kept)
    _, alive = psutil.wait_procs(graders, timeout=30)  # they all follow their coordinator
    assert not alive, [p.pid for p in alive]

    resumed = command.main(assignment=A, folder=folder, out=out, workers=1)
    assert (resumed.unchanged, resumed.graded) == (len(kept), 4 - len(kept))
    assert sorted(rows(out)) == ["s0", "s1", "s2", "s3"]


def _graders_and_workers(started: list) -> tuple[list, list]:
    """The graders ``pool._start`` started, and the workers they started: with the warm
    template, graders and workers are both its forks; without, workers are graders' children."""
    graders = [psutil.Process(g.pid) for g in started if g.is_alive()]
    pids = {g.pid for g in graders}
    templates = [p for p in psutil.Process().children()
                 if "autograder.worker.zygote" in " ".join(p.cmdline())]
    workers = [w for g in graders for w in g.children()]
    workers += [w for t in templates for w in t.children() if w.pid not in pids]
    return graders, workers


def test_a_grader_that_dies_fails_only_the_submission_it_was_grading(tmp_path: Path,
                                                                      monkeypatch):
    started: list = []
    real_start = pool._start
    monkeypatch.setattr(pool, "_start",
                        lambda *args: started.append(real_start(*args)) or started[-1])

    def job(student: str, source: str) -> Job:
        path = write_class(tmp_path, {f"{student}.py": source}) / f"{student}.py"
        return Job(assignment=A, student=student, submission=str(path), key=student,
                   cells=load(path, A)[1], limits=Limits(load_timeout=120))

    jobs = [job("slow", "import time\ntime.sleep(120)\n"), job("s1", STUB), job("s2", STUB)]
    outcomes, workers = [], []
    runner = threading.Thread(target=pool.run, args=(jobs,),
                              kwargs={"workers": 1, "on_result": outcomes.append})
    runner.start()
    try:
        deadline = time.monotonic() + 120
        graders = []
        while time.monotonic() < deadline and not (graders and workers):
            graders, workers = _graders_and_workers(started)
            time.sleep(0.1)
        assert workers, "the grader never started a worker"
        time.sleep(1.0)
        for grader in graders:
            os.kill(grader.pid, signal.SIGKILL)
        runner.join(timeout=300)
        _, left = psutil.wait_procs(workers, timeout=30)  # a worker dies with its grader
        assert not left, [p.pid for p in left]
    finally:
        for worker in workers:  # if the test failed before they ended
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(worker.pid, signal.SIGKILL)
    statuses = {o.student: o.status for o in outcomes}
    assert statuses == {"slow": FAILED, "s1": GRADED, "s2": GRADED}
    slow = next(o for o in outcomes if o.student == "slow")
    assert "grader process died" in slow.error


# --- finding the submissions, and the command line (no grading) ------------------------------

def test_discovers_nbgrader_layout_from_the_course_or_its_submitted_folder(tmp_path: Path):
    for student in ("bob", "alice"):
        write_class(tmp_path / "submitted" / student / A, {f"{A}.ipynb": "{}", "timestamp.txt": ""})
    write_class(tmp_path / "submitted" / "carol" / "losses", {"losses.ipynb": "{}"})
    write_class(tmp_path / "source" / A, {f"{A}.ipynb": "{}"})  # the course's, not a student's
    expected = [("alice", tmp_path / "submitted" / "alice" / A),
                ("bob", tmp_path / "submitted" / "bob" / A)]
    for folder in (tmp_path, tmp_path / "submitted"):
        assert [(f.student, f.path) for f in discover(folder, A)] == expected


def test_files_no_row_grades_are_listed_as_skipped_with_why(tmp_path: Path):
    write_class(tmp_path / "submitted" / "alice" / A, {f"{A}.ipynb": "{}", "mlp_v2.ipynb": "{}",
                                                      "timestamp.txt": "", "data.csv": ""})
    write_class(tmp_path / "submitted" / "bob" / A, {"a.py": "", "b.py": ""})  # bob's own row
    write_class(tmp_path / "submitted", {"README.txt": "", ".DS_Store": ""})
    listed = {s.name: s.why for s in skipped(tmp_path, A, discover(tmp_path, A))}
    assert listed == {
        "README.txt": f"not a submission: nbgrader's layout keeps them in <student>/{A}/",
        "alice/mlp_v2.ipynb": f"not graded: {A}.ipynb in the same folder is alice's submission"}
    flat = write_class(tmp_path / "flat", {"bob.ipynb": "{}", "notes.txt": "", "Makefile": "",
                                           ".hidden": "", "carol/": ""})
    assert {s.name: s.why for s in skipped(flat, A, discover(flat, A))} == {
        "Makefile": "not a submission: only .ipynb and .py files are graded (no suffix)",
        "notes.txt": "not a submission: only .ipynb and .py files are graded (.txt suffix)"}


def test_a_course_where_nobody_submitted_the_assignment_has_no_students(tmp_path: Path):
    write_class(tmp_path / "submitted" / "carol" / "losses", {"losses.ipynb": "{}"})
    write_class(tmp_path / "source" / A, {f"{A}.ipynb": "{}"})
    with pytest.raises(DiscoveryError, match="holds no submissions of mlp_mnist"):
        discover(tmp_path, A)


def test_discovers_a_flat_folder_of_files_and_student_folders(tmp_path: Path):
    write_class(tmp_path, {"bob.ipynb": "{}", "alice.py": "x = 1", "alice.ipynb": "{}",
                           "notes.txt": "", ".hidden.py": "", "dave/": "", "grades/": ""})
    found = [(f.student, f.path.name) for f in discover(tmp_path, A, exclude=tmp_path / "grades")]
    assert found == [("alice", "alice.ipynb"), ("alice.py", "alice.py"), ("bob", "bob.ipynb"),
                     ("dave", "dave")]


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nope", "no such folder"),
    (lambda p: write_class(p / "empty", {}), "holds no submissions of mlp_mnist"),
    (lambda p: write_class(p, {"a.py": "x"}) / "a.py", "not a folder"),
])
def test_a_folder_that_holds_no_class_is_one_clear_error(tmp_path: Path, make, message):
    with pytest.raises(DiscoveryError, match=message):
        discover(make(tmp_path), A)


def test_content_key_follows_the_bytes_and_the_assignment():
    key = content_key(assignment=A, data=b"print(1)")
    assert key == content_key(assignment=A, data=b"print(1)")
    assert key != content_key(assignment=A, data=b"print(2)")
    assert key != content_key(assignment="losses", data=b"print(1)")
    assert suite_version(A) != suite_version("losses")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)


def test_cli_help_and_one_line_errors(tmp_path: Path):
    assert "--workers" in cli("batch", "--help").stdout
    for args, message in ((("no_such", str(tmp_path)), "unknown assignment 'no_such'"),
                          ((A, str(tmp_path / "nope")), f"{tmp_path / 'nope'}: no such folder"),
                          ((A, str(tmp_path), "--workers", "0"), "Invalid value for '--workers'")):
        proc = cli("batch", *args)
        assert proc.returncode == 2
        assert message in proc.stderr
        if "Invalid value" not in message:
            assert proc.stderr.strip().count("\n") == 0, proc.stderr


def test_the_reference_answers_each_question_once_and_hands_out_copies():
    class Counting:  # stands in for the reference solution: counts what it is asked
        asked = 0

        def call(self, name, *args, mode="plain", **kwargs):
            self.asked += 1
            return {"value": np.asarray(args[0]) * 2}

    remembered = Remembered(Counting())
    x = np.arange(3.0)
    first = remembered.call("double", x, mode="graph")
    first["value"][0] = 99.0  # a test that scribbles on its answer spoils nothing
    again = remembered.call("double", x, mode="graph")
    assert remembered.asked == 1 and again["value"].tolist() == [0.0, 2.0, 4.0]
    remembered.call("double", x + 1, mode="graph")
    remembered.call("double", x, mode="plain")
    assert remembered.asked == 3


def test_without_a_template_graders_are_fresh_processes_and_grade_the_same(tmp_path: Path,
                                                                           monkeypatch):
    """AUTOGRADER_TEMPLATE=0 (or a template that refuses): graders start as processes of their
    own and import TensorFlow themselves, as before the template; the grades are the same."""
    folder = write_class(tmp_path / "flat", {"s0.py": STUB, "s1.py": partial_source()})
    kinds: list[str] = []
    real_start = pool._start

    def recording(*args):
        process = real_start(*args)
        kinds.append(type(process).__name__)
        return process

    monkeypatch.setattr(pool, "_start", recording)
    graded = {}
    for template in ("0", "1"):
        monkeypatch.setenv("AUTOGRADER_TEMPLATE", template)
        out = tmp_path / f"grades{template}"
        summary = command.main(assignment=A, folder=folder, out=out, workers=1)
        assert summary.graded == 2, summary.describe()
        graded[template] = {s: r["score"] for s, r in rows(out).items()}
    assert kinds == ["SpawnProcess", "Delegate"]
    assert graded["0"] == graded["1"] == {"s0": 0, "s1": PARTIAL_POINTS}
