"""Containment wherever the kit runs (issue 23): the sandbox's floor, a worker's share of the
machine, and nothing left behind by one worker for the next.

Like ``tests/test_attacks.py``, this file runs again in ``tests/test_confined.py``: with the
namespaces left out (``AUTOGRADER_NAMESPACES=0``: the worker's own uid, Landlock and seccomp
hold then) and as root without ``CAP_SYS_ADMIN`` (namespaces through a user namespace).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from util import ROOT, eventually

from autograder.grading.proxy import SandboxRefused, StudentError, StudentProxy
from autograder.grading.run import grade
from autograder.worker import cgroups, floor, steps, uids
from autograder.worker.limits import Limits
from coursekit.data import mnist

A = "mlp_mnist"
FAST = Limits(call_timeout=20, load_timeout=60)
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="a uid of the worker's own needs root")
NO_NAMESPACES = os.environ.get("AUTOGRADER_NAMESPACES") == "0"
BIN = Path(sys.executable).parent
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def student(tmp_path: Path, source: str, limits: Limits = FAST, name: str = "s") -> StudentProxy:
    scratch = tmp_path / name
    scratch.mkdir()
    return StudentProxy(assignment=A, cells=[{"index": 0, "source": textwrap.dedent(source)}],
                        limits=limits, scratch=scratch)


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "status").read_text().split("Uid:")[1].split()[0] \
                    == str(uid):
                found.append(int(entry.name))
        except (OSError, IndexError):
            pass
    return found


# --- the floor ---------------------------------------------------------------------------------

def test_below_the_floor_nothing_is_graded(tmp_path):
    """Without its sandbox the worker would run as root (as root here), or could read the
    hidden suite (as a normal user, who can): the grade is refused, not given as 0."""
    path = tmp_path / "reference.ipynb"
    path.write_bytes((ROOT / "solutions" / A / f"{A}.ipynb").read_bytes())
    with pytest.raises(SandboxRefused) as refused:
        grade(assignment=A, submission=path, limits=replace(FAST, isolate=False),
              select=["build_model_shape"])
    why = str(refused.value)
    if os.geteuid() == 0:
        assert "would run student code with root's rights: it runs as root" in why
    else:
        assert "the worker could read" in why and "suites" in why


@root_only
def test_the_floor_sees_root_capabilities_and_readable_answers():
    folder = Path(tempfile.mkdtemp(prefix="autograder-floor-"))  # one every user can reach
    try:
        folder.chmod(0o755)
        answer = folder / "answer.txt"
        answer.write_text("42")
        answer.chmod(0o644)
        assert "runs as root" in floor.breach([])
        assert as_another_uid(lambda: floor.breach([])) == ""
        assert as_another_uid(lambda: floor.breach([str(folder / "nothing")])) == ""
        assert as_another_uid(lambda: floor.breach([str(answer)])).startswith(
            f"the worker could read {answer}")
        answer.chmod(0o600)
        assert as_another_uid(lambda: floor.breach([str(answer), str(folder)])) == ""
    finally:
        shutil.rmtree(folder)


@root_only
def test_autograder_data_leaves_no_answer_readable_by_a_workers_uid(tmp_path):
    """What `make setup` and the Gradescope package's setup.sh run: afterwards a process of
    another uid reads none of the kit's answers, where no namespace or Landlock would hide them."""
    folder = Path(tempfile.mkdtemp(prefix="autograder-data-"))  # one every user can reach
    try:
        folder.chmod(0o755)
        data, secret = folder / "mnist", folder / "secret"
        data.mkdir(mode=0o755)
        for name in mnist.SHA256:
            try:
                os.link(mnist.cache_dir() / name, data / name)
            except OSError:
                shutil.copy(mnist.cache_dir() / name, data / name)
        (data / mnist.TEST_LABELS).chmod(0o644)
        secret.write_text("course secret\n")
        secret.chmod(0o644)
        answers = floor.answers([str(data), str(data / mnist.TEST_LABELS), str(secret)],
                                outside=False)
        assert as_another_uid(lambda: floor.breach(answers)).startswith("the worker could read")
        env = {**os.environ, "AUTOGRADER_MNIST_DIR": str(data), "AUTOGRADER_MNIST_SOURCES": "",
               "AUTOGRADER_SECRET_FILE": str(secret)}
        done = subprocess.run([str(BIN / "autograder"), "data"], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert as_another_uid(lambda: floor.breach(answers)) == ""
        for path in (data, ROOT / "autograder" / "suites", ROOT / "autograder" / "masters"):
            assert path.stat().st_mode & 0o077 == 0, path
        assert (data / mnist.TEST_LABELS).stat().st_mode & 0o077 == 0
        assert secret.stat().st_mode & 0o077 == 0
        assert (data / mnist.TRAIN_IMAGES).stat().st_mode & 0o004  # lent to workers by link
    finally:
        shutil.rmtree(folder)


def as_another_uid(check) -> str:
    """What ``check()`` returns in a child running as a uid no one uses (no root)."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read)
            os.setgroups([])
            os.setresgid(uids.BASE - 1, uids.BASE - 1, uids.BASE - 1)
            os.setresuid(uids.BASE - 1, uids.BASE - 1, uids.BASE - 1)
            os.write(write, check().encode())
        finally:
            os._exit(0)
    os.close(write)
    said = b""
    while chunk := os.read(read, 65536):
        said += chunk
    os.close(read)
    os.waitpid(child, 0)
    return said.decode()


# --- a worker's share of the machine ------------------------------------------------------------

SWARM = """
    import os, time

    def swarm(count):
        for _ in range(count):
            if os.fork() == 0:
                while True:
                    pass
        return count
"""


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


@root_only
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no share to exceed")
def test_a_swarm_of_busy_processes_gets_one_core_at_most(tmp_path):
    try:  # where this process can make a cgroup, so can the launcher
        cgroups.create(cores=0, tasks=8).remove()
    except OSError as exc:
        pytest.skip(f"no cgroup can be made here: {exc}")
    swarm = student(tmp_path, SWARM)
    try:
        swarm.call("swarm", 8 * (os.cpu_count() or 1))
        assert swarm.isolation["resources"].startswith("cgroup v")
        worker_uid = int(swarm.isolation["user"].split()[1].rstrip(","))
        assert eventually(lambda: len(processes_of(worker_uid)) > 8)
        before, start = cpu_seconds(processes_of(worker_uid)), time.monotonic()
        time.sleep(3)
        used = cpu_seconds(processes_of(worker_uid)) - before
        cores = used / (time.monotonic() - start)
        assert cores < 1.25, f"the swarm used {cores:.2f} cores"  # its quota: 1 core
    finally:
        swarm.close()
    assert eventually(lambda: processes_of(worker_uid) == [])


def test_without_a_cgroup_the_process_limit_is_stricter(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_CGROUPS", "0")  # as where /sys/fs/cgroup is read-only
    forker = student(tmp_path, """
        import os, time

        def fork_many(count):
            children = []
            try:
                for _ in range(count):
                    child = os.fork()
                    if child == 0:
                        time.sleep(60)
                        os._exit(0)
                    children.append(child)
            finally:
                for child in children:
                    os.kill(child, 9)
            return len(children)
    """)
    allowed = steps.fallback_processes(FAST)
    assert allowed < FAST.processes
    try:
        with pytest.raises(StudentError, match=r"a submission may run at most (\d+) processes") \
                as refused:
            forker.call("fork_many", FAST.processes)
        report = forker.isolation
    finally:
        forker.close()
    assert "no cgroup: turned off (AUTOGRADER_CGROUPS=0)" in report["notes"]
    assert report["resources"] == f"rlimits only: {allowed} processes per uid, CPU not bounded"
    if os.geteuid() == 0:  # a uid of its own: no other process counts
        assert f"at most {allowed} processes" in str(refused.value)


def test_a_submission_is_stopped_at_its_wall_clock_budget(tmp_path):
    """Each call stays under its time limit; the submission as a whole does not."""
    limits = replace(FAST, call_timeout=5, wall_seconds=12)
    napper = student(tmp_path, """
        import os, time

        if os.fork() == 0:
            os.setsid()
            time.sleep(3600)

        def nap():
            time.sleep(3)
            return os.getuid()
    """, limits)
    start = time.monotonic()
    try:
        with pytest.raises(StudentError, match=r"used up its 12 s of wall-clock time") as spent:
            for _ in range(10):
                napper.call("nap")
        assert spent.value.kind == "timeout"
        assert time.monotonic() - start < 12 + 6
        again = time.monotonic()
        with pytest.raises(StudentError, match="used up its 12 s"):
            napper.call("nap")
        assert time.monotonic() - again < 1  # no new worker: at once
        assert not napper.workers[-1].alive
    finally:
        napper.close()


# --- nothing outlives a worker -------------------------------------------------------------------

KEYS = """
    import ctypes, os

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ADD_KEY = {"x86_64": 248, "aarch64": 217}[os.uname().machine]

    def add_keys():
        done = []
        for keyring in (-4, -5, -3, -2):  # user, user session, session, process
            got = libc.syscall(ADD_KEY, b"user", b"left-for-the-next", b"secret", 6, keyring)
            done.append(got if got >= 0 else -ctypes.get_errno())
        return done
"""


def test_a_worker_can_add_no_key_for_the_next(tmp_path):
    keyer = student(tmp_path, KEYS)
    try:
        assert keyer.call("add_keys") == [-38] * 4  # ENOSYS: the seccomp filter
    finally:
        keyer.close()


@root_only
def test_a_uid_with_keys_or_processes_is_not_handed_out_and_its_keys_are_cleared(tmp_path,
                                                                                   monkeypatch):
    monkeypatch.setattr(uids, "STATE_DIRS", (tmp_path / "state",))
    first = uids.allocate()
    keyed, running = first + 1, first + 2
    ready_r, ready_w = os.pipe()
    sleeper = os.fork()
    if sleeper == 0:  # a process of `running`, and a key left in the user keyring of `keyed`
        os.close(ready_r)
        os.setgroups([])
        os.setresgid(keyed, keyed, 0)
        os.setresuid(keyed, keyed, 0)
        libc.syscall(248, b"user", b"left", b"secret", 6, ctypes.c_long(-4))
        os.setresuid(0, 0, 0)
        os.setresuid(running, running, running)
        os.write(ready_w, b".")
        time.sleep(60)
        os._exit(0)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"."
        assert {keyed, running} <= uids.taken()
        assert uids.allocate() > running
    finally:
        os.kill(sleeper, signal.SIGKILL)
        os.waitpid(sleeper, 0)
    uids.clear(keyed, files=False)
    found = []
    child = os.fork()
    if child == 0:
        os.setresuid(keyed, keyed, keyed)
        os._exit(0 if libc.syscall(250, 10, ctypes.c_long(-4), b"user", b"left", 0) < 0 else 1)
    found.append(os.waitpid(child, 0)[1])
    assert found == [0]  # searched for, not found: cleared


FORGER = """
    import os, signal, struct
    from autograder.worker import harness

    OPEN = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))

    def forge():
        for fd in sorted(int(fd) for fd in os.listdir("/proc/self/fd")):
            if fd > 2 and fd not in harness.CHANNEL:
                try:
                    os.write(fd, struct.pack("i", 0) * 4)
                except OSError:
                    pass
        os.kill(os.getpid(), signal.SIGSEGV)

    def descriptors():
        return [OPEN, list(harness.CHANNEL)]
