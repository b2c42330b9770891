"""Worker uids: one of its own for every worker, never one that a previous owner left things in.

When the grader is root, each worker runs under a uid that no user of the machine has
(``BASE`` and up). A uid is not a clean slate by itself: the kernel keeps what a uid owns after
its processes end (keys in its keyrings, System V IPC objects, files in shared folders), and a
later worker under the same uid could read them. So a uid is handed out by a counter kept in a
locked file (``/run/autograder/next-uid``, or the kit's cache folder where ``/run`` is not
writable), which takes the next one that no process runs as and that holds no keys
(``/proc/key-users``); and :func:`clear` empties what the uid may still hold when its worker ends.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path

from autograder.worker import syscalls as sc

BASE = 1_500_000_000  # no real user: above every range distributions hand out
SPAN = 1 << 22
STATE_DIRS = (Path("/run/autograder"), Path.home() / ".cache" / "autograder")
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")


def taken() -> set[int]:
    """Uids that a process runs as (real, effective, saved or file system uid) or that hold
    keys: none of them may be handed out."""
    found: set[int] = set()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            for line in Path(entry.path, "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    found.update(int(u) for u in line.split()[1:])
                    break
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/key-users").read_text().splitlines():
            found.add(int(line.split(":", 1)[0]))
    return found


def _state_file() -> Path:
    for folder in STATE_DIRS:
        with contextlib.suppress(OSError):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder / "next-uid"
    raise OSError(13, "no folder to keep the worker uids' counter in")


def allocate() -> int:
    """The next free worker uid (see the module); the counter moves past it."""
    fd = os.open(_state_file(), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            offset = int(os.read(fd, 32).decode().strip() or 0) % SPAN
        except ValueError:
            offset = 0
        busy = taken()
        for step in range(SPAN):
            uid = BASE + (offset + step) % SPAN
            if uid not in busy:
                break
        else:
            raise OSError(11, "every worker uid is taken")
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, str((uid - BASE + 1) % SPAN).encode())
        return uid
    finally:
        os.close(fd)


def _clear_keys(uid: int) -> None:
    """In a child that becomes ``uid``: empty its user and user-session keyrings."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for keyring in (sc.KEY_SPEC_USER_SESSION_KEYRING, sc.KEY_SPEC_USER_KEYRING):
                sc.keyctl(sc.KEYCTL_CLEAR, keyring)
        except BaseException:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)


def _remove_files(uid: int, folder: str, depth: int = 1) -> None:
    """Remove what ``uid`` left in a folder every user may write to: entries it owns, and the
    same in the world-writable folders inside (``/tmp/.X11-unix``), one level down."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            with contextlib.suppress(OSError):
                info = entry.stat(follow_symlinks=False)
                if info.st_uid == uid:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                elif depth > 0 and entry.is_dir(follow_symlinks=False) and info.st_mode & 0o002:
                    _remove_files(uid, entry.path, depth - 1)


def _has_keys(uid: int) -> bool:
    with contextlib.suppress(OSError):
        return any(line.split(":", 1)[0].strip() == str(uid)
                   for line in Path("/proc/key-users").read_text().splitlines())
    return False


def clear(uid: int, *, files: bool) -> None:
    """Empty what ``uid`` may hold once its processes are gone: its keyrings (if it has any:
    looking would make them) and, with ``files``, what it left in ``SHARED_FOLDERS``."""
    if os.geteuid() != 0 or uid < BASE:
        return
    if _has_keys(uid):
        _clear_keys(uid)
    if files:
        for folder in SHARED_FOLDERS:
            _remove_files(uid, folder)
