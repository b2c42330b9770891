"""`autograder serve`: the grading service over real HTTP on the loopback address.

One service (a subprocess, two graders) is shared by the module; the restart test runs its own.
"""

from __future__ import annotations

import concurrent.futures
import csv
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from serve_util import ROOT, Server, issue_tokens, notebook, wait_for

from autograder.batch.gradebook import open_database
from autograder.generate.nbgrader_source import check_grade_id
from autograder.serve.limits import Rate, parse_rate, parse_size
from autograder.serve.service import Started, answer
from autograder.serve.tokens import Tokens

A = "losses"
STUDENTS = [f"s{i:02d}" for i in range(10)]
OTHERS = ["ann", "bea", "cal", "dan", "eve", "fay"]
SQUARED_SUMMED = (("return float(np.mean((h - y) ** 2))", "return float(np.sum((h - y) ** 2))"),)
RESULT_KEYS = {"assignment", "score", "max_score", "tests", "output", "notebook", "check", "cached"}
TEST_KEYS = {"name", "score", "max_score", "status", "output", "cell"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("service")
    db = folder / "service.sqlite"
    tokens = issue_tokens(db, STUDENTS + OTHERS, folder)
    server = Server(db, "--workers", "2", "--rate", "5/minute", "--max-upload", "200KB")
    try:
        yield server, tokens, db
    finally:
        server.stop()


def rows(db: Path, where: str = "1", args: tuple = ()) -> list[sqlite3.Row]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute(f"SELECT * FROM checks WHERE {where} ORDER BY id", args).fetchall()
    finally:
        connection.close()


def one_line(detail: object) -> bool:
    return isinstance(detail, str) and bool(detail) and "\n" not in detail \
        and "Traceback" not in detail and str(ROOT) not in detail


# --- who is asking -------------------------------------------------------------------------

def test_health_needs_no_token(service):
    server, _, _ = service
    status, _, body = server.request("GET", "/api/v1/health")
    assert status == 200
    assert body["status"] == "ok" and body["version"]
    assert body["assignments"] == ["tf_basics", "losses", "backprop", "gradient_descent",
                                   "mlp_mnist"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-token"},
                                     {"Authorization": "Basic czAwOnMwMA=="},
                                     {"Authorization": "Bearer "}])
def test_a_missing_or_wrong_token_is_401(service, headers):
    server, _, db = service
    before = len(rows(db))
    for method, path, body in (("GET", "/api/v1/me", None),
                               ("POST", "/api/v1/checks", notebook(A, stub=True))):
        status, sent, answer_ = server.request(method, path, body, headers=headers)
        assert status == 401, answer_
        assert sent.get("www-authenticate") == "Bearer"
        assert one_line(answer_["detail"]) and "token" in answer_["detail"]
    assert len(rows(db)) == before  # nothing recorded


def test_me_names_the_student_of_the_token(service):
    server, tokens, _ = service
    status, _, body = server.request("GET", "/api/v1/me", token=tokens["fay"])
    assert (status, body) == (200, {"student": "fay", "checks": 0, "pending": False})


# --- what is sent ----------------------------------------------------------------------------

@pytest.mark.parametrize("body, words", [
    (b"{not json", "not a notebook (invalid JSON at line 1)"),
    (b"\xff\xfe\x00junk", "not UTF-8 text"),
    (b"[1, 2]", "not a notebook (JSON list, not an object)"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": []}]}).encode(),
     "does not say which assignment it is"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": [],
                 "metadata": {"autograder": {"assignment": A}}}).encode(), "holds no code to grade"),
    (b"", "empty upload"),
])
def test_what_is_no_notebook_is_400_in_one_line(service, body, words):
    server, tokens, db = service
    before = len(rows(db))
    status, _, answer_ = server.check(tokens["ann"], body)
    assert status == 400, answer_
    assert words in answer_["detail"] and one_line(answer_["detail"])
    assert answer_["detail"].startswith(("the uploaded notebook", "empty upload"))
    assert len(rows(db)) == before


