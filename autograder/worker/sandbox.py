"""Start the worker inside a sandbox: its own namespaces, an unprivileged user, resource limits.

The grader runs ``python -m autograder.worker.sandbox CONFIG`` (see :func:`command`); this
*launcher* builds the sandbox step by step, keeping each step that the system allows and noting
each one it refuses, then runs ``autograder.worker.server`` in it::

    grader --- launcher (outside the namespaces; waits, and kills the tree when told to)
                 `-- init (pid 1 of a new pid namespace; builds the private root; reaps)
                       `-- server (pid 2; unprivileged uid; rlimits) --- the submission

The steps (see docs/threat-model.md for what each defends against):

- a new **pid namespace**: the submission sees only its own processes, and when ``init`` dies
  the kernel kills every process in it, however it tried to detach; without one, the launcher
  becomes a *child subreaper* and sweeps the orphans it inherits;
- a new **network namespace**: no interfaces but a loopback that is down, so no network;
- a new **mount namespace** with a private root (``rootfs``);
- a separate **uid** per worker when the grader is root (the files of the kit, other
  submissions and the grader's output are out of reach; the process limit counts only the
  worker's own processes); a user namespace stands in for namespaces when it is not;
- **rlimits** (``limits.apply``) and ``no_new_privs``.

The launcher reports what it achieved as one JSON line on the *status* pipe before the
submission runs, and it kills the whole tree when the grader closes the *lifeline* pipe (or
dies). The server's exit status is passed on as the launcher's own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import resource
import select
import signal
import struct
import sys
from pathlib import Path
from typing import Any

from autograder.worker import rootfs
from autograder.worker import syscalls as sc
from autograder.worker.limits import Limits, apply

UID_BASE = 1_500_000_000  # workers run as UID_BASE + (launcher pid % UID_SPAN): no real user
UID_SPAN = 1 << 22
PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)
# The student package the notebooks import (input_data, needs), wherever it is installed.
STUDENT_DIR = str(Path(importlib.util.find_spec("coursekit").origin or PACKAGE_DIR).parent)
SECRETS = ("suites", "masters")  # folders of the package the worker must never read


def command(*, fds: tuple[int, int], status_fd: int, lifeline_fd: int, home: str,
            lend: list[str], hide: list[str], limits: Limits, role: str = "worker") -> list[str]:
    """The grader's command line to start a sandboxed worker.

    ``fds`` are the request and reply pipe ends the server uses, ``status_fd`` receives the
    launcher's report, ``lifeline_fd`` is the read end of a pipe the grader holds open while the
    worker may live. ``lend`` are host paths shown read-only, ``hide`` paths never shown.
    """
    settings = {"fds": list(fds), "status_fd": status_fd, "lifeline_fd": lifeline_fd,
                **config(home=home, lend=lend, hide=hide, limits=limits, role=role)}
    return [sys.executable, "-m", "autograder.worker.sandbox", json.dumps(settings)]


def config(*, home: str, lend: list[str], hide: list[str], limits: Limits,
           role: str = "worker") -> dict[str, Any]:
    """The launcher's settings but its descriptors (for ``command`` and the warm template).
    ``role``: ``worker`` (a submission's code) or ``evaluator`` (graphs only)."""
    return {"home": home, "lend": lend, "hide": hide, "limits": limits.as_dict(), "role": role}


class Setup:
    """The launcher's state: what it achieved so far, and why the rest could not be done."""

    def __init__(self, config: dict[str, Any], forked: bool = False):
        self.config = config
        self.forked = forked
        self.limits = Limits.from_dict(config["limits"])
        self.root = os.geteuid() == 0
        self.uid, self.gid = os.getuid(), os.getgid()
        if self.root and self.limits.isolate:
            self.uid = self.gid = UID_BASE + os.getpid() % UID_SPAN
        # RLIMIT_NPROC counts all processes of a uid: a worker sharing the grader's adds its own
        self.nproc_base = 0 if self.root else count_tasks(self.uid)
        self.report: dict[str, Any] = {"processes": "process group", "network": "shared",
                                       "files": "shared", "user": "the grader's", "notes": []}

    def attempt(self, what: str, step: Any) -> bool:
        """Run one step; on refusal note why and return False."""
        try:
            step()
        except OSError as exc:
            self.report["notes"].append(f"no {what}: {exc.strerror or exc}")
            return False
        return True

    # --- in the launcher ---------------------------------------------------------------------

    def user_namespace(self) -> None:
        """As a normal user: a user namespace gives the rights to make the other namespaces."""
        uid, gid = os.getuid(), os.getgid()
        sc.unshare(sc.CLONE_NEWUSER)
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        self.report["user"] = "the grader's, in a user namespace (no privileges outside)"

    # --- in init (or, without a pid namespace, in the server before exec) --------------------

    def isolate(self, fresh_proc: bool) -> None:
        if self.attempt("network namespace", lambda: sc.unshare(sc.CLONE_NEWNET)):
            self.report["network"] = "none: its own network namespace, with no interface up"
        self.attempt("ipc/uts namespaces", lambda: sc.unshare(sc.CLONE_NEWIPC | sc.CLONE_NEWUTS))
        view = rootfs.View(home=self.config["home"], uid=self.uid, gid=self.gid,
                           disk_bytes=self.limits.disk_bytes, fresh_proc=fresh_proc,
                           readable=[*rootfs.python_paths(PACKAGE_DIR, STUDENT_DIR), *self.config["lend"]],
                           hidden=self.hidden())
        try:
            self.report["files"] = rootfs.build(view, self.config["home"])
        except Exception as exc:  # a half-built root is harmless: it is private to this process
            self.report["notes"].append(f"no private root: {exc}")

    def hidden(self) -> list[str]:
        return [os.path.join(PACKAGE_DIR, name) for name in SECRETS] + list(self.config["hide"])

    def drop_privileges(self) -> None:
        """Become the worker's own uid, if the Python installation is usable by it."""
        needed = [sys.executable, *rootfs.python_paths(PACKAGE_DIR, STUDENT_DIR)]
        unusable = [p for p in needed if not _usable_by_others(p)]
        if unusable:
            raise PermissionError(0, f"{unusable[0]} is not readable by other users")
        if self.report["files"] == "shared":
            os.chown(self.config["home"], self.uid, self.gid)
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)

    def become_worker(self, parent: int) -> None:
        """Drop to the worker's user, apply the limits, report, and exec the server."""
        home = self.config["home"]
        if self.root and self.uid != 0 and self.attempt("separate user", self.drop_privileges):
            self.report["user"] = f"uid {self.uid}, no groups (unprivileged)"
        elif self.root:
            self.report["user"] = "root"
            self.report["notes"].append("the process limit does not apply to root")
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)  # setuid cleared it
        if os.getppid() != parent:
            os._exit(70)  # the launcher is gone already
        apply(self.limits, nproc_base=self.nproc_base)
        sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
        readable = [p for p in self.hidden() if _exposed(p)]
        if readable:
            self.report["notes"].append("readable by the worker: " + ", ".join(readable))
        os.write(self.config["status_fd"], (json.dumps(self.report) + "\n").encode())
        os.close(self.config["status_fd"])
        os.close(self.config["lifeline_fd"])
        close_exit_fd(self.config)
        os.chdir(home)
        fd_in, fd_out = self.config["fds"]
        if self.forked:  # forked from the warm template: TensorFlow is imported already
            from autograder.worker import server

            server.run(fd_in, fd_out, self.limits.reply_bytes, self.config.get("role", "worker"))
        os.execv(sys.executable, [sys.executable, "-m", "autograder.worker.server", str(fd_in),
                                  str(fd_out), str(self.limits.reply_bytes),
                                  str(self.config.get("role", "worker"))])


