"""The content hash that decides whether a submission must be graded (again).

A grade stays valid while four things are unchanged: the submission file's bytes, the assignment,
the version of what grades it and the course secret its hidden inputs are drawn from (by a name
that reveals nothing of it). That version is a hash of the hidden suite, the in-worker task
driver, the master (which makes the reference solution) and the kit's release, so editing a test
regrades the class while re-running the same command grades only new or changed submissions.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
FORMAT = b"autograder-batch-1"


def _kit_version() -> str:
    try:
        return metadata.version("nn-tf-autograder")
    except metadata.PackageNotFoundError:
        return "unknown"


@functools.cache
def suite_version(assignment: str) -> str:
    """sha256 of everything that decides ``assignment``'s grades (hex, 16 characters)."""
    files = sorted((PACKAGE / "suites" / assignment).rglob("*.py"))
    files += [PACKAGE / "tasks" / f"{assignment}.py", PACKAGE / "masters" / f"{assignment}.py"]
    files += sorted((PACKAGE / "grading").glob("*.py"))  # checks, hidden inputs, graphs
    digest = hashlib.sha256(FORMAT + b"\0" + _kit_version().encode())
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(b"\0" + path.relative_to(PACKAGE).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def content_key(*, assignment: str, data: bytes, secret: str = "") -> str:
    """The key of one submission's bytes graded for ``assignment`` by the current suite, with
    hidden inputs from the secret named ``secret`` (``hidden.secret_id``)."""
    digest = hashlib.sha256(FORMAT + b"\0" + assignment.encode() + b"\0"
                            + suite_version(assignment).encode() + b"\0" + secret.encode()
                            + b"\0")
    digest.update(data)
    return digest.hexdigest()


def listing_key(*, assignment: str, folder: Path, secret: str = "") -> str:
    """A key for a folder that holds no gradable file: its entries' names and sizes."""
    entries = sorted((p.name, p.stat().st_size if p.is_file() else -1) for p in folder.iterdir()) \
        if folder.is_dir() else []
    return content_key(assignment=assignment, data=repr(entries).encode(), secret=secret)
