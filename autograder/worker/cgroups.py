"""A worker's share of the machine: one control group per worker, for all of its processes.

Rlimits bound each process; a submission that starts hundreds of busy processes stays within
them and takes the machine from every other worker of a batch (measured before: a reference
graded beside such a swarm took 180 times as long). A control group bounds them together:

- ``cpu``: the group weighs as much as one busy process against the rest of the machine, and
  gets at most ``Limits.cpu_cores`` cores however many processes it runs (``cpu.max``, or v1's
  ``cpu.cfs_quota_us``);
- ``pids``: at most ``Limits.processes`` processes and threads at once (``pids.max``);
- and when the worker ends, every process in the group is killed, wherever it went.

The launcher makes the group (as root: ``cgroup2`` at the root of its hierarchy, or the v1
``cpu`` and ``pids`` hierarchies beside its own cgroup), moves itself into it before it starts
anything, so that nothing it starts can be outside, and leaves, kills and removes it at the
end. Where the grader cannot make one (not root, a read-only ``/sys/fs/cgroup`` in a
container, no ``cpu`` or ``pids`` controller), :func:`create` raises ``OSError`` and the
sandbox notes it: the process limit is then per uid only, and the CPU is not bounded.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "autograder-"
PERIOD_US = 100_000
STALE_SECONDS = 60.0  # an empty group this old was left by a launcher that was killed


@dataclass
class Group:
    """One worker's cgroup: a folder per hierarchy (v2: one; v1: ``cpu`` and ``pids``)."""

    version: int
    dirs: list[Path]
    origins: list[Path] = field(default_factory=list)  # where the launcher was, per hierarchy
    summary: str = ""

    def join(self) -> None:
        """Move this process (and so all it will start) into the group."""
        for folder in self.dirs:
            (folder / "cgroup.procs").write_text("0")

    def leave(self) -> None:
        """Move this process back where it came from (the group can then be emptied)."""
        for origin in self.origins:
            with contextlib.suppress(OSError):
                (origin / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        found: set[int] = set()
        for folder in self.dirs:
            with contextlib.suppress(OSError, ValueError):
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        found.discard(os.getpid())
        return sorted(found)

    def kill(self, rounds: int = 2000) -> None:
        """Kill every process in the group, until none is left (a process forking meanwhile
        only adds to the next round)."""
        kill_file = self.dirs[0] / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        for _ in range(rounds):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def remove(self) -> None:
        """Leave, kill what is left, and remove the group's folders."""
        self.leave()
        self.kill()
        for folder in self.dirs:
            for _ in range(100):  # a killed process leaves its group a moment after it died
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, options) of the cgroup file systems."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
                found.append((parts[1].replace("\\040", " "), parts[2], set(parts[3].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup per v1 controller (and ``""`` for v2), from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def _within(mount: str, path: str) -> Path:
    """The folder of cgroup ``path`` in the hierarchy mounted at ``mount`` (in a container the
    mount may show the container's own cgroup as its root)."""
    candidate = Path(mount) / path.lstrip("/")
    return candidate if candidate.is_dir() else Path(mount)


def remove_stale(parent: Path) -> None:
    """Remove the empty groups of launchers that were killed before they could."""
    with contextlib.suppress(OSError):
        for folder in parent.iterdir():
            if not folder.name.startswith(PREFIX) or not folder.is_dir():
                continue
            with contextlib.suppress(OSError):
                if (time.time() - folder.stat().st_mtime > STALE_SECONDS
                        and not (folder / "cgroup.procs").read_text().strip()):
                    folder.rmdir()


def _v2(mount: str, name: str, cores: float, tasks: int) -> Group:
    root = Path(mount)
    available = set((root / "cgroup.controllers").read_text().split())
    if not {"cpu", "pids"} <= available:
        raise OSError(95, f"cgroup2 at {mount} has no cpu or pids controller")
    enabled = set((root / "cgroup.subtree_control").read_text().split())
    if not {"cpu", "pids"} <= enabled:
        (root / "cgroup.subtree_control").write_text("+cpu +pids")
    remove_stale(root)
    folder = root / name
    folder.mkdir(mode=0o755)
    try:
        if cores > 0:
            (folder / "cpu.max").write_text(f"{int(cores * PERIOD_US)} {PERIOD_US}")
        (folder / "pids.max").write_text(str(tasks))
    except OSError:
        folder.rmdir()
        raise
    origin = _within(mount, _own_paths().get("", "/"))
    return Group(2, [folder], [origin], _describe(2, cores, tasks))


def _v1(mounts: dict[str, str], name: str, cores: float, tasks: int) -> Group:
    own = _own_paths()
    made: list[Path] = []
    origins = []
    try:
        for controller in ("cpu", "pids"):
            parent = _within(mounts[controller], own.get(controller, "/"))
            origins.append(parent)
            remove_stale(parent)
            folder = parent / name
            folder.mkdir(mode=0o755)
            made.append(folder)
        cpu, pids = made
        if cores > 0:
            (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(int(cores * PERIOD_US)))
        (pids / "pids.max").write_text(str(tasks))
    except BaseException:
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    return Group(1, made, origins, _describe(1, cores, tasks))


def _describe(version: int, cores: float, tasks: int) -> str:
    cpu = f"at most {cores:g} core{'s' if cores != 1 else ''}" if cores > 0 else "a fair share"
    return f"cgroup v{version}: {cpu} of CPU, {tasks} tasks, all killed at the end"


def create(*, cores: float, tasks: int) -> Group:
    """A new group for one worker, with ``cores`` of CPU at most (0: a fair share only) and
    ``tasks`` processes and threads; raises ``OSError`` where none can be made."""
    name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    refused: OSError | None = None
    v1 = {}
    for point, kind, options in _mounts():
        if kind == "cgroup2" and (Path(point) / "cgroup.controllers").is_file():
            try:
                return _v2(point, name, cores, tasks)
            except OSError as exc:
                refused = exc
        for controller in ("cpu", "pids"):
            if kind == "cgroup" and controller in options:
                v1.setdefault(controller, point)
    if {"cpu", "pids"} <= set(v1):
        return _v1(v1, name, cores, tasks)
    raise refused or OSError(95, "no cgroup hierarchy has the cpu and pids controllers")
