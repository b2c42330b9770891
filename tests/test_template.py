"""The warm template (``autograder/worker/zygote.py``): every worker is a fork of one process
that has imported TensorFlow. It must hold nothing a submission may not see, its workers must
not reach it or each other, and one submission must leave nothing behind for the next.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from util import ROOT

from autograder.grading import hidden
from autograder.grading.proxy import StudentError, StudentProxy
from autograder.grading.run import SUITES
from autograder.worker import template as warm
from autograder.worker.limits import Limits
from coursekit.data import mnist

FAST = Limits(call_timeout=20, load_timeout=60)
MASTERS = ROOT / "autograder" / "masters"


@pytest.fixture
def template(monkeypatch):
    """A template of its own, started with a course secret in the grader's environment."""
    monkeypatch.setenv(hidden.ENV_SECRET, "sEcReT-the-template-must-never-hold-7c1f")
    started = warm.Template()
    yield started
    started.close()


def _regions(pid: int) -> list[tuple[int, int]]:
    """The template's writable memory and the anonymous rest: where data (not code) lives."""
    found = []
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split()
        start, end = (int(x, 16) for x in parts[0].split("-"))
        path = parts[5] if len(parts) > 5 else ""
        if "r" in parts[1] and (not path or path.startswith("[heap") or path == "[stack]"
                                or "w" in parts[1]) and path not in ("[vvar]", "[vsyscall]"):
            found.append((start, end))
    return found


def memory_of(pid: int) -> bytes:
    chunks = []
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for start, end in _regions(pid):
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except OSError:
                continue
    return b"\0".join(chunks)


def solution_lines() -> list[bytes]:
    """Lines only the reference solutions hold (between the masters' solution markers, and in
    none of the kit's public files: the worker's own code may run a session the same way)."""
    public = "".join(p.read_text() for p in (ROOT / "autograder").rglob("*.py")
                     if not {"masters", "suites"} & set(p.parts))
    lines = []
    for master in sorted(MASTERS.glob("*.py")):
        for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", master.read_text(),
                                re.S):
            lines += [ln.strip().encode() for ln in block.splitlines()
                      if len(ln.strip()) > 30 and ln.strip() not in public]
    return lines


def suite_messages() -> list[bytes]:
    """Long string literals of the hidden suites (their failure messages)."""
    found = []
    for suite in sorted(SUITES.glob("*/test_*.py")):
        found += [m.encode() for m in re.findall(r'"([^"\n]{45,})"', suite.read_text())]
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's /proc")
def test_the_template_holds_nothing_secret(template):
    pid = template.process.pid
    memory = memory_of(pid)
    # The scan can find things: the template's own words and its environment are there.
    assert b"the worker could not start" in memory
    assert b"TF_CPP_MIN_LOG_LEVEL" in memory
    assert len(memory) > 50 << 20  # TensorFlow's heap, not an empty read

    secret = os.environ[hidden.ENV_SECRET].encode()
    assert secret not in memory
    assert secret not in Path(f"/proc/{pid}/environ").read_bytes()
    solutions, messages = solution_lines(), suite_messages()
    assert len(solutions) > 20 and len(messages) > 20
    assert [s for s in solutions if s in memory] == []
    assert [m for m in messages if m in memory] == []
    labels = (mnist.cache_dir() / mnist.TEST_LABELS).read_bytes()
    assert labels[8:72] not in memory  # the first 64 test labels, as the file holds them

    files = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    mapped = Path(f"/proc/{pid}/maps").read_text()
    for secret_place in ("/suites/", "/masters/", str(mnist.cache_dir()), str(ROOT / "solutions")):
        assert not any(secret_place in f for f in files), files
        assert secret_place not in mapped
    assert sum(f.startswith("socket:") for f in files) == 1  # its one socket to the grader
    modules = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"autograder.worker.zygote" in modules


def student(tmp_path: Path, source: str, name: str) -> StudentProxy:
    scratch = tmp_path / name
    scratch.mkdir()
    return StudentProxy(assignment="mlp_mnist", limits=FAST, scratch=scratch,
                        cells=[{"index": 0, "source": textwrap.dedent(source)}])