@pytest.mark.parametrize("asked, words", [
    ("mlp_mnist", "the uploaded notebook: this notebook is the 'losses' assignment, not 'mlp_mnist'"),
    ("nope", "unknown assignment 'nope'"),
])
def test_another_assignments_notebook_or_an_unknown_one_is_400(service, asked, words):
    server, tokens, db = service
    before = len(rows(db))
    status, _, answer_ = server.check(tokens["ann"], notebook(A), assignment=asked)
    assert status == 400 and words in answer_["detail"] and one_line(answer_["detail"]), answer_
    assert len(rows(db)) == before


@pytest.mark.parametrize("chunked", [False, True])
def test_an_upload_over_the_limit_is_413(service, chunked):
    server, tokens, db = service
    before = len(rows(db))
    big = notebook(A, variant="x" * 300_000)
    status, _, answer_ = server.check(tokens["ann"], big, chunked=chunked)
    assert status == 413, answer_
    assert "over the service's limit of 200 KB" in answer_["detail"] and one_line(answer_["detail"])
    assert len(rows(db)) == before


# --- grades ------------------------------------------------------------------------------------

def test_the_same_points_per_test_as_autograder_grade(service, tmp_path: Path):
    server, tokens, db = service
    sent = notebook(A, replace=SQUARED_SUMMED)
    path = tmp_path / "losses.ipynb"
    path.write_bytes(sent)
    subprocess.run([sys.executable, "-m", "autograder", "grade", A, str(path), "--json",
                    str(tmp_path / "r.json")], cwd=ROOT, check=True, capture_output=True,
                   timeout=300)
    graded = json.loads((tmp_path / "r.json").read_text())
    status, _, got = server.check(tokens["bea"], sent)
    assert status == 200, got
    assert set(got) == RESULT_KEYS and all(set(t) == TEST_KEYS for t in got["tests"])
    assert [(t["cell"], t["name"], t["score"], t["max_score"], t["status"], t["output"])
            for t in got["tests"]] == [
        (check_grade_id(t["extra_data"]["id"]), t["name"], t["score"], t["max_score"],
         t["status"], t["output"]) for t in graded["tests"]]
    assert (got["score"], got["max_score"]) == (graded["score"], graded["max_score"]) == (19, 20)
    assert "test_" not in json.dumps(got)  # the hidden tests' function names stay hidden
    assert got["assignment"] == A and got["cached"] is False
    import hashlib

    assert got["notebook"] == hashlib.sha256(sent).hexdigest()
    row = rows(db, "id = ?", (got["check"],))[0]
    assert (row["student"], row["status"], row["score"], row["notebook"]) == ("bea", "graded", 19,
                                                                               None)
    assert json.loads(row["results"])["tests"] == graded["tests"]

    again, _, cached = server.check(tokens["bea"], sent)  # the same bytes: from the record
    assert again == 200 and cached["cached"] is True and cached["check"] != got["check"]
    assert cached["tests"] == got["tests"]


@pytest.mark.slow
def test_forty_checks_from_ten_students_at_once_get_the_right_grades(service):
    """Ten students at once, each checking four notebooks one after the other."""
    server, tokens, db = service
    kinds = [("reference", {}, 20.0), ("stub", {"stub": True}, 0.0),
             ("squared loss summed", {"replace": SQUARED_SUMMED}, 19.0),
             ("reference again", {}, 20.0)]

    def student(name: str) -> list[tuple[str, int, float, int]]:
        got = []
        for kind, how, _ in kinds:
            status, _, body = server.check(tokens[name], notebook(A, **how, variant=f"{name} {kind}"))
            got.append((kind, status, body.get("score"), body.get("check")))
        return got

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(STUDENTS)) as pool:
        answers = dict(zip(STUDENTS, pool.map(student, STUDENTS), strict=True))
    took = time.monotonic() - started
    expected = [(kind, 200, score) for kind, _, score in kinds]
    for name, got in answers.items():
        assert [g[:3] for g in got] == expected, name
    ids = [g[3] for got in answers.values() for g in got]
    assert len(set(ids)) == 40
    recorded = rows(db, f"id IN ({','.join('?' * 40)})", tuple(ids))
    assert {(r["status"], r["cached"]) for r in recorded} == {("graded", 0)} and len(recorded) == 40
    print(f"40 checks in {took:.1f} s")