"""


def test_a_worker_holds_only_its_own_pipes_and_cannot_forge_its_exit(tmp_path):
    forger = student(tmp_path, FORGER)
    try:
        opened, channel = forger.call("descriptors")
        assert len(set(opened) - {0, 1, 2, *channel}) <= 1, opened  # the listing's own
        with pytest.raises(StudentError, match="segmentation fault"):
            forger.call("forge")
    finally:
        forger.close()


def test_every_worker_has_a_uid_of_its_own(tmp_path):
    found = []
    for k in range(2):
        one = student(tmp_path, "import os\ndef uid():\n    return os.getuid()\n", name=f"w{k}")
        try:
            found.append(one.call("uid"))
        finally:
            one.close()
    if os.geteuid() == 0:
        assert found[0] != found[1] and min(found) >= uids.BASE
    else:
        assert found == [os.getuid()] * 2


# --- what each grade says about its isolation --------------------------------------------------


def python_readable_by_others() -> bool:
    from autograder.worker import rootfs, steps

    needed = [sys.executable, *rootfs.python_paths(steps.PACKAGE_DIR, steps.STUDENT_DIR)]
    return all(steps._usable_by_others(p) for p in needed)


@pytest.mark.slow
def test_grade_batch_and_gradescope_say_when_isolation_is_weaker_or_refuse(tmp_path):
    """Without namespaces a grade runs under weaker isolation and each command says so in one
    line; where the worker could not even get a uid of its own (as root, with a Python other
    users cannot read), nothing is graded and each command says why."""
    reference = (ROOT / "solutions" / "losses" / "losses.ipynb").read_bytes()
    (tmp_path / "class" / "ada").mkdir(parents=True)
    (tmp_path / "class" / "ada" / "losses.ipynb").write_bytes(reference)
    (tmp_path / "gs" / "submission").mkdir(parents=True)
    (tmp_path / "gs" / "submission" / "losses.ipynb").write_bytes(reference)
    env = {**os.environ, "AUTOGRADER_NAMESPACES": "0"}
    commands = {
        "grade": ["grade", "losses", str(tmp_path / "class" / "ada" / "losses.ipynb"),
                  "--json", str(tmp_path / "graded.json")],
        "batch": ["batch", "losses", str(tmp_path / "class"), "--out", str(tmp_path / "grades"),
                  "--workers", "1"],
        "gradescope": ["gradescope-run", "losses", "--root", str(tmp_path / "gs")],
    }
    done = {name: subprocess.run([str(BIN / "autograder"), *arguments], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=600)
            for name, arguments in commands.items()}
    said = {name: run.stdout + run.stderr for name, run in done.items()}
    gradescope = json.loads((tmp_path / "gs" / "results" / "results.json").read_text())
    if os.geteuid() == 0 and not python_readable_by_others():
        assert done["grade"].returncode == 3, said["grade"]
        assert said["grade"].count("\n") == 1 and "refused to run the submission" in said["grade"]
        assert not (tmp_path / "graded.json").exists()
        assert done["batch"].returncode == 1 and "1 failed" in said["batch"]
        assert gradescope["score"] == 0 and "refused to run" in gradescope["output"]
        return
    graded = json.loads((tmp_path / "graded.json").read_text())
    assert graded["score"] == 20 and gradescope["score"] == 20, said
    for record in (graded, gradescope):
        assert record["extra_data"]["isolation"]["level"] == "weaker than full"
        assert ("no namespaces: turned off (AUTOGRADER_NAMESPACES=0)"
                in record["extra_data"]["isolation"]["notes"])
    for name, text in said.items():
        lines = [line for line in text.splitlines() if "isolation weaker than full (" in line]
        assert len(lines) == 1, (name, text)
        assert "no namespaces: turned off (AUTOGRADER_NAMESPACES=0)" in lines[0]
    assert "1 of the grades ran with isolation weaker than full (" in said["batch"]
    assert "autograder: warning: isolation weaker than full (" in said["gradescope"]


def test_a_grade_records_full_isolation_where_everything_held(tmp_path):
    result = grade(assignment=A, submission=ROOT / "solutions" / A / f"{A}.ipynb",
                   limits=FAST, select=["build_model_shape"])
    recorded = result.to_gradescope()["extra_data"]["isolation"]
    assert recorded["level"] == ("full" if not recorded["notes"] else "weaker than full")
    if os.geteuid() == 0 and not NO_NAMESPACES:  # root: namespaces (or a user namespace), cgroup
        assert recorded == {"level": "full", "summary": recorded["summary"], "notes": []}
        assert "pid namespace" in recorded["summary"] and "cgroup" in recorded["summary"]
