"""Landlock: the files and ports a worker keeps where the system refuses namespaces.

Landlock (Linux 5.13 and later) lets an unprivileged process give up access for good: after
:func:`restrict` it and everything it starts reach only the paths of its rules, in the ways each
rule allows, whatever the files' permissions say; it can no longer mount or unmount anything.
Later versions of its interface (its *ABI*) add more, each used where the kernel offers it:

====  =============================================================================================
ABI   what the worker loses besides
====  =============================================================================================
2     linking or renaming a file into another folder (``REFER``)
3     truncating files outside its rules
4     binding and connecting TCP ports: with no rule for any port, it has no TCP at all
5     ``ioctl`` on devices outside its rules
6     sending signals to, and connecting to abstract Unix sockets of, processes outside its domain
====  =============================================================================================

A rule covers a file or a whole folder; Landlock cannot take a folder out of one it allows, so
:func:`beneath` lists what a tree holds minus the parts the worker must not read (the hidden
suites inside the kit's package). The system calls go through ``ctypes`` (``syscalls``).
"""

from __future__ import annotations

import ctypes
import os
import stat
import struct

from autograder.worker import syscalls as sc

CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

# The file-system rights each ABI knows (a kernel refuses a right it does not know).
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
READ = EXECUTE | READ_FILE | READ_DIR
WRITE = (READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SYM
         | MAKE_FIFO | MAKE_SOCK | REFER | TRUNCATE)
DEVICE = READ_FILE | WRITE_FILE | IOCTL_DEV
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # all a non-folder takes


def abi() -> int:
    """The Landlock ABI this kernel offers; 0 if none (too old, or turned off at boot)."""
    try:
        return sc.syscall(sc.SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                          ctypes.c_uint32(CREATE_RULESET_VERSION), what="landlock")
    except OSError:
        return 0


def fs_rights(version: int) -> int:
    return _FS_BY_ABI[max(k for k in _FS_BY_ABI if k <= version)]


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def beneath(root: str, excluded: list[str]) -> tuple[list[str], list[str]]:
    """Paths that together cover ``root`` but none of ``excluded`` (real paths): ``root`` itself
    if nothing excluded is inside it, else its entries, recursively, around what is; and the
    folders gone into on the way, which must stay listable (Python's import lists a package's
    folder to find its modules; a listing shows names, never what a file holds)."""
    root = os.path.realpath(root)
    inside = [e for e in excluded if _under(e, root)]
    if not inside:
        return [root], []
    if root in inside or not os.path.isdir(root):
        return [], []
    covered, listable = [], [root]
    for entry in sorted(os.listdir(root)):
        more, gone_into = beneath(os.path.join(root, entry), inside)
        covered += more
        listable += gone_into
    return covered, listable


class _Ruleset:
    def __init__(self, version: int, files: bool, network: bool, scope: bool):
        self.version = version
        self.fs = fs_rights(version) if files else 0
        net = NET_BIND_TCP | NET_CONNECT_TCP if network and version >= 4 else 0
        scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if scope and version >= 6 else 0
        attr = ctypes.create_string_buffer(struct.pack("=QQQ", self.fs, net, scoped), 24)
        size = 24 if version >= 6 else 16 if version >= 4 else 8
        self.fd = sc.syscall(sc.SYS_LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(size),
                             ctypes.c_uint32(0), what="landlock_create_ruleset")

    def allow(self, path: str, rights: int) -> bool:
        """A rule for ``path`` (if it exists); False if there is none to make."""
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            folder = stat.S_ISDIR(os.fstat(fd).st_mode)
            rights &= self.fs if folder else self.fs & _FILE_RIGHTS
            rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
            sc.syscall(sc.SYS_LANDLOCK_ADD_RULE, ctypes.c_int(self.fd),
                       ctypes.c_int(RULE_PATH_BENEATH), rule, ctypes.c_uint32(0),
                       what=f"landlock_add_rule {path}")
        finally:
            os.close(fd)
        return True

    def enforce(self) -> None:
        try:
            sc.syscall(sc.SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(self.fd), ctypes.c_uint32(0),
                       what="landlock_restrict_self")
        finally:
            os.close(self.fd)


def restrict(*, files: bool, read: list[str], listable: list[str], write: list[str],
             devices: list[str], network: bool, scope: bool) -> str:
    """Restrict this process and all it starts (``no_new_privs`` must be set). With ``files``:
    to reading ``read``, listing ``listable`` (nothing in it is readable by that), reading and
    writing ``write``, using ``devices``; with ``network``, no TCP bind or connect; with
    ``scope``, no signal or abstract socket out of the domain. Returns what held, in a line;
    raises ``OSError`` if the kernel has no Landlock."""
    version = abi()
    if version < 1:
        raise OSError(38, "Landlock is not available in this kernel")
    if not files and (version < 4 or not network) and (version < 6 or not scope):
        raise OSError(95, f"Landlock ABI {version} restricts no network or signal")
    rules = _Ruleset(version, files, network, scope)
    if files:
        for paths, rights in ((read, READ), (listable, READ_DIR), (write, WRITE),
                              (devices, DEVICE)):
            for path in paths:
                rules.allow(path, rights)
    rules.enforce()
    held = ["files"] if files else []
    if network:
        held.append("TCP" if version >= 4 else "no TCP rules before ABI 4")
    if scope:
        held.append("signals" if version >= 6 else "no signal scoping before ABI 6")
    return f"Landlock ABI {version} ({', '.join(held)})"