LEAVE_TRACES = """
    import builtins, os, random, string, sys
    import numpy as np
    import tensorflow as tf

    np.random.seed(5)
    random.seed(5)
    FIRST = (float(np.random.rand()), random.random())
    np.random.seed(5)
    random.seed(5)
    np.mean = lambda *a, **k: 42.0
    sys.modules["string"].ascii_letters = "patched"
    builtins.LEAKED = True
    os.environ["LEAKED"] = "1"
    tf.compat.v1.disable_eager_execution()
    with tf.compat.v1.get_default_graph().as_default():
        tf.constant(1.0, name="leaked_op")
    for folder in (os.path.expanduser("~"), "/tmp", os.getcwd()):
        with open(os.path.join(folder, "leaked.txt"), "w") as f:
            f.write("leaked")

    def observe():
        return {"first": FIRST}
"""

OBSERVE = """
    import builtins, os, random, string
    import numpy as np
    import tensorflow as tf

    def observe():
        graph = tf.compat.v1.get_default_graph()
        folders = (os.path.expanduser("~"), "/tmp", os.getcwd())
        return {
            "first": (float(np.random.rand()), random.random()),
            "mean": float(np.mean([1.0, 2.0])),
            "letters": string.ascii_letters[:3],
            "builtins": hasattr(builtins, "LEAKED"),
            "env": os.environ.get("LEAKED", ""),
            "eager": bool(tf.executing_eagerly()),
            "ops": [op.name for op in graph.get_operations()],
            "files": [f for d in folders for f in os.listdir(d) if f == "leaked.txt"],
        }
"""


def test_one_submission_leaves_nothing_for_the_next(tmp_path):
    first = student(tmp_path, LEAVE_TRACES, "first")
    try:
        before = first.call("observe")
    finally:
        first.close()
    seen = []
    for k in range(2):
        nxt = student(tmp_path, OBSERVE, f"next{k}")
        try:
            seen.append(nxt.call("observe"))
        finally:
            nxt.close()
    for got in seen:
        assert got["mean"] == 1.5 and got["letters"] == "abc"
        assert got["builtins"] is False and got["env"] == ""
        assert got["eager"] is True and got["ops"] == [] and got["files"] == []
        assert got["first"] != before["first"]  # not the seeds the first one set
    # A fork would repeat the template's random state: each worker draws its own.
    assert seen[0]["first"][0] != seen[1]["first"][0]
    assert seen[0]["first"][1] != seen[1]["first"][1]


ATTACK_NEIGHBOURS = """
    import os, signal

    def observe():
        me = os.getpid()
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        hit = []
        for pid in pids + list(range(1, 300)):
            if pid in (me, 1):
                continue
            for sig in (signal.SIGSTOP, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                    hit.append(pid)
                except OSError:
                    pass
        fds = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                fds.append(os.readlink("/proc/self/fd/" + fd))
            except OSError:
                pass
        return {"pids": pids, "hit": sorted(set(hit)), "fds": fds, "parent": os.getppid()}
"""

ANSWER = """
    import os

    def observe():
        return {"pid": os.getpid(), "alive": True}
"""



def test_a_worker_collects_its_own_garbage_but_never_walks_the_templates_objects(tmp_path):
    """The template's objects are frozen before the fork (a collection in the worker would
    touch, and so copy, every page of them); the worker's collector runs for its own."""
    probe = student(tmp_path, """
        import gc

        def observe():
            return {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
    """, "gc")
    try:
        seen = probe.call("observe")
    finally:
        probe.close()
    assert seen["enabled"] and seen["frozen"] > 100_000, seen

@pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox (pid namespaces) needs root here")
def test_a_worker_cannot_reach_the_template_or_the_next_worker(tmp_path):
    template = warm.shared()
    assert template is not None
    neighbour = student(tmp_path, ANSWER, "neighbour")  # started ahead, as batch does
    attacker = student(tmp_path, ATTACK_NEIGHBOURS, "attacker")
    try:
        assert neighbour.call("observe")["alive"] is True
        seen = attacker.call("observe")
        # Its own pid namespace: init and itself (and what it forked) are all it can see.
        assert seen["parent"] == 1 and len(seen["pids"]) <= 3, seen["pids"]
        assert not any(f.startswith("socket:") for f in seen["fds"]), seen["fds"]
        assert neighbour.call("observe")["alive"] is True  # still there, still answering
        assert template.alive and warm.shared() is template
        os.kill(template.process.pid, 0)
        later = student(tmp_path, ANSWER, "later")
        try:
            assert later.call("observe")["alive"] is True
        finally:
            later.close()
    finally:
        attacker.close()
        neighbour.close()


