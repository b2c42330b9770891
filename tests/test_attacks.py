"""Submissions that attack the grader. Each must fail: the grader finishes, the attack earns
nothing, the legitimate functions of the same submission still earn their points, and the report
says what happened in plain words.

Each submission is the reference solution (so ``build_model`` stays correct) with attack cells
appended; a later definition of ``build_loss`` or ``build_accuracy`` replaces the correct one.
Only the cheap tests run (``select``), with short limits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from util import ROOT, eventually, grade_text, mutate, solution_source

from autograder.grading.proxy import StudentError, StudentProxy
from autograder.grading.results import GradeResult
from autograder.grading.run import SUITES
from autograder.worker.limits import Limits
from coursekit.data import mnist

A = "mlp_mnist"
CHEAP = ["build_model", "build_loss", "build_accuracy"]
MODEL_TESTS = ("test_build_model_shape", "test_build_model_values")
LOSS_TESTS = ("test_build_loss_scalar", "test_build_loss_values")
FAST = Limits(call_timeout=10, load_timeout=40)
SECRETS = {
    "hidden suite": SUITES / A / f"test_{A}.py",
    "master": ROOT / "autograder" / "masters" / f"{A}.py",
    "reference solution": ROOT / "solutions" / A / f"{A}.ipynb",
    "test labels": mnist.cache_dir() / mnist.TEST_LABELS,
}
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the full sandbox needs root here")
# tests/test_confined.py runs this file again with the namespaces left out (Landlock, seccomp
# and the worker's own uid hold then) and as root without CAP_SYS_ADMIN (a user namespace)
NO_NAMESPACES = os.environ.get("AUTOGRADER_NAMESPACES") == "0"


def submission(*cells: str) -> str:
    """The reference without its MNIST cell (not needed here), then the given cells."""
    source = mutate(solution_source(A), 'mnist = input_data.read_data_sets("MNIST_data/", '
                    'one_hot=True)', "mnist = None  # the functions attacked here need no data")
    return source + "".join(f"\n# %%\n{textwrap.dedent(c).strip()}\n" for c in cells)


def attack(tmp_path: Path, *cells: str, limits: Limits = FAST, select: list[str] = CHEAP,
           **kwargs) -> GradeResult:
    return grade_text(tmp_path, A, submission(*cells), name="attack.py", select=select,
                      limits=limits, **kwargs)


def outputs(result: GradeResult) -> dict[str, str]:
    """Test id -> its report line ("" when it passed)."""
    return {t.id: ("" if t.status == "passed" else t.output) for t in result.tests}


def everything(result: GradeResult) -> str:
    return "\n".join([*outputs(result).values(), *result.notes, result.output])


def assert_model_earns(result: GradeResult) -> None:
    out = outputs(result)
    assert all(out[t] == "" for t in MODEL_TESTS), out
    assert result.score >= 4, out  # build_model's 1 + 3 points


# Markers of the processes a submission leaves behind, unique to this run: another run of these
# tests (tests/test_nonroot.py's, say) may be leaving its own at the same time.
RUN = f"{os.getpid() % 100000:05d}"


def processes_named(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == marker:
                found.append(int(entry.name))
        except OSError:
            pass
    return found


DAEMON = '''
import ctypes, os, time

def daemon(marker):
    """Leave a process behind that has left the worker's session and process group."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            ctypes.CDLL(None).prctl(15, marker.encode(), 0, 0, 0)  # PR_SET_NAME
            time.sleep(3600)
        os._exit(0)
