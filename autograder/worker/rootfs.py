"""The worker's private view of the file system: what Python needs, read-only, and nothing else.

Built in a new mount namespace before any student code runs, the way container tools such as
bubblewrap build a root: an empty ``tmpfs`` becomes the new ``/``, and only these appear in it:

- the system's programs and libraries (``/usr``, ``/lib*``, ``/bin``) and a few files of ``/etc``,
- the Python installation (prefix, base prefix), the kit's package and the student package
  (``coursekit``, which the notebooks import), read-only,
- the kit's hidden suites and masters covered by an empty read-only file system,
- ``/dev/null`` and friends, a fresh ``/proc`` (only the worker's own processes),
- a fresh ``/tmp`` and the worker's home: small ``tmpfs`` file systems, the only writable places,
- whatever the grader lends read-only (the MNIST folder without the test labels).

Everything else -- the repository with its solutions, other submissions, the grader's output,
the MNIST cache with the test labels, the users' home folders -- simply does not exist there.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from autograder.worker import syscalls as sc

SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group",
       "nsswitch.conf", "hosts", "host.conf", "mime.types", "os-release", "fonts")
DEVICES = ("null", "zero", "full", "random", "urandom")
_STATVFS_FLAGS = ((os.ST_NOSUID, sc.MS_NOSUID), (os.ST_NODEV, sc.MS_NODEV),
                  (os.ST_NOEXEC, sc.MS_NOEXEC), (os.ST_NOATIME, sc.MS_NOATIME),
                  (os.ST_NODIRATIME, sc.MS_NODIRATIME), (os.ST_RELATIME, sc.MS_RELATIME))


@dataclass
class View:
    """What the worker sees: ``readable`` paths (read-only), minus ``hidden`` ones."""

    home: str
    uid: int
    gid: int
    disk_bytes: int
    readable: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    fresh_proc: bool = True


def python_paths(*package_dirs: str) -> list[str]:
    """The Python installation and the kit's packages: what the worker needs to run."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(sys.executable), *package_dirs}
    return sorted(p for p in paths if p)


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


class _Root:
    def __init__(self, root: str):
        self.root = root
        self.bound: list[str] = []

    def at(self, path: str) -> str:
        return self.root + path

    def _mirror_links(self, path: str, depth: int = 0) -> None:
        """Recreate the symlinks on the way to ``path`` (``/lib64 -> usr/lib64``) in the root."""
        parts = path.strip("/").split("/")
        current = ""
        for i, part in enumerate(parts):
            current += "/" + part
            if os.path.islink(current):
                link = self.at(current)
                if not os.path.lexists(link):
                    os.makedirs(os.path.dirname(link), exist_ok=True)
                    os.symlink(os.readlink(current), link)
                rest = os.path.join(os.path.realpath(current), *parts[i + 1:])
                if depth < 16:
                    self._mirror_links(rest, depth + 1)
                return

    def bind(self, source: str, writable: bool = False) -> None:
        """Show host path ``source`` at the same path, read-only unless ``writable``."""
        if not os.path.lexists(source):
            return
        self._mirror_links(source)
        real = os.path.realpath(source)
        if not os.path.exists(real) or any(_under(real, b) for b in self.bound):
            return
        target = self.at(real)
        if os.path.isdir(real):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
        sc.mount(real, target, None, sc.MS_BIND | sc.MS_REC)
        flags = sc.MS_BIND | sc.MS_REMOUNT | sc.MS_NOSUID | sc.MS_NODEV
        flags |= 0 if writable else sc.MS_RDONLY
        existing = os.statvfs(target).f_flag  # keep flags the kernel locks (user namespaces)
        for st_flag, ms_flag in _STATVFS_FLAGS:
            flags |= ms_flag if existing & st_flag else 0
        sc.mount(None, target, None, flags)
        self.bound.append(real)

    def hide(self, path: str) -> None:
        """Cover ``path`` with an empty read-only file system (a directory) or /dev/null."""
        real = os.path.realpath(path)
        if not os.path.exists(real) or not any(_under(real, b) for b in self.bound):
            return
        target = self.at(real)
        if os.path.isdir(real):
            sc.mount("tmpfs", target, "tmpfs",
                     sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, "size=4k,mode=0555")
        else:
            sc.mount(self.at("/dev/null"), target, None, sc.MS_BIND)

    def tmpfs(self, path: str, options: str) -> None:
        os.makedirs(self.at(path), exist_ok=True)
        sc.mount("tmpfs", self.at(path), "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, options)

    def devices(self) -> None:
        os.makedirs(self.at("/dev"), exist_ok=True)
        for name in DEVICES:
            open(self.at(f"/dev/{name}"), "a").close()
            sc.mount(f"/dev/{name}", self.at(f"/dev/{name}"), None, sc.MS_BIND)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, self.at(f"/dev/{name}"))

    def enter(self) -> str:
        """Make the root ``/``; returns how (``pivot_root`` detaches the old root entirely)."""
        os.chdir(self.root)
        try:
            sc.pivot_root(".", ".")
            sc.umount(".", sc.MNT_DETACH)
            how = "pivot_root"
        except OSError:
            os.chroot(".")
            how = "chroot"
        os.chdir("/")
        sc.mount(None, "/", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_NOSUID
                 | sc.MS_NODEV)
        return how


def build(view: View, stage: str) -> str:
    """Enter a new mount namespace whose root shows only ``view``; ``stage`` is an empty
    directory to assemble it in. Returns a one-line description. Raises ``OSError`` if the
    system refuses a step (then the caller carries on without a private root)."""
    os.umask(0o022)
    sc.unshare(sc.CLONE_NEWNS)
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)  # nothing we mount leaks out
    sc.mount("tmpfs", stage, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV, "size=1m,mode=0755")
    root = _Root(stage)
    lent_in_tmp = [p for p in view.readable if _under(os.path.realpath(p), "/tmp")]
    for path in sorted({*SYSTEM, *view.readable} - set(lent_in_tmp), key=os.path.realpath):
        root.bind(path)
    for name in ETC:
        root.bind(f"/etc/{name}")
    root.devices()
    size = view.disk_bytes
    root.tmpfs("/dev/shm", f"size={min(size, 64 << 20)},mode=1777")
    root.tmpfs("/tmp", f"size={size},mode=1777")
    root.tmpfs(view.home, f"size={size},mode=0700,uid={view.uid},gid={view.gid}")
    for path in lent_in_tmp:  # e.g. the MNIST folder, or a kit checked out under /tmp
        root.bind(path)
    for path in view.hidden:  # last, so that nothing bound afterwards can uncover them
        root.hide(path)
    os.makedirs(root.at("/proc"), exist_ok=True)
    proc = "no /proc"
    if view.fresh_proc:
        try:
            sc.mount("proc", root.at("/proc"), "proc", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
            proc = "its own /proc"
        except OSError:
            pass
    how = root.enter()
    return (f"private root ({how}): Python and the kit read-only, suites and masters hidden, "
            f"{proc}, writable home and /tmp of {size >> 20} MiB each")
