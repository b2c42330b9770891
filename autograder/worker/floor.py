"""The floor under the sandbox's fallbacks: below it, nothing is graded.

Every defence of the sandbox is a step that is attempted and, where the system refuses it,
noted and done without (``steps.py``): a grade with fewer defences is still a grade, and says
which it had. Two things are never done without:

1. **Student code never runs as root**: not as uid 0, and with no capability at all.
2. **The worker reads none of the answers**: the hidden suites and the masters, the course
   secret, the MNIST test labels, the reference answers kept on disk, the kit's checkout
   (solutions, the nbgrader course, the git history), and whatever the grader names besides
   (the Gradescope package's folder, ``AUTOGRADER_HIDE``).

:func:`breach` checks both in the worker's own process, after every step and just before the
submission's first line runs; the launcher then reports the breach instead of the sandbox and
ends, and the grader raises ``SandboxRefused``: the submission is not graded at all (no 0
recorded), and the message says what to provide (namespaces, Landlock, a Python installation
other users can read, the kit's files unreadable to them: :func:`protect`).
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FLOOR = ("never as root", "no answer readable")
ENV_HIDE = "AUTOGRADER_HIDE"  # more paths no worker may read, separated by ':' (the grader's)
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the kit's package: autograder/
SECRETS = ("suites", "masters")  # folders of the package the worker must never read
CHECKOUT_SECRETS = ("solutions", "course", "autograder/suites", "autograder/masters")


def _git_dirs(checkout: Path) -> list[Path]:
    """The checkout's git folder; for a worktree, the repository's own too."""
    dot = checkout / ".git"
    if dot.is_dir():
        return [dot]
    with contextlib.suppress(OSError, ValueError):
        line = dot.read_text().strip()
        if line.startswith("gitdir:"):
            own = Path(line.split(":", 1)[1].strip())
            own = own if own.is_absolute() else checkout / own
            common = own.parent.parent if own.parent.name == "worktrees" else own
            return [own, common]
    return []


def answers(extra: list[str] = (), *, outside: bool = True) -> list[str]:
    """Every path the worker must not read (see the module), given ``extra`` ones; with
    ``outside``, a worktree's repository too (a git folder outside the checkout)."""
    paths = [PACKAGE_DIR / name for name in SECRETS]
    checkout = PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():  # an editable install: the repository itself
        paths += [checkout / name for name in CHECKOUT_SECRETS]
        paths += [d for d in _git_dirs(checkout) if outside or d.parent == checkout]
    found = [str(p) for p in paths] + list(extra)
    return list(dict.fromkeys(p for p in found if os.path.lexists(p)))


def readable(path: str, sample: int = 64) -> bool:
    """Whether this process can read what a file at ``path`` holds, or any of the first
    ``sample`` files under a folder there: names that can be listed are no answer (a folder
    covered by an empty file system, or a file by ``/dev/null``, holds nothing to read)."""
    def holds(name: str) -> bool:
        try:
            with open(name, "rb") as f:
                return bool(f.read(1))
        except OSError:
            return False

    if not os.path.isdir(path):
        return holds(path)
    tried = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            if holds(os.path.join(top, name)):
                return True
            tried += 1
            if tried >= sample:
                return False
    return False


def root_or_capable() -> str:
    """Why this process counts as root, or ``""``."""
    if 0 in (*os.getresuid(), *os.getresgid()):
        return "it runs as root"
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("CapEff:", "CapPrm:", "CapAmb:")) and int(line.split()[1], 16):
                return f"it holds capabilities ({line.split(':')[0]} {line.split()[1]})"
    return ""


def breach(hidden: list[str]) -> str:
    """Why the floor does not hold in this process (see the module), or ``""`` if it does."""
    why = root_or_capable()
    if why:
        return (f"the worker would run student code with root's rights: {why}. Grade where "
                "the sandbox can switch to a uid of its own (Python readable by other users) "
                "or make a user namespace; see docs/threat-model.md")
    exposed = [p for p in hidden if readable(p)]
    if exposed:
        return (f"the worker could read {', '.join(exposed[:3])}: make the kit's answers "
                "unreadable to other users (`autograder data` does so for the kit) or grade "
                "where namespaces or Landlock are allowed; see docs/threat-model.md")
    return ""


def protect(paths: list[str]) -> list[str]:
    """Make each of ``paths`` unreadable to anyone but its owner (a folder 0700, a file 0600;
    what a folder holds keeps its mode: files linked elsewhere on purpose, such as MNIST's
    training images lent to workers, stay readable there); returns those it changed."""
    changed = []
    for path in paths:
        with contextlib.suppress(OSError):
            mode = os.lstat(path).st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                os.chmod(path, stat.S_IMODE(mode) & 0o700)
                changed.append(path)
    return changed
