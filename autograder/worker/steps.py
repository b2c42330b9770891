"""The sandbox's steps: each defence attempted, recorded, and reported; a refusal is a note.

:class:`Setup` is the launcher's state (``sandbox.launch`` calls its steps in order). Each step
is tried where the system may refuse it, and what holds is said in the report the grader reads
before any student code runs (``processes``, ``network``, ``files``, ``user``, ``resources``,
``syscalls``, ``notes``: a grade whose report has notes ran under weaker isolation than full).
Whatever was refused, ``floor.breach`` decides last whether the submission may run at all.

Namespaces come first, where the system allows them: as root directly, as root without
``CAP_SYS_ADMIN`` (Docker's default capabilities) through a user namespace that maps root and
the worker's uid only, and as a normal user through a user namespace of its own uid. Where
none can be made (Docker's default seccomp profile refuses ``unshare``; or
``AUTOGRADER_NAMESPACES=0``), the worker still gets its own uid (when the grader is root),
Landlock for files and TCP, seccomp for every other socket, and the launcher's sweep.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from autograder.worker import cgroups, floor, landlock, rootfs, seccomp, uids
from autograder.worker import syscalls as sc
from autograder.worker.limits import Limits, apply

PACKAGE_DIR = str(floor.PACKAGE_DIR)
# The student package the notebooks import (input_data, needs), wherever it is installed.
STUDENT_DIR = str(Path(importlib.util.find_spec("coursekit").origin or PACKAGE_DIR).parent)
READ_ALSO = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys/devices/system/cpu")
DEVICES = tuple(f"/dev/{name}" for name in rootfs.DEVICES)


def fallback_processes(limits: Limits) -> int:
    """The process limit without a cgroup: stricter, since a uid's count is all that bounds a
    swarm then (enough for TensorFlow's thread pools on the machine's cores)."""
    return min(limits.processes, max(64, 8 * (os.cpu_count() or 1)))


class Setup:
    """The launcher's state: what it achieved so far, and why the rest could not be done."""

    def __init__(self, config: dict[str, Any], forked: bool = False):
        self.config = config
        self.forked = forked
        self.limits = Limits.from_dict(config["limits"])
        self.root = os.geteuid() == 0
        self.uid, self.gid = os.getuid(), os.getgid()
        if self.root:  # a uid of its own, even without isolation: the floor wants one
            self.uid = self.gid = uids.allocate()
        # RLIMIT_NPROC counts all processes of a uid: a worker sharing the grader's adds its own
        self.nproc_base = 0 if self.root else count_tasks(self.uid)
        self.namespaces: set[str] = set()  # those made: user, pid, net, ipc, mount
        self.group: cgroups.Group | None = None
        self.private_root = False
        self._hidden: list[str] | None = None
        self.hidden()
        self.report: dict[str, Any] = {"processes": "process group", "network": "shared",
                                       "files": "shared", "user": "the grader's",
                                       "resources": "rlimits", "syscalls": "all",
                                       "notes": []}

    def attempt(self, what: str, step: Any) -> bool:
        """Run one step; on refusal note why and return False."""
        try:
            step()
        except OSError as exc:
            self.report["notes"].append(f"no {what}: {exc.strerror or exc}")
            return False
        return True

    # --- in the launcher ---------------------------------------------------------------------

    def cgroup(self) -> None:
        """The worker's cgroup, joined by the launcher before it starts anything."""
        def make() -> None:
            if not self.config.get("cgroups", True):
                raise OSError(0, "turned off (AUTOGRADER_CGROUPS=0)")
            self.group = cgroups.create(cores=self.limits.cpu_cores,
                                        tasks=self.limits.processes + 2)  # + launcher, init
            self.group.join()

        if self.limits.isolate and self.attempt("cgroup", make):
            self.report["resources"] = self.group.summary
        else:
            self.report["resources"] = (f"rlimits only: {fallback_processes(self.limits)} "
                                        "processes per uid, CPU not bounded")

    def enter_namespaces(self) -> bool:
        """Make the namespaces this system allows; True if there is a new pid namespace."""
        if not self.limits.isolate:
            return False
        if not self.config.get("namespaces", True):
            self.report["notes"].append("no namespaces: turned off (AUTOGRADER_NAMESPACES=0)")
            return False
        try:
            if self.root:
                try:
                    sc.unshare(sc.CLONE_NEWPID)
                except PermissionError:  # no CAP_SYS_ADMIN: through a user namespace
                    self.root_user_namespace()
                    sc.unshare(sc.CLONE_NEWPID)
            else:
                self.user_namespace()
                sc.unshare(sc.CLONE_NEWPID)
        except OSError as exc:
            self.report["notes"].append(f"no namespaces: {exc.strerror or exc}")
            return False
        self.namespaces.add("pid")
        return True

    def user_namespace(self) -> None:
        """As a normal user: a user namespace gives the rights to make the other namespaces."""
        uid, gid = os.getuid(), os.getgid()
        sc.unshare(sc.CLONE_NEWUSER)
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        self.namespaces.add("user")

    def root_user_namespace(self) -> None:
        """As root without ``CAP_SYS_ADMIN``: a user namespace in which root and the worker's
        uid are themselves (nothing else is mapped). Only a process outside may write the map
        of two ids, so a helper forked before ``unshare`` writes it."""
        ready_r, ready_w = os.pipe()
        me = os.getpid()
        helper = os.fork()
        if helper == 0:
            os.close(ready_w)
            code = 1
            with contextlib.suppress(BaseException):
                if os.read(ready_r, 1) == b"u":
                    for kind, id_ in (("uid", self.uid), ("gid", self.gid)):
                        Path(f"/proc/{me}/{kind}_map").write_text(f"0 0 1\n{id_} {id_} 1")
                    code = 0
            os._exit(code)
        os.close(ready_r)
        try:
            sc.unshare(sc.CLONE_NEWUSER)
            os.write(ready_w, b"u")
        finally:
            os.close(ready_w)
            _, status = os.waitpid(helper, 0)
        if status != 0:
            raise PermissionError(1, "the user namespace's uid map could not be written")
        self.namespaces.add("user")

    # --- in init (or, without a pid namespace, in the server before exec) --------------------

    def isolate(self, fresh_proc: bool) -> None:
        if not self.namespaces:
            return
        if self.attempt("network namespace", lambda: sc.unshare(sc.CLONE_NEWNET)):
            self.namespaces.add("net")
            self.report["network"] = "none: its own network namespace, with no interface up"
        if self.attempt("ipc/uts namespaces", lambda: sc.unshare(sc.CLONE_NEWIPC | sc.CLONE_NEWUTS)):
            self.namespaces.add("ipc")
        view = rootfs.View(home=self.config["home"], uid=self.uid, gid=self.gid,
                           disk_bytes=self.limits.disk_bytes, fresh_proc=fresh_proc,
                           readable=[*rootfs.python_paths(PACKAGE_DIR, STUDENT_DIR), *self.config["lend"]],
                           hidden=self.hidden())
        try:
            self.report["files"] = rootfs.build(view, self.config["home"])
            self.private_root = True
            self.namespaces.add("mount")
        except Exception as exc:  # a half-built root is harmless: it is private to this process
            self.report["notes"].append(f"no private root: {exc}")

    def hidden(self) -> list[str]:
        """What the worker must never read (``floor.answers``, the grader's list included),
        found once, before any step could hide it from the launcher itself."""
        if self._hidden is None:
            self._hidden = floor.answers(list(self.config["hide"]))
        return self._hidden

    def drop_privileges(self) -> None:
        """Become the worker's own uid, if the Python installation is usable by it."""
        needed = [sys.executable, *rootfs.python_paths(PACKAGE_DIR, STUDENT_DIR)]
        unusable = [p for p in needed if not _usable_by_others(p)]
        if unusable:
            raise PermissionError(0, f"{unusable[0]} is not readable by other users")
        if not self.private_root:
            os.chown(self.config["home"], self.uid, self.gid)
        os.setgroups([])
        os.setresgid(self.gid, self.gid, self.gid)
        os.setresuid(self.uid, self.uid, self.uid)

    def confine(self) -> None:
        """Landlock for what the namespaces did not isolate, and the seccomp filter."""
        if not self.limits.isolate:
            return
        files, net = not self.private_root, "net" not in self.namespaces
        if files or net:
            read, listable = self.readable() if files else ([], [])

            def restrict() -> None:
                self.report["landlock"] = landlock.restrict(
                    files=files, read=read, listable=["/proc", *listable],
                    write=[self.config["home"]], devices=list(DEVICES), network=net,
                    scope="pid" not in self.namespaces)
            if self.attempt("Landlock", restrict) and files:
                self.report["files"] = ("Landlock: Python, the kit and the lent data read-only "
                                        "(answers left out), its home writable")
        self.attempt("seccomp filter", lambda: self.report.update(syscalls=seccomp.install(
            sockets=net, ipc="ipc" not in self.namespaces)))
        if net and self.report["syscalls"] != "all":
            tcp = ", no TCP (Landlock)" if "TCP" in self.report.get("landlock", "") else ""
            self.report["network"] = f"none: no sockets but Unix ones (seccomp){tcp}"

    def readable(self) -> tuple[list[str], list[str]]:
        """What the worker may read under Landlock: the system, Python and the kit but the
        answers, what is lent, its own /proc entry, a few files about the machine; and the
        folders that hold answers, which it may list (see ``landlock.beneath``)."""
        hidden = [os.path.realpath(p) for p in self.hidden()]
        paths = [*rootfs.SYSTEM, *(f"/etc/{name}" for name in rootfs.ETC), *READ_ALSO,
                 *self.config["lend"], f"/proc/{os.getpid()}"]
        listable: list[str] = []
        for tree in rootfs.python_paths(PACKAGE_DIR, STUDENT_DIR):
            covered, gone_into = landlock.beneath(tree, hidden)
            paths += covered
            listable += gone_into
        return paths, listable

    def keyring(self) -> None:
        """A new session keyring of its own: the launcher's (root's, say) is left behind."""
        sc.keyctl(sc.KEYCTL_JOIN_SESSION_KEYRING, 0)

    def become_worker(self, parent: int) -> None:
        """Drop to the worker's user, confine it, check the floor, report, and run the server."""
        home = self.config["home"]
        if self.root and self.limits.isolate:
            self.attempt("empty capability bounding set", sc.drop_bounding_set)
            if self.attempt("separate user", self.drop_privileges):
                ns = ", in a user namespace" if "user" in self.namespaces else ""
                self.report["user"] = f"uid {self.uid}, no groups (unprivileged){ns}"
            else:
                self.report["user"] = "root"
        elif "user" in self.namespaces:
            self.report["user"] = "the grader's, in a user namespace (no privileges outside)"
        sc.prctl(sc.PR_SET_PDEATHSIG, signal.SIGKILL)  # setuid cleared it
        if os.getppid() != parent:
            os._exit(70)  # the launcher is gone already
        self.attempt("session keyring of its own", self.keyring)
        processes = self.limits.processes if self.group else fallback_processes(self.limits)
        apply(self.limits, nproc_base=self.nproc_base, processes=processes)
        sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
        if "user" in self.namespaces:  # the creator of a user namespace holds all of its rights
            sc.drop_bounding_set()
            sc.clear_capabilities()
        self.confine()
        breach = floor.breach(self.hidden())
        if breach and self.report["notes"]:
            breach += f" (refused: {'; '.join(self.report['notes'])})"
        report = {"error": breach, "refused": True} if breach else self.report
        os.write(self.config["status_fd"], (json.dumps(report) + "\n").encode())
        if breach:
            os._exit(70)
        fd_in, fd_out = self.config["fds"]
        close_all_but({0, 1, 2, fd_in, fd_out})
        self.config["exit_fd"] = None  # closed with the rest
        os.chdir(home)
        if self.forked:  # forked from the warm template: TensorFlow is imported already
            from autograder.worker import server

            server.run(fd_in, fd_out, self.limits.reply_bytes, self.config.get("role", "worker"))
        os.execv(sys.executable, [sys.executable, "-m", "autograder.worker.server", str(fd_in),
                                  str(fd_out), str(self.limits.reply_bytes),
                                  str(self.config.get("role", "worker"))])


def close_all_but(keep: set[int]) -> None:
    """Close every descriptor but ``keep``: the launcher's pipes (its exit status, its wake-up
    pipe) and the template's must not reach the submission."""
    low = 0
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def _usable_by_others(path: str) -> bool:
    """Whether a user with no relation to the files can reach and read ``path``."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & 0o004:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in real.parents)
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