def test_over_the_rate_is_429_with_retry_after_and_the_record_still_answers(service):
    server, tokens, db = service
    sent = [notebook(A, stub=True, variant=f"try {i}") for i in range(6)]
    for body in sent[:5]:
        status, _, got = server.check(tokens["cal"], body)
        assert status == 200 and got["score"] == 0, got
    status, headers, got = server.check(tokens["cal"], sent[5])
    assert status == 429, got
    wait = int(headers["retry-after"])
    assert 1 <= wait <= 60
    assert got["detail"].startswith("over the limit of 5/minute checks") and one_line(got["detail"])
    assert got["detail"].endswith(f"try again in {wait} s")
    status, _, again = server.check(tokens["cal"], sent[0])  # graded already: not counted
    assert status == 200 and again["cached"] is True
    assert len(rows(db, "student = 'cal' AND cached = 0")) == 5


def test_one_check_at_a_time_and_the_same_bytes_join_it(service):
    server, tokens, db = service
    slow = notebook(A, sleep=4)
    first: list = []
    thread = threading.Thread(target=lambda: first.append(server.check(tokens["dan"], slow)))
    thread.start()
    try:
        wait_for(lambda: server.request("GET", "/api/v1/me", token=tokens["dan"])[2]["pending"],
                 60, "the check to be pending")
        status, _, busy = server.check(tokens["dan"], notebook(A, stub=True))
        assert status == 409 and "one check at a time" in busy["detail"], busy
        status, _, joined = server.check(tokens["dan"], slow)  # a client's retry joins it
    finally:
        thread.join(300)
    assert status == 200 and joined["score"] == 20 and joined["cached"] is False
    assert first[0][0] == 200 and first[0][2]["check"] == joined["check"]
    assert [r["status"] for r in rows(db, "student = 'dan'")] == ["graded"]
    status, _, me = server.request("GET", "/api/v1/me", token=tokens["dan"])
    assert me == {"student": "dan", "checks": 1, "pending": False}


def test_checks_command_prints_each_students_count_last_and_best(service, tmp_path: Path):
    server, tokens, db = service
    for how in ({"replace": SQUARED_SUMMED}, {}, {"stub": True}):
        assert server.check(tokens["eve"], notebook(A, **how))[0] == 200
    done = subprocess.run([sys.executable, "-m", "autograder", "checks", "--db", str(db), "--csv",
                           str(tmp_path / "checks.csv")], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("eve "))
    assert line.split()[:6] == ["eve", A, "3", "0", "20", "20"]
    table = list(csv.DictReader((tmp_path / "checks.csv").open()))
    eve = next(r for r in table if r["student"] == "eve")
    assert (eve["checks"], eve["last"], eve["best"], eve["max_score"]) == ("3", "0.0", "20.0",
                                                                          "20.0")