REFUSING = """
import sys, threading, time
from autograder.worker import zygote
import socket
sock = socket.socket(fileno=int(sys.argv[1]))
zygote.warm()
sock.send(b'{"ok": true, "threads": %d}' % zygote.threads())
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # as a started thread pool
zygote.serve(sock)
"""


def test_a_template_whose_threads_started_refuses_and_workers_start_afresh(tmp_path, capfd,
                                                                            monkeypatch):
    refusing = warm.Template(command=[sys.executable, "-c", REFUSING])
    with pytest.raises(warm.Unavailable, match="thread pools have started"):
        student_fds = {name: os.open(os.devnull, os.O_RDWR) for name in warm.FDS if name != "exit"}
        try:
            refusing.spawn(config={}, env={}, cwd="/", fds=student_fds)
        finally:
            for fd in student_fds.values():
                os.close(fd)
    assert refusing.process.wait(timeout=10) != 0  # it ended instead of forking
    # A grader whose template refuses says so once, and grades with workers started afresh.
    monkeypatch.setattr(warm, "_shared", {(os.getpid(), True): warm.Template(
        command=[sys.executable, "-c", REFUSING])})
    monkeypatch.setattr(warm, "_refused", [])
    capfd.readouterr()
    fallback = student(tmp_path, ANSWER, "fallback")
    try:
        assert fallback.call("observe")["alive"] is True
        assert not isinstance(fallback.workers[0].process, warm.Launched)
    finally:
        fallback.close()
    err = capfd.readouterr().err
    assert err.count("no warm template") == 1 and "thread pools have started" in err


def assert_a_forked_worker_answers(tmp_path: Path) -> None:
    """A new worker, forked from this process's template (not started afresh), answers."""
    again = student(tmp_path, ANSWER, "again")
    try:
        assert again.call("observe")["alive"] is True
        assert isinstance(again.workers[0].process, warm.Launched)
    finally:
        again.close()


def test_a_folder_named_autograder_where_the_template_starts_is_not_the_kit(tmp_path,
                                                                            monkeypatch):
    """Gradescope's /autograder is such a folder in the folder the template starts in; with
    an editable install, the kit's modules were then looked for in it and every grade failed."""
    shadow = tmp_path / "cwd"
    (shadow / "autograder" / "submission").mkdir(parents=True)
    (shadow / "autograder" / "worker.py").write_text("raise SystemExit('the wrong kit')\n")
    monkeypatch.setattr(warm, "_shared", {(os.getpid(), True): warm.Template(cwd=str(shadow))})
    monkeypatch.setattr(warm, "_refused", [])
    assert_a_forked_worker_answers(tmp_path)
    assert not warm._refused


def test_a_killed_template_is_replaced(tmp_path):
    template = warm.shared()
    assert template is not None
    os.kill(template.process.pid, signal.SIGKILL)
    template.process.wait(timeout=10)
    deadline = time.monotonic() + 5
    while template.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert_a_forked_worker_answers(tmp_path)
    assert warm.shared() is not template


def test_an_unused_template_ends_and_the_next_worker_comes_from_another(tmp_path, monkeypatch):
    """A grader in a long-lived process (nbgrader in a Jupyter server) holds no idle template:
    one unused for AUTOGRADER_TEMPLATE_IDLE seconds ends, and the next worker starts another.
    A request that meets the ended one is no refusal (no warning, templates still used)."""
    monkeypatch.setenv(warm.ENV_IDLE, "1")
    monkeypatch.setattr(warm, "_shared", {})
    monkeypatch.setattr(warm, "_refused", [])
    first = warm.shared()
    assert first is not None
    assert first.process.wait(timeout=30) == warm.IDLE_EXIT
    with pytest.raises(warm.Unavailable) as raced:  # a request sent as it was ending
        first.fork_delegate("time:sleep", [0])
    assert raced.value.idle
    warm.refuse(raced.value)
    assert not warm._refused
    assert_a_forked_worker_answers(tmp_path)
    assert warm.shared() is not first and not warm._refused


