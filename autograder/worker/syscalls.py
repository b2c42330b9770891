"""The few Linux system calls the sandbox needs and Python 3.10/3.11 lacks, through ``ctypes``.

Each wrapper raises ``OSError`` with the C library's ``errno``, like the functions of ``os``, so
that a caller can fall back when the kernel or its configuration refuses a step.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# <sched.h> / <linux/sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# <sys/mount.h>
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MNT_DETACH = 0x2

# <sys/prctl.h>
PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2

# <linux/keyctl.h>
KEY_SPEC_SESSION_KEYRING = -3
KEY_SPEC_USER_KEYRING = -4
KEY_SPEC_USER_SESSION_KEYRING = -5
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_CLEAR = 7

# Landlock's three calls have the same numbers on every architecture the kit runs on.
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
# keyctl's number differs: x86_64 and the generic table (aarch64, riscv64)
_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "riscv64": 219}

# pivot_root has no glibc wrapper; its number differs between architectures.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _check(result: int, what: str, path: str | None = None) -> int:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}", path)
    return result


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (``unshare(2)``)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    def c(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    _check(_libc.mount(c(source), c(target), c(fstype), ctypes.c_ulong(flags), c(data)),
           "mount", target)


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(os.fsencode(target), ctypes.c_int(flags)), "umount", target)


def pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(38, f"pivot_root: unknown system call number on {platform.machine()}")
    _check(_libc.syscall(ctypes.c_long(number), os.fsencode(new_root), os.fsencode(put_old)),
           "pivot_root", new_root)


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)), "prctl")


def syscall(number: int, *args: object, what: str = "syscall") -> int:
    """A raw system call; its result, or ``OSError`` with the C library's ``errno``."""
    result = _libc.syscall(ctypes.c_long(number), *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return int(result)


def keyctl(operation: int, *args: int) -> int:
    """``keyctl(2)`` with integer arguments (no glibc wrapper: libkeyutils is not needed)."""
    number = _SYS_KEYCTL.get(platform.machine())
    if number is None:
        raise OSError(38, f"keyctl: unknown system call number on {platform.machine()}")
    return syscall(number, ctypes.c_int(operation), *(ctypes.c_long(a) for a in args),
                   what="keyctl")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_bounding_set() -> None:
    """Empty the capability bounding set, so that no ``execve`` brings a capability back; the
    process keeps those it has (``setuid`` still works). Without ``CAP_SETPCAP`` there is
    nothing to drop: the process cannot have gained any."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        if _libc.prctl(ctypes.c_int(PR_CAPBSET_DROP), ctypes.c_ulong(cap), ctypes.c_ulong(0),
                       ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            errno = ctypes.get_errno()
            if errno == 1:  # EPERM: no CAP_SETPCAP, so no capability to lose either
                return
            if errno != 22:  # EINVAL: a capability this kernel does not know
                raise OSError(errno, f"dropping capability {cap}: {os.strerror(errno)}")


def clear_capabilities() -> None:
    """Give up every capability the process holds: effective, permitted, inheritable, ambient."""
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def set_seccomp(instructions: bytes, count: int) -> None:
    """Install a seccomp filter of ``count`` classic-BPF instructions (``no_new_privs`` set)."""
    buffer = ctypes.create_string_buffer(instructions, len(instructions))
    program = _Program(count, ctypes.cast(buffer, ctypes.c_void_p))
    _check(_libc.prctl(ctypes.c_int(PR_SET_SECCOMP), ctypes.c_ulong(SECCOMP_MODE_FILTER),
                       ctypes.byref(program), ctypes.c_ulong(0), ctypes.c_ulong(0)), "seccomp")