'''


def test_endless_loops_and_printing_are_stopped(tmp_path):
    limits = replace(FAST, call_timeout=4, load_timeout=10, output_bytes=64 * 1024)
    result = attack(tmp_path, DAEMON, f"""
        daemon("agloop1{RUN}")
        while True:
            pass
    """, f"""
        def build_loss(logits, y):
            daemon("agloop2{RUN}")
            while True:
                pass
    """, """
        def build_accuracy(logits, y):
            while True:
                print("spam " * 100)
    """, limits=limits)
    out = outputs(result)
    assert_model_earns(result)
    for test in LOSS_TESTS:
        assert out[test] == "calling build_loss took longer than 4 s and was stopped"
    assert out["test_build_accuracy"] == "calling build_accuracy took longer than 4 s and was stopped"
    assert any("still running after 10 s, so the grader stopped it and ran the other cells "
               "without it" in note for note in result.notes), result.notes
    assert "bytes of output dropped" in result.output
    assert len(result.output) < 8 * (64 * 1024 + 300)
    # SIGKILL is sent when the worker is stopped; on a loaded machine the kernel may take a
    # moment to finish them off
    assert eventually(lambda: processes_named(f"agloop1{RUN}") == processes_named(f"agloop2{RUN}")
                      == [])


def test_fork_bomb_memory_hog_and_stray_processes_are_contained(tmp_path):
    result = attack(tmp_path, DAEMON, f"""
        daemon("agstray1{RUN}")
    """, f"""
        def build_loss(logits, y):
            daemon("agstray2{RUN}")
            while True:
                os.fork()
    """, """
        import numpy as np

        def build_accuracy(logits, y):
            hog = [np.zeros(1 << 27) for _ in range(64)]  # 64 GiB, 1 GiB at a time
            return len(hog)
    """, limits=replace(FAST, processes=64))
    out = outputs(result)
    assert_model_earns(result)
    for test in LOSS_TESTS:
        assert "build_loss raised BlockingIOError" in out[test]
        assert "a submission may run at most" in out[test] and "processes and threads" in out[test]
    assert out["test_build_accuracy"].startswith("build_accuracy ran out of memory (the limit is 4 "
                                                 "GiB of address space)")
    assert eventually(lambda: processes_named(f"agstray1{RUN}")
                      == processes_named(f"agstray2{RUN}") == [])


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    # the attack would reach it from an ordinary process: the test can fail
    probe = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5).send(b'x')"
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
    server.accept()[0].close()
    yield server, port
    server.close()


@pytest.fixture
def grader_signals():
    received: list[int] = []
    sigs = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    old = {s: signal.signal(s, lambda n, _: received.append(n)) for s in sigs}
    os.kill(os.getpid(), signal.SIGUSR1)  # the handlers work: the test can fail
    assert received == [signal.SIGUSR1]
    received.clear()
    yield received
    for s, handler in old.items():
        signal.signal(s, handler)


def test_no_network_no_secrets_and_no_signals_to_the_grader(tmp_path, listener, grader_signals):
    server, port = listener
    for path in SECRETS.values():
        assert path.read_bytes()[:1], path  # they exist and the grader can read them
    result = attack(tmp_path, f"""
        import importlib, os, signal
        GRADER = {os.getpid()}
        for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            for target in (GRADER, os.getppid()):
                try:
                    os.kill(target, sig)
                except OSError:
                    pass
            try:
                os.killpg(os.getpgid(GRADER), sig)
            except OSError:
                pass
        blocked, leaked = [], []
        for path in {[str(p) for p in SECRETS.values()]!r}:
            try:
                leaked.append(open(path, "rb").read(300))
            except OSError as exc:
                blocked.append(type(exc).__name__)
        try:
            importlib.import_module("autograder.suites.{A}.test_{A}")
            leaked.append("the hidden suite")
        except (ImportError, OSError) as exc:
            blocked.append(type(exc).__name__)
        try:
            import importlib.resources
            masters = importlib.resources.files("autograder.masters")
            leaked.append(masters.joinpath("{A}.py").read_text()[:300])
        except (OSError, ImportError) as exc:
            blocked.append(type(exc).__name__)
        try:
            from autograder.grading.reference import reference
            leaked.append(reference("{A}").namespace["build_loss"])
        except Exception as exc:
            blocked.append(type(exc).__name__)
        print("LEAKED", leaked) if leaked else print("blocked", len(blocked), "of 7")
    """, f"""
        import socket

        def build_loss(logits, y):
            socket.create_connection(("127.0.0.1", {port}), timeout=5).sendall(b"stolen")
    """, f"""
        def build_accuracy(logits, y):
            return open({str(SECRETS["hidden suite"])!r}).read()
    """)
    with pytest.raises(TimeoutError):
        server.accept()
    assert grader_signals == []
    out = outputs(result)
    assert_model_earns(result)
    for test in LOSS_TESTS:
        assert out[test].startswith("build_loss raised OSError: [Errno 101] Network is unreachable;"
                                    " submissions have no network access while they are graded")
    assert out["test_build_accuracy"].startswith(
        "build_accuracy raised PermissionError: [Errno 13] Permission denied" if NO_NAMESPACES
        else "build_accuracy raised FileNotFoundError: [Errno 2] No such file or directory")
    report = everything(result)
    assert "blocked 7 of 7" in result.output and "LEAKED" not in report
    for marker in ("BEGIN SOLUTION", "pytest.mark.points", "reduce_mean"):
        assert marker not in report


def test_results_file_cannot_be_written_and_its_path_stays_unknown(tmp_path):
    out_dir = tmp_path / "secret-results-d41d8"
    out_dir.mkdir()
    json_out = out_dir / "results.json"
    json_out.write_text('{"score": 0, "note": "a previous run"}')
    fake = json.dumps({"score": 999, "max_score": 20, "tests": []})
    overwrite = f"""
        def overwrite():
            written = []
            for path in ({str(json_out)!r}, {str(tmp_path / "results.json")!r},
                         "/autograder/results/results.json"):
                for action in (lambda: open(path, "w").write({fake!r}), lambda: os.unlink(path)):
                    try:
                        action()
                        written.append(path)
                    except OSError:
                        pass
            return written
    """
    result = attack(tmp_path, "import os", overwrite, """
        print("import wrote", overwrite())
    """, """
        def build_loss(logits, y):
            raise RuntimeError(f"wrote {overwrite()}")
    """, """
        def build_accuracy(logits, y):
            needle, places = "secret-results", [os.getcwd(), *os.environ.values()]
            for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
                for what in ("cmdline", "environ"):
                    try:
                        places.append(open(f"/proc/{pid}/{what}", "rb").read().decode("latin1"))
                    except OSError:
                        pass
            for fd in os.listdir("/proc/self/fd"):
                try:
                    places.append(os.readlink(f"/proc/self/fd/{fd}"))
                except OSError:
                    pass
            for top in ("/tmp", os.path.expanduser("~"), os.getcwd()):
                for folder, dirs, files in os.walk(top):
                    places += [folder, *dirs, *files]
            found = [p for p in places if needle in p]
            raise RuntimeError(f"FOUND {found[:1]}" if found else f"not in {len(places)} places")
    """, json_out=json_out)
    data = json.loads(json_out.read_text())
    assert data["score"] == result.score < 999 and len(data["tests"]) == len(result.tests)
    out = outputs(result)
    assert_model_earns(result)
    assert "import wrote []" in result.output
    for test in LOSS_TESTS:
        assert out[test].startswith("build_loss raised RuntimeError: wrote [] (cell")
    assert "build_accuracy raised RuntimeError: not in" in out["test_build_accuracy"]
    assert "FOUND" not in everything(result)


def test_exiting_at_import_or_in_a_function_is_reported(tmp_path):
    result = attack(tmp_path, """
        import sys
        sys.exit(3)
    """, """
        import os
        os._exit(0)
    """, """
        import sys

        def build_loss(logits, y):
            sys.exit(1)
    """, """
        import os

        def build_accuracy(logits, y):
            os._exit(0)
    """)
    out = outputs(result)
    assert_model_earns(result)
    notes = "\n".join(result.notes)
    assert "the cell called sys.exit(3); ignored" in notes
    assert ("it ended the submission's process (it ended itself with exit status 0), so the grader "
            "ran the other cells without it") in notes
    for test in LOSS_TESTS:
        assert out[test] == "build_loss called sys.exit(1)"
    assert out["test_build_accuracy"] == ("the submission's process died while calling "
                                          "build_accuracy (it ended itself with exit status 0)")


def test_monkeypatching_the_graders_modules_changes_nothing(tmp_path):
    result = attack(tmp_path, """
        import numpy as np
        import pytest
        import autograder.grading.checks as checks
        import autograder.grading.plugin as plugin

        always = lambda *a, **k: True
        np.allclose = np.isclose = np.array_equal = always
        np.testing.assert_allclose = lambda *a, **k: None
        pytest.approx = lambda *a, **k: type("Any", (), {"__eq__": always})()
        checks.close = checks.shape = checks.scalar = checks.finite = lambda *a, **k: None
        plugin.GradingFailure = type("Nothing", (Exception,), {})
    """, """
        def build_loss(logits, y):  # wrong: the sum, not the mean
            return tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))
    """)
    out = outputs(result)
    assert_model_earns(result)
    assert out["test_build_loss_scalar"] == ""  # a sum is a scalar too
    values = out["test_build_loss_values"]
    assert values.startswith("build_loss's result") and "from the correct result" in values


def test_objects_that_pretend_to_be_numbers_or_arrays_are_refused(tmp_path):
    result = attack(tmp_path, """
        import numpy as np

        class FakeFloat(float):
            def __eq__(self, other): return True
            def __sub__(self, other): return 0.0
            def __abs__(self): return 0.0
            __hash__ = float.__hash__

        class Pretender:
            def __array__(self, *a, **k): return np.zeros(())
            def __eq__(self, other): return True
            def __float__(self): return 0.0

        class LyingArray(np.ndarray):
            def __eq__(self, other): return np.ones(np.shape(other), bool)

        calls = []

        def build_loss(logits, y):
            calls.append(1)
            return FakeFloat(0.0) if len(calls) == 1 else Pretender()

        def build_accuracy(logits, y):
            return np.zeros(()).view(LyingArray)
    """)
    out = outputs(result)
    assert_model_earns(result)
    assert out["test_build_loss_scalar"] == ("build_loss returned a FakeFloat, a subclass of float; "
                                             "return a plain float instead")
    assert out["test_build_loss_values"] == ("build_loss returned a Pretender; expected numbers, "
                                             "numpy arrays or tensors")
    assert out["test_build_accuracy"] == ("build_accuracy returned a LyingArray, a subclass of "
                                          "ndarray; return a plain ndarray instead")


def test_huge_and_absurd_return_values_are_refused(tmp_path):
    result = attack(tmp_path, """
        def build_loss(logits, y):
            return tf.zeros([1 << 28])  # 1 GiB of float32
    """, """
        def build_accuracy(logits, y):
            value = 0.5
            for _ in range(100):
                value = [value]
            return value
    """, limits=replace(FAST, call_timeout=60))  # filling 1 GiB is slow on a loaded machine
    out = outputs(result)
    assert_model_earns(result)
    for test in LOSS_TESTS:
        assert out[test] == "build_loss returned 1 GiB of data; a result may be at most 64 MiB"
    assert out["test_build_accuracy"] == "build_accuracy returned a value nested too deeply"


def test_cpu_time_is_limited(tmp_path):
    result = attack(tmp_path, """
        def build_loss(logits, y):
            while True:
                pass
    """, limits=replace(FAST, cpu_seconds=10, call_timeout=120),
        select=["build_model", "build_loss_scalar"])
    out = outputs(result)
    assert_model_earns(result)
    assert out["test_build_loss_scalar"] == ("the submission's process died while calling "
                                             "build_loss (it used more than the 10 s of CPU time "
                                             "allowed)")


# --- the sandbox itself, without TensorFlow: fast -----------------------------------------------

def proxy(source: str, limits: Limits, scratch: Path) -> StudentProxy:
    cells = [{"index": 0, "source": textwrap.dedent(DAEMON)},
             {"index": 1, "source": textwrap.dedent(source)}]
    return StudentProxy(assignment=A, cells=cells, limits=limits, scratch=scratch)


def report_and_uid(tmp_path: Path) -> tuple[dict, int]:
    """A worker's report of its defences, and the uid it runs as."""
    student = proxy("def uid():\n    return os.getuid()\n", FAST, tmp_path)
    try:
        student.start()
        isolation, uid = student.isolation, student.call("uid")
    finally:
        student.close()
    return isolation, uid


def isolation_and_uid(tmp_path: Path) -> tuple[dict, int]:
    """A worker's report of its defences, with every namespace checked; and the uid it runs as."""
    isolation, uid = report_and_uid(tmp_path)
    assert isolation["processes"].startswith("its own pid namespace")
    assert isolation["network"].startswith("none")
    assert isolation["files"].startswith("private root")
    assert isolation["syscalls"].startswith("seccomp: no keyrings")
    return isolation, uid


@root_only
@pytest.mark.skipif(NO_NAMESPACES, reason="namespaces left out on purpose")
def test_as_root_every_defence_is_active(tmp_path):
    isolation, uid = isolation_and_uid(tmp_path)
    assert isolation["notes"] == []
    assert isolation["user"].startswith("uid ")
    assert uid == int(isolation["user"].split()[1].rstrip(",")) > 65535
    assert isolation["resources"].startswith("cgroup v")


@root_only
@pytest.mark.skipif(not NO_NAMESPACES, reason="only with AUTOGRADER_NAMESPACES=0")
def test_without_namespaces_a_uid_landlock_and_seccomp_hold(tmp_path):
    isolation, uid = report_and_uid(tmp_path)
    assert isolation["notes"] == ["no namespaces: turned off (AUTOGRADER_NAMESPACES=0)"]
    assert uid == int(isolation["user"].split()[1].rstrip(",")) > 65535
    assert isolation["processes"].startswith("the launcher sweeps all descendants")
    assert isolation["files"].startswith("Landlock: ")
    assert isolation["network"] == "none: no sockets but Unix ones (seccomp), no TCP (Landlock)"
    assert "no sockets but Unix ones" in isolation["syscalls"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root takes the root path; tests/test_nonroot.py "
                    "runs this file again as a normal user")
def test_as_a_normal_user_the_namespaces_still_isolate(tmp_path):
    isolation, uid = isolation_and_uid(tmp_path)
    assert "user namespace" in isolation["user"]
    assert uid == os.getuid()


def test_nothing_is_left_running_after_a_timeout_or_the_end(tmp_path):
    limits = replace(FAST, call_timeout=2)
    marker = f"agleft{RUN}"
    student = proxy(f"""
        daemon("{marker}")

        def hang():
            daemon("{marker}")
            os.setsid()
            while True:
                pass
    """, limits, tmp_path)
    try:
        with pytest.raises(StudentError, match="took longer than 2 s"):
            student.call("hang")
        assert processes_named(marker) == []
        assert student.load_report["notes"] == []  # a new worker, loaded again
        assert eventually(lambda: len(processes_named(marker)) == 1)  # the stray it left
    finally:
        student.close()
    assert processes_named(marker) == []


def test_the_worker_gets_a_scrubbed_environment_and_a_fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SECRET_TOKEN", "hunter2")
    with tempfile.TemporaryDirectory() as scratch:
        student = proxy("""
            def env():
                return sorted(os.environ)

            def home():
                return [os.getcwd() == os.environ["HOME"], os.listdir(".")]
        """, FAST, Path(scratch))
        try:
            names = student.call("env")
            assert "AUTOGRADER_SECRET_TOKEN" not in names and "HOME" in names
            assert student.call("home") == [True, []]
        finally:
            student.close()


def test_files_and_disk_are_limited(tmp_path):
    limits = replace(FAST, file_bytes=1 << 20, disk_bytes=8 << 20)
    student = proxy("""
        def big_file():
            with open("big", "wb") as f:
                f.write(b"x" * (2 << 20))

        def many_files():
            for i in range(100):
                with open(f"part{i}", "wb") as f:
                    f.write(b"x" * (512 << 10))
    """, limits, tmp_path)
    try:
        with pytest.raises(StudentError, match=r"big_file raised OSError: \[Errno 27\] File too "):
            student.call("big_file")
        if student.isolation["files"].startswith("private root"):
            with pytest.raises(StudentError, match=r"No space left on device"):
                student.call("many_files")
    finally:
        student.close()
