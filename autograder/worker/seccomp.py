"""A seccomp filter for the worker: the few system calls no submission needs, refused.

A small classic-BPF program, installed with ``prctl(PR_SET_SECCOMP)`` once ``no_new_privs`` is
set (no privilege needed), kept by every process the worker starts and by every ``execve``:

- always: the kernel's key store (``add_key``, ``request_key``, ``keyctl``: keys outlive the
  process that made them, so a submission could leave some for the next one of its uid), and
  ``io_uring`` (its requests do not pass through this filter); system calls of another
  architecture's table (32-bit or x32 entry points, which would dodge the numbers below) end
  the process, or fail;
- without a network namespace: ``socket`` of any family but ``AF_UNIX`` fails with
  ``ENETUNREACH``, as it would in an empty network namespace (UDP and raw sockets included,
  which Landlock does not cover);
- without an IPC namespace: System V shared memory, semaphores and message queues, and POSIX
  message queues, which outlive the process and are shared by every process of the machine.
"""

from __future__ import annotations

import errno
import platform
import struct

from autograder.worker import syscalls as sc

# <linux/filter.h>, <linux/seccomp.h>, <linux/audit.h>
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
RET_KILL_PROCESS = 0x80000000
AF_UNIX = 1
X32_BIT = 0x40000000

_TABLES = {  # architecture: (AUDIT_ARCH_*, the system calls' numbers)
    "x86_64": (0xC000003E, {"socket": 41, "add_key": 248, "request_key": 249, "keyctl": 250,
                            "io_uring_setup": 425, "io_uring_enter": 426,
                            "io_uring_register": 427, "shmget": 29, "semget": 64,
                            "msgget": 68, "mq_open": 240}),
    "aarch64": (0xC00000B7, {"socket": 198, "add_key": 217, "request_key": 218, "keyctl": 219,
                             "io_uring_setup": 425, "io_uring_enter": 426,
                             "io_uring_register": 427, "shmget": 194, "semget": 190,
                             "msgget": 186, "mq_open": 180}),
}
ALWAYS = ("add_key", "request_key", "keyctl", "io_uring_setup", "io_uring_enter",
          "io_uring_register")
IPC = ("shmget", "semget", "msgget", "mq_open")


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str, *, sockets: bool, ipc: bool) -> list[bytes]:
    """The filter's instructions for ``machine`` (see the module)."""
    arch, numbers = _TABLES[machine]
    refused = [(numbers[name], errno.ENOSYS) for name in ALWAYS]
    refused += [(numbers[name], errno.EPERM) for name in IPC] if ipc else []
    code = [_op(_LD_W_ABS, 4), _op(_JEQ_K, arch, 1, 0), _op(_RET_K, RET_KILL_PROCESS),
            _op(_LD_W_ABS, 0)]
    if machine == "x86_64":  # the x32 entry points: the same calls under other numbers
        code += [_op(_JGE_K, X32_BIT, 0, 1), _op(_RET_K, RET_ERRNO | errno.ENOSYS)]
    for number, error in refused:
        code += [_op(_JEQ_K, number, 0, 1), _op(_RET_K, RET_ERRNO | error)]
    if sockets:  # socket(family, ...): the family is the low half of the first argument
        code += [_op(_JEQ_K, numbers["socket"], 0, 3), _op(_LD_W_ABS, 16),
                 _op(_JEQ_K, AF_UNIX, 1, 0), _op(_RET_K, RET_ERRNO | errno.ENETUNREACH)]
    return [*code, _op(_RET_K, RET_ALLOW)]


def install(*, sockets: bool, ipc: bool) -> str:
    """Install the filter in this process (``no_new_privs`` must be set); returns what it
    refuses, in a line; raises ``OSError`` where it cannot."""
    machine = platform.machine()
    if machine not in _TABLES:
        raise OSError(errno.ENOSYS, f"no system call table for {machine}")
    code = program(machine, sockets=sockets, ipc=ipc)
    sc.set_seccomp(b"".join(code), len(code))
    refused = ["keyrings", "io_uring"]
    refused += ["sockets but Unix ones"] if sockets else []
    refused += ["System V and POSIX IPC"] if ipc else []
    return "seccomp: no " + ", no ".join(refused)