# --- a restart ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_killed_mid_grade_and_restarted_it_loses_no_check_and_answers_the_interrupted_one(
        tmp_path: Path):
    db = tmp_path / "service.sqlite"
    tokens = issue_tokens(db, ["amy", "ben"], tmp_path)
    server = Server(db, "--workers", "1")
    try:
        status, _, kept = server.check(tokens["amy"], notebook(A, stub=True))
        assert status == 200
        slow = notebook(A, sleep=6)
        lost: list = []

        def post() -> None:
            try:
                lost.append(server.check(tokens["ben"], slow))
            except OSError as exc:  # the connection dies with the service
                lost.append(exc)

        thread = threading.Thread(target=post)
        thread.start()
        wait_for(lambda: rows(db, "student = 'ben' AND status = 'pending'"), 60, "a pending row")
        time.sleep(1.0)  # its grade is under way
        server.stop(signal.SIGKILL)
        thread.join(60)
        assert lost and isinstance(lost[0], OSError), lost
    finally:
        server.stop(signal.SIGKILL)
    pending = rows(db, "student = 'ben'")
    assert [r["status"] for r in pending] == ["pending"]
    assert rows(db, "id = ?", (kept["check"],))[0]["status"] == "graded"

    again = Server(db, "--workers", "1")
    try:
        status, _, answered = again.check(tokens["ben"], slow)  # the client's retry
    finally:
        again.stop()
    assert status == 200, answered
    assert answered["score"] == 20
    assert answered["check"] == pending[0]["id"] or answered["cached"] is True
    after = {r["id"]: r for r in rows(db)}
    assert after[pending[0]["id"]]["status"] == "graded"
    assert after[kept["check"]]["status"] == "graded" and after[kept["check"]]["score"] == 0
    assert all(r["status"] == "graded" for r in after.values())


# --- tokens -----------------------------------------------------------------------------------

def _tokens(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "tokens", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_tokens_from_a_csv_roster(tmp_path: Path):
    db, out = tmp_path / "service.sqlite", tmp_path / "tokens.csv"
    for name, text in (("student.csv", "name,student\nAnn Lee,ann\nBo Li,bo\n"),
                       ("id.csv", "id,email\nann,a@x\ncy,c@x\n"), ("plain.csv", "dee\nann\n")):
        (tmp_path / name).write_text(text)
        done = _tokens(str(tmp_path / name), "--db", str(db), "-o", str(out))
        assert done.returncode == 0, done.stderr
    issued = dict(r for r in csv.reader(out.read_text().splitlines()[1:]))
    assert sorted(issued) == ["ann", "bo", "cy", "dee"]
    assert out.stat().st_mode & 0o777 == 0o600
    book = Tokens.open(db)
    try:
        assert {book.student_of(t) for t in issued.values()} == set(issued)
        assert book.student_of(issued["ann"] + "x") is None
        stored = {r[0] for r in book.db.execute("SELECT hash FROM tokens")}
        assert not stored & set(issued.values())  # only hashes are kept
    finally:
        book.db.close()
    again = _tokens(str(tmp_path / "plain.csv"), "--db", str(db))
    assert again.stdout == "student,token\n" and "0 tokens issued" in again.stderr
    rotated = _tokens(str(tmp_path / "plain.csv"), "--db", str(db), "--rotate")
    new = dict(r for r in csv.reader(rotated.stdout.splitlines()[1:]))
    assert sorted(new) == ["ann", "dee"] and new["ann"] != issued["ann"]
    book = Tokens.open(db)
    try:
        assert book.student_of(issued["ann"]) is None and book.student_of(new["ann"]) == "ann"
        assert book.student_of(issued["bo"]) == "bo"
    finally:
        book.db.close()


def test_tokens_from_an_nbgrader_gradebook(tmp_path: Path):
    roster = tmp_path / "gradebook.db"
    nbgrader = sqlite3.connect(roster)
    nbgrader.execute("CREATE TABLE student (id VARCHAR(128) PRIMARY KEY, first_name VARCHAR, "
                     "last_name VARCHAR, email VARCHAR, lms_user_id VARCHAR)")
    nbgrader.executemany("INSERT INTO student (id) VALUES (?)", [("zoe",), ("abe",)])
    nbgrader.commit()
    nbgrader.close()
    done = _tokens(str(roster), "--db", str(tmp_path / "service.sqlite"))
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in csv.reader(done.stdout.splitlines()[1:])] == ["abe", "zoe"]