def test_a_template_does_not_end_while_a_fork_of_it_runs(monkeypatch):
    monkeypatch.setenv(warm.ENV_IDLE, "2")
    template = warm.Template()
    try:
        fork = template.fork_delegate("time:sleep", [4])  # longer than the idle time
        assert fork.wait(timeout=60) == 0
        fork.close()
        assert template.process.poll() is None  # it counts from the fork's end
        assert template.process.wait(timeout=30) == warm.IDLE_EXIT
    finally:
        template.close()


def test_worker_errors_are_still_reported_from_a_fork(tmp_path):
    crashing = student(tmp_path, "import os\ndef observe():\n    os.kill(os.getpid(), 11)\n",
                       "crashing")
    try:
        with pytest.raises(StudentError, match="segmentation fault"):
            crashing.call("observe")
        assert isinstance(crashing.workers[0].process, warm.Launched)
    finally:
        crashing.close()


DELEGATING = """
import os, sys
from autograder.worker import template as warm
sys.path.insert(0, {tests!r})
import test_template

code = warm.delegate("test_template:delegated_here", [sys.argv[1]])
template = warm.shared()
memory = test_template.memory_of(template.process.pid)
print("P imported TensorFlow:", "tensorflow" in sys.modules)
print("P's pid:", os.getpid(), "template:", template.process.pid)
print("secret in the template:", os.environ["AUTOGRADER_SECRET"].encode() in memory)
sys.exit(code)
"""


def delegated_here(how: str) -> None:
    """Run in a delegate by ``DELEGATING``: say where it runs and what it holds, then end."""
    print("D's parent:", os.getppid(), "D imported TensorFlow:", "tensorflow" in sys.modules)
    print("D's folder:", os.getcwd(), "secret:", os.environ.get("AUTOGRADER_SECRET"), flush=True)
    print("D's workers come from the template:", warm.shared().process is None, flush=True)
    if how == "exit":
        sys.exit(3)
    if how == "signal":
        os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("how, code", [("exit", 3), ("signal", 128 + signal.SIGTERM)])
