"""Start the worker inside a sandbox: its own namespaces, an unprivileged user, resource limits.

The grader runs ``python -m autograder.worker.sandbox CONFIG`` (see :func:`command`), or forks
the warm template (``zygote``) to the same end; this *launcher* builds the sandbox step by step
(``steps.Setup``), keeping each step that the system allows and noting each one it refuses,
then runs ``autograder.worker.server`` in it::

    grader --- launcher (outside the namespaces; in the worker's cgroup; waits, and kills the
                 |          tree when told to, or when the worker's wall-clock budget is spent)
                 `-- init (pid 1 of a new pid namespace; builds the private root; reaps)
                       `-- server (pid 2; its own uid; rlimits; seccomp) --- the submission

The steps (see docs/threat-model.md for what each defends against):

- a **cgroup** per worker: a CPU quota and a process count for all its processes together;
- a new **pid namespace**: the submission sees only its own processes, and when ``init`` dies
  the kernel kills every process in it, however it tried to detach; without one, the launcher
  becomes a *child subreaper* and sweeps the orphans it inherits;
- a new **network namespace**: no interfaces but a loopback that is down, so no network;
- a new **mount namespace** with a private root (``rootfs``);
- where there are no namespaces: **Landlock** for files and TCP, **seccomp** for other sockets;
- a separate **uid** per worker when the grader is root (``uids``); a user namespace stands in
  for namespaces when it is not, or when root lacks ``CAP_SYS_ADMIN``;
- **rlimits** (``limits.apply``), ``no_new_privs``, no capability, a fresh session keyring,
  no descriptor but its own pipes; and last the **floor** (``floor``): never root, no answer
  readable, or nothing runs.

The launcher reports what it achieved as one JSON line on the *status* pipe before the
submission runs, and it kills the whole tree when the grader closes the *lifeline* pipe (or
dies). The server's exit status is passed on as the launcher's own.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any

from autograder.worker import syscalls as sc
from autograder.worker import uids
from autograder.worker.limits import Limits
from autograder.worker.steps import Setup

ENV_NAMESPACES = "AUTOGRADER_NAMESPACES"  # 0: no namespaces, as where the system refuses them
ENV_CGROUPS = "AUTOGRADER_CGROUPS"  # 0: no cgroup, as where /sys/fs/cgroup is read-only


def command(*, fds: tuple[int, int], status_fd: int, lifeline_fd: int, home: str,
            lend: list[str], hide: list[str], limits: Limits, role: str = "worker",
            wall_seconds: float | None = None) -> list[str]:
    """The grader's command line to start a sandboxed worker.

    ``fds`` are the request and reply pipe ends the server uses, ``status_fd`` receives the
    launcher's report, ``lifeline_fd`` is the read end of a pipe the grader holds open while the
    worker may live. ``lend`` are host paths shown read-only, ``hide`` paths never shown.
    """
    settings = {"fds": list(fds), "status_fd": status_fd, "lifeline_fd": lifeline_fd,
                **config(home=home, lend=lend, hide=hide, limits=limits, role=role,
                         wall_seconds=wall_seconds)}
    return [sys.executable, "-m", "autograder.worker.sandbox", json.dumps(settings)]


def config(*, home: str, lend: list[str], hide: list[str], limits: Limits,
           role: str = "worker", wall_seconds: float | None = None) -> dict[str, Any]:
    """The launcher's settings but its descriptors (for ``command`` and the warm template).
    ``role``: ``worker`` (a submission's code) or ``evaluator`` (graphs only); the worker is
    killed after ``wall_seconds`` (default: ``limits.wall_seconds``). ``AUTOGRADER_NAMESPACES=0``
    and ``AUTOGRADER_CGROUPS=0`` in the grader's environment leave the namespaces or the cgroup
    out, as a system that refuses them would."""
    return {"home": home, "lend": lend, "hide": hide, "limits": limits.as_dict(), "role": role,
            "namespaces": os.environ.get(ENV_NAMESPACES, "1") != "0",
            "cgroups": os.environ.get(ENV_CGROUPS, "1") != "0",
            "wall_seconds": limits.wall_seconds if wall_seconds is None else wall_seconds}


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def sweep() -> None:
    """Kill and reap every descendant (the launcher is a subreaper: orphans come to it)."""
    for _ in range(1000):
        for pid in children_of(os.getpid()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            return


def run_init(setup: Setup, exit_w: int) -> None:
    """Pid 1 of the namespace: build the root, start the server, reap, report its status."""
    # The kernel gives pid 1 only the signals it has a handler for, from inside its namespace.
    # Python handles SIGINT: without this, a worker of the same uid (no root) could end init.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    setup.isolate(fresh_proc=True)
    server = os.fork()
    if server == 0:
        setup.become_worker(parent=1)
    for fd in (*setup.config["fds"], setup.config["status_fd"], setup.config["lifeline_fd"]):
        os.close(fd)
    close_exit_fd(setup.config)
    while True:
        pid, status = os.wait()
        if pid == server:
            # Here, not in the launcher: a process that made a pid namespace can fork no more
            # once that namespace's init has ended.
            uids.clear(setup.uid, files=False)
            os.write(exit_w, struct.pack("i", status))
            os._exit(0)  # the kernel now kills whatever the submission left in the namespace


def pass_on(status: int) -> None:
    """Exit the way the server did, so the grader can tell a crash from an exit."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 70)


def close_exit_fd(config: dict[str, Any]) -> None:
    """Only the launcher keeps the pipe its exit status goes to: its end says the launcher ended."""
    if config.get("exit_fd") is not None:
        with contextlib.suppress(OSError):
            os.close(config["exit_fd"])
        config["exit_fd"] = None


def main() -> None:
    launch(json.loads(sys.argv[1]))


def launch(config: dict[str, Any], forked: bool = False) -> None:
    """Be the launcher: build the sandbox and run the server in it; never returns.

    ``forked``: this process is a fork of the warm template (``zygote``), which has imported
    TensorFlow and the server already; the server then runs in the forked process instead of
    a fresh interpreter, and the server's exit status also goes to ``config["exit_fd"]``.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        setup = Setup(config, forked=forked)
        setup.cgroup()
        pidns = setup.enter_namespaces()
    except BaseException as exc:  # report, never run student code half-isolated
        refuse(config, repr(exc))
    if pidns:
        setup.report["processes"] = "its own pid namespace: all of them die with the worker"
    else:
        sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
        setup.report["processes"] = "the launcher sweeps all descendants when the worker ends"
    exit_r, exit_w = os.pipe()
    wake_r, wake_w = os.pipe()  # SIGCHLD wakes the wait loop (no threads after CLONE_NEWPID)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    launcher = os.getpid()
    child = os.fork()
    if child == 0:
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (exit_r, wake_r, wake_w):
                os.close(fd)
            sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
            if pidns:
                run_init(setup, exit_w)
            os.close(exit_w)
            setup.isolate(fresh_proc=False)
            setup.become_worker(parent=launcher)
        except BaseException as exc:  # report, never run student code half-isolated
            refuse(config, repr(exc))
    for fd in (*config["fds"], config["status_fd"], exit_w):
        os.close(fd)
    deadline = time.monotonic() + float(config.get("wall_seconds") or setup.limits.wall_seconds)
    status = supervise(child, config["lifeline_fd"], wake_r, deadline)
    if pidns:
        report = os.read(exit_r, 4)
        status = struct.unpack("i", report)[0] if len(report) == 4 else status
    sweep()
    if setup.group is not None:
        setup.group.remove()
    if not pidns:  # else init did (see run_init), and the worker had a /tmp of its own
        uids.clear(setup.uid, files=True)
    if config.get("exit_fd") is not None:
        with contextlib.suppress(OSError):
            os.write(config["exit_fd"], struct.pack("i", status))
    pass_on(status)


def refuse(config: dict[str, Any], why: str) -> None:
    """Say on the status pipe why the sandbox could not be built, and end (never returns)."""
    with contextlib.suppress(OSError):
        os.write(config["status_fd"], (json.dumps({"error": why}) + "\n").encode())
    os._exit(70)


def supervise(child: int, lifeline: int, wake: int, deadline: float) -> int:
    """Wait for ``child``; kill it as soon as the grader closes the lifeline (or dies), or at
    ``deadline`` (a ``time.monotonic()`` value: the worker's wall-clock budget)."""
    watched = [lifeline, wake]
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return status
        left = deadline - time.monotonic()
        if left <= 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
            deadline = float("inf")
            continue
        for fd in select.select(watched, [], [], min(left, 3600.0))[0]:
            if fd == wake:
                os.read(wake, 4096)
            elif not os.read(lifeline, 4096):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
                watched.remove(lifeline)


if __name__ == "__main__":
    main()