@pytest.mark.parametrize("make, words", [
    (lambda p: p / "nope.csv", "nope.csv: cannot be read (No such file or directory)"),
    (lambda p: (p / "e.csv").write_text("student\n") and p / "e.csv", "names no students"),
    (lambda p: (p / "b.db").write_bytes(b"SQLite format 3\0" + b"\0" * 200) and p / "b.db",
     "not an nbgrader gradebook"),
])
def test_a_roster_that_cannot_be_read_is_one_line(tmp_path: Path, make, words):
    done = _tokens(str(make(tmp_path)), "--db", str(tmp_path / "service.sqlite"))
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


# --- the command line ----------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_help_of_the_new_commands():
    for command, words in (("serve", ("--rate", "--max-upload", "--workers", "--dask", "--db")),
                           ("tokens", ("ROSTER", "--rotate", "-o")), ("checks", ("--csv",))):
        done = _cli(command, "--help")
        assert done.returncode == 0 and all(w in done.stdout for w in words), done.stdout


@pytest.mark.parametrize("args, words", [
    (("serve", "--db", "x.sqlite", "--rate", "often"), "Invalid value for '--rate'"),
    (("serve", "--db", "x.sqlite", "--max-upload", "big"), "Invalid value for '--max-upload'"),
    (("serve", "--db", "x.sqlite", "--workers", "0"), "Invalid value for '--workers'"),
    (("serve", "--rate", "5/minute"), "Missing option '--db'"),
    (("serve", "--db", "x.sqlite", "--assignment", "nope"), "unknown assignment 'nope'"),
    (("checks", "--db", "nope.sqlite"), "nope.sqlite: no such database"),
    (("tokens", "roster.csv"), "Missing option '--db'"),
])
def test_bad_arguments_are_one_clear_error(tmp_path: Path, args, words):
    done = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.sqlite").exists()