def test_a_command_runs_in_a_fork_of_the_template(tmp_path, how, code):
    """What `autograder grade` does: the command itself never imports TensorFlow; its work runs
    in a fork of the template, which gets the command's secrets after the fork, not before."""
    import subprocess

    env = {**os.environ, "AUTOGRADER_SECRET": "delegated-secret-9d2e"}
    done = subprocess.run([sys.executable, "-c", DELEGATING.format(tests=str(ROOT / "tests")),
                           how], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    out = done.stdout
    assert done.returncode == code, (out, done.stderr)
    fields = {k.strip(): v for k, v in re.findall(r"([A-Za-z' ]+): (\S+)", out)}
    assert fields["P imported TensorFlow"] == "False"
    assert fields["D imported TensorFlow"] == "True"  # inherited from the template
    assert fields["D's parent"] == fields["template"] != fields["P's pid"]
    assert fields["D's folder"] == str(tmp_path)
    assert fields["secret"] == "delegated-secret-9d2e"
    assert fields["D's workers come from the template"] == "True"
    assert fields["secret in the template"] == "False"


def test_nbgrader_grades_each_notebook_in_a_fork_of_one_template(monkeypatch):
    """nbgrader's preprocessors grade through ``grade_notebook``: with a template, each notebook
    is a delegate of it (no `python -m autograder` per notebook, no TensorFlow import per
    notebook); the result is the same, and the time limit still holds."""
    import subprocess

    import nbformat

    from autograder.nbgrader import grade

    def no_subprocess(*args, **kwargs):
        raise AssertionError("graded by a fresh process, not by the template")

    solution = nbformat.read(ROOT / "solutions" / "losses" / "losses.ipynb", 4)
    stub = nbformat.read(ROOT / "assignments" / "losses" / "losses.ipynb", 4)
    monkeypatch.setattr(grade.subprocess, "run", no_subprocess)
    full, problem = grade.grade_notebook("losses", solution)
    assert problem == "" and full["score"] == full["max_score"] > 0
    empty, problem = grade.grade_notebook("losses", stub)
    assert problem == "" and empty["score"] == 0
    # A notebook that never finishes loading (the solution is graded in well under a second,
    # too fast to trip a short limit reliably).
    slow = nbformat.v4.new_notebook(cells=[*solution.cells,
                                           nbformat.v4.new_code_cell("while True:\n    pass")])
    slow.metadata = solution.metadata
    results, problem = grade.grade_notebook("losses", slow, timeout=1.5)
    assert results is None and problem == "grading took longer than 1.5 s and was stopped"
    # A course that names another Python gets a process of that Python.
    monkeypatch.setattr(grade.subprocess, "run", lambda command, **kw: subprocess.CompletedProcess(
        command, 2, "", "autograder: error: that Python was used\n"))
    results, problem = grade.grade_notebook("losses", stub, python="/other/python3")
    assert results is None and problem.endswith("that Python was used")


def test_a_template_started_early_is_ended_when_there_is_nothing_to_grade(monkeypatch):
    """`autograder grade` starts the template first and checks its input meanwhile; input it
    cannot grade ends the template at once, not after TensorFlow's import."""
    monkeypatch.setattr(warm, "_shared", {})
    monkeypatch.setattr(warm, "_refused", [])
    warm.start()
    template = warm._shared[(os.getpid(), True)]
    assert template.process is not None and template.process.poll() is None  # importing
    warm.discard()
    assert template.process.poll() is not None and not warm._shared


def test_a_system_that_cannot_pass_descriptors_has_no_template_and_says_so(monkeypatch, capfd):
    monkeypatch.setattr(warm, "_shared", {})
    monkeypatch.setattr(warm, "_refused", [])
    monkeypatch.delattr(warm.socket, "send_fds")
    warm.start()  # `autograder grade` goes on, and its workers start afresh
    assert warm.shared() is None
    assert "cannot pass descriptors" in capfd.readouterr().err


def test_grading_imports_no_notebook_validator():
    """nbformat's import takes over a second (jsonschema compiles URI grammars for its format
    checks), once per grading process: neither a grade, a batch's grader nor the service needs
    it (submissions are read as JSON)."""
    code = ("import sys, autograder.cli, autograder.grading.run, autograder.grading.report, "
            "autograder.grading.plugin, autograder.batch.pool, autograder.export.runner\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('nbformat', 'jsonschema')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's /proc")
def test_an_assignment_graded_without_tensorflow_gets_a_template_without_it(monkeypatch,
                                                                            template, tmp_path):
    """gradient_descent is NumPy: its command's template skips TensorFlow's import (3 s of a
    grade), a worker of another assignment in the same process still gets a template with it,
    and a student's cell that imports TensorFlow anyway still runs (the worker imports it)."""
    assert "libtensorflow" in Path(f"/proc/{template.process.pid}/maps").read_text()
    monkeypatch.setattr(warm, "_shared", {})
    monkeypatch.setattr(warm, "_refused", [])
    try:
        warm.start(tensorflow=False)
        numpy_only = warm.shared(tensorflow=False)
        assert numpy_only is not None and not numpy_only.tensorflow
        maps = Path(f"/proc/{numpy_only.process.pid}/maps").read_text()
        assert "libtensorflow" not in maps and "matplotlib" in maps
        assert warm.shared(tensorflow=False) is numpy_only
        with_tf = warm.shared(tensorflow=True)
        assert with_tf is not None and with_tf is not numpy_only
        assert "libtensorflow" in Path(f"/proc/{with_tf.process.pid}/maps").read_text()
        assert warm.shared(tensorflow=False) is with_tf  # it serves both
        scratch = tmp_path / "gd"
        scratch.mkdir()
        warm._shared.pop((os.getpid(), True)).close()
        proxy = StudentProxy(assignment="gradient_descent", limits=FAST, scratch=scratch,
                             cells=[{"index": 0, "source": "import tensorflow as tf\n"
                                     "def cost(X, y, theta):\n    return float(tf.constant(2.0))\n"}])
        try:
            assert proxy.call("cost", 1, 2, 3) == 2.0
            assert isinstance(proxy.workers[0].process, warm.Launched)  # forked from numpy_only
        finally:
            proxy.close()
    finally:
        warm.discard()
