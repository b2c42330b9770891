"""Reference answers that do not depend on the submission, kept on disk between runs.

Some of the reference's work is the same for every submission: the training run of the
lecture's settings drawn next to a student's curve, the reference optimizers' histories on the
kit's fixed problem. A suite marks such a question with ``keep=True``; its answer is computed
once and kept under ``~/.cache/autograder/reference/`` (``$XDG_CACHE_HOME`` is honoured), keyed by
everything that could change it: the question itself, the assignment's master, its tasks, the
worker's harness, the kit's version and the versions of TensorFlow and NumPy. A change of any of
them is a new key; an unreadable file is computed again. The folder is hidden from workers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from autograder.worker import protocol

PACKAGE = Path(__file__).resolve().parent.parent


def folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "autograder" / "reference"


def _version_of(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "none"


@functools.cache
def version(assignment: str) -> str:
    """What the reference's answers for ``assignment`` depend on, as one digest."""
    digest = hashlib.sha256()
    from autograder import __version__

    for part in (__version__, _version_of("tensorflow") + _version_of("tensorflow-cpu"),
                 _version_of("numpy")):
        digest.update(part.encode() + b"\0")
    for path in (PACKAGE / "masters" / f"{assignment}.py", PACKAGE / "tasks" / f"{assignment}.py",
                 PACKAGE / "worker" / "harness.py", PACKAGE / "generate" / "pipelines.py",
                 PACKAGE / "generate" / "transforms.py"):
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:20]


def answer(assignment: str, question: dict[str, Any], ask: Callable[[], Any]) -> Any:
    """The kept answer to ``question``, or ``ask()``'s, which is then kept."""
    key = hashlib.sha256(protocol.encode(question)).hexdigest()[:32]
    path = folder() / f"{assignment}-{version(assignment)}" / f"{key}.bin"
    with contextlib.suppress(OSError, protocol.ProtocolError):
        return protocol.decode(path.read_bytes(), max_header=protocol.MAX_FRAME)
    result = ask()
    with contextlib.suppress(OSError, protocol.ProtocolError):  # a cache that cannot be written
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as tmp:
            tmp.write(protocol.encode(result))
        os.replace(tmp.name, path)
    return result