def test_a_port_in_use_is_one_line(tmp_path: Path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        done = _cli("serve", "--db", str(tmp_path / "s.sqlite"), "--port",
                    str(taken.getsockname()[1]))
    assert done.returncode == 2, done.stderr
    assert "cannot listen on 127.0.0.1:" in done.stderr and done.stderr.count("\n") == 1


# --- pieces --------------------------------------------------------------------------------------

def test_rates_and_sizes_parse_and_the_window_slides():
    assert parse_rate("30/hour") == Rate(30, 3600)
    assert parse_rate("10/15min") == Rate(10, 900) and parse_rate("5/ minutes") == Rate(5, 60)
    for bad in ("0/hour", "often", "3/fortnight"):
        with pytest.raises(ValueError, match="is no rate"):
            parse_rate(bad)
    assert parse_size("10MB") == 10_000_000 and parse_size("512KiB") == 524_288
    rate = Rate(2, 60)
    assert rate.retry_after([100.0], 110.0) is None
    assert rate.retry_after([100.0, 130.0], 140.0) == 20  # the one at 100 leaves at 160
    assert rate.retry_after([10.0, 100.0, 130.0], 140.0) == 20


def test_the_answer_hides_hidden_outputs_and_the_tests_function_names():
    results = {"score": 1, "max_score": 3, "output": "notes", "execution_time": 1.0,
               "extra_data": {"submission": "/srv/secret/path"}, "leaderboard": [{"x": 1}],
               "tests": [{"name": "f: a", "score": 1, "max_score": 1, "status": "passed",
                          "output": "", "visibility": "visible", "extra_data": {"id": "test_f_a"}},
                         {"name": "f: b", "score": 0, "max_score": 2, "status": "failed",
                          "output": "expected 42", "visibility": "hidden",
                          "extra_data": {"id": "test_f_b"}}]}
    got = answer(Started(check=7, assignment=A, sha256="ab"), results, cached=False)
    assert got == {"assignment": A, "score": 1.0, "max_score": 3.0, "output": "notes",
                   "notebook": "ab", "check": 7, "cached": False, "tests": [
                       {"name": "f: a", "score": 1.0, "max_score": 1.0, "status": "passed",
                        "output": "", "cell": "check-f_a"},
                       {"name": "f: b", "score": 0.0, "max_score": 2.0, "status": "failed",
                        "output": "", "cell": "check-f_b"}]}


def _open_and_write(path: str, index: int, start: float) -> str:
    while time.time() < start:
        pass
    db = open_database(Path(path))
    try:
        with db:
            db.execute("INSERT INTO tokens VALUES (?, ?, 'now')", (f"p{index}", f"h{index}"))
    finally:
        db.close()
    return "ok"


def _watch(path: str, start: float) -> list[str]:
    """Open the file the moment it exists, as a reader would, and list its tables."""
    deadline = start + 20
    while not Path(path).exists() and time.time() < deadline:
        pass
    db = sqlite3.connect(path)
    try:
        return sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'"))
    finally:
        db.close()


SLOW_TABLE = ("CREATE TABLE IF NOT EXISTS slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
              "SELECT x + 1 FROM c WHERE x < 400000) SELECT max(x) AS m FROM c")


def test_a_new_database_is_made_race_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Eight processes open the same new database at once, and others open the file the moment
    it appears: every one finds its tables, and every write is kept. Making the schema takes a
    while here (a slow first statement), so that a file made in place would be caught early."""
    from autograder.batch import gradebook

    statements = gradebook._statements
    monkeypatch.setattr(gradebook, "_statements", lambda: [SLOW_TABLE, *statements()])
    for attempt in range(1):
        path = str(tmp_path / f"race{attempt}.sqlite")
        start = time.time() + 0.5
        with concurrent.futures.ProcessPoolExecutor(
                12, mp_context=multiprocessing.get_context("fork")) as pool:
            watchers = [pool.submit(_watch, path, start) for _ in range(4)]
            writers = [pool.submit(_open_and_write, path, i, start) for i in range(8)]
            assert [w.result(timeout=60) for w in writers] == ["ok"] * 8
            for watcher in watchers:
                assert {"checks", "grades", "tokens", "slow"} <= set(watcher.result(timeout=60))
        db = sqlite3.connect(path)
        assert db.execute("SELECT COUNT(*) FROM tokens").fetchone()[0] == 8
        db.close()
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".new")] == []
        # the class's grades and token hashes: the grader's alone (not a worker's uid's)
        assert os.stat(path).st_mode & 0o077 == 0


class _DyingGraders:
    """Graders whose process dies with every job (a kit or machine problem)."""

    def submit(self, job):
        from autograder.batch.jobs import failed

        future: concurrent.futures.Future = concurrent.futures.Future()
        future.set_result(failed(job, "the grader process died (exit status 137) while grading "
                                      "this submission"))
        return future

    def close(self) -> None:
        pass


def test_a_grade_the_service_could_not_finish_is_503_and_no_grade(tmp_path: Path):
    from autograder.batch.jobs import Job
    from autograder.serve.queue import Checks
    from autograder.serve.records import ACCEPTED, Records
    from autograder.serve.service import unavailable

    records = Records(tmp_path / "service.sqlite")
    try:
        decision = records.accept(student="ann", assignment=A, sha256="ab", key="k",
                                  notebook=b"{}", rate=Rate(5, 60))
        assert decision.kind == ACCEPTED
        outcome = Checks(_DyingGraders(), records).start(
            decision.check, Job(A, "ann", "check", "k", [])).result(timeout=10)
        refused = unavailable(outcome)
        assert refused.status == 503 and refused.headers == {"Retry-After": "60"}
        assert "its grader process died" in refused.detail and one_line(refused.detail)
        row = rows(tmp_path / "service.sqlite")[0]
        assert (row["status"], row["score"], row["results"], row["notebook"]) == ("failed", None,
                                                                                 None, None)
        assert records.about("ann") == (0, False)  # no grade, nothing pending
        again = records.accept(student="ann", assignment=A, sha256="ab", key="k", notebook=b"{}",
                               rate=Rate(1, 60))
        assert again.kind == ACCEPTED  # a failed check is no answer, and does not count
    finally:
        records.close()