def _usable_by_others(path: str) -> bool:
    """Whether a user with no relation to the files can reach and read ``path``."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & 0o004:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in real.parents)
    except OSError:
        return False


def _exposed(path: str) -> bool:
    """Whether the current user can read anything at ``path`` (a covered folder is empty)."""
    try:
        if os.path.isdir(path):
            return bool(os.listdir(path))
        with open(path, "rb") as f:
            return bool(f.read(1))
    except OSError:
        return False


def count_tasks(uid: int) -> int:
    """Processes and threads of ``uid`` (RLIMIT_NPROC counts them all, not just the worker's)."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)]:
            total += int(fields.get("Threads", "1"))
    return total


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
    setup = Setup(config, forked=forked)
    pidns = False
    if setup.limits.isolate:
        if not setup.root:
            setup.attempt("user namespace", setup.user_namespace)
        pidns = setup.attempt("pid namespace", lambda: sc.unshare(sc.CLONE_NEWPID))
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
            os.close(exit_r)
            sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)
            if pidns:
                run_init(setup, exit_w)
            if setup.limits.isolate:
                setup.isolate(fresh_proc=False)
            setup.become_worker(parent=launcher)
        except BaseException as exc:  # report, never run student code half-isolated
            with contextlib.suppress(OSError):
                os.write(config["status_fd"], (json.dumps({"error": repr(exc)}) + "\n").encode())
            os._exit(70)
    for fd in (*config["fds"], config["status_fd"], exit_w):
        os.close(fd)
    status = supervise(child, config["lifeline_fd"], wake_r)
    if pidns:
        report = os.read(exit_r, 4)
        status = struct.unpack("i", report)[0] if len(report) == 4 else status
    else:
        sweep()
    if config.get("exit_fd") is not None:
        with contextlib.suppress(OSError):
            os.write(config["exit_fd"], struct.pack("i", status))
    pass_on(status)


def supervise(child: int, lifeline: int, wake: int) -> int:
    """Wait for ``child``; kill it as soon as the grader closes the lifeline (or dies)."""
    watched = [lifeline, wake]
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return status
        for fd in select.select(watched, [], [])[0]:
            if fd == wake:
                os.read(wake, 4096)
            elif not os.read(lifeline, 4096):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
                watched.remove(lifeline)


if __name__ == "__main__":
    main()
