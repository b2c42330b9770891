"""Containment wherever the kit runs (issue 23): the sandbox's floor, a worker's share of the
machine, and nothing left behind by one worker for the next.

Like ``tests/test_attacks.py``, this file runs again in ``tests/test_confined.py``: with the
namespaces left out (``AUTOGRADER_NAMESPACES=0``: the worker's own uid, Landlock and seccomp
hold then) and as root without ``CAP_SYS_ADMIN`` (namespaces through a user namespace).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from util import ROOT

from autograder.grading.proxy import SandboxRefused, StudentError, StudentProxy
from autograder.grading.run import grade
from autograder.worker import cgroups, floor, uids
from autograder.worker.limits import Limits

A = "mlp_mnist"
FAST = Limits(call_timeout=20, load_timeout=60)
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="a uid of the worker's own needs root")
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def student(tmp_path: Path, source: str, limits: Limits = FAST, name: str = "s") -> StudentProxy:
    scratch = tmp_path / name
    scratch.mkdir()
    return StudentProxy(assignment=A, cells=[{"index": 0, "source": textwrap.dedent(source)}],
                        limits=limits, scratch=scratch)


def eventually(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


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
    folder.chmod(0o755)
    answer = folder / "answer.txt"
    answer.write_text("42")
    answer.chmod(0o644)
    assert "runs as root" in floor.breach([])
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # as a worker's uid: no root, but an answer anyone may read
        os.close(read)
        os.setgroups([])
        os.setresgid(uids.BASE - 1, uids.BASE - 1, uids.BASE - 1)
        os.setresuid(uids.BASE - 1, uids.BASE - 1, uids.BASE - 1)
        seen = [floor.breach([]), floor.breach([str(answer)])]
        answer_gone = floor.breach([str(folder / "nothing")])
        os.write(write, "\n".join([*seen, answer_gone, "."]).encode())
        os._exit(0)
    os.close(write)
    said = os.read(read, 65536).decode().split("\n")
    os.waitpid(child, 0)
    shutil.rmtree(folder)
    assert said[0] == "" and said[2] == ""
    assert said[1].startswith(f"the worker could read {answer}")


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
