"""Hidden inputs drawn per submission from a course secret.

A suite never grades with inputs that are the same for everyone: each test draws its inputs from
a generator seeded with ``HMAC-SHA256(secret, assignment, submission, purpose)``, where the
submission is the hash of the code cells that are graded and the purpose names the test (or the
run several tests share). So

- the same file graded twice (again, in a batch, under nbgrader, on another machine with the same
  secret) gets the same inputs and the same grade;
- whatever a report reveals about its inputs (a student can print them from inside their own
  function) is useless for any other submission, or for the next version of the same one;
- without the secret nobody can tell which inputs a submission will get.

The secret is the first of: the environment variable ``AUTOGRADER_SECRET`` (any text), the file
named by ``AUTOGRADER_SECRET_FILE``, or ``$XDG_CONFIG_HOME/autograder/secret`` (default
``~/.config/autograder/secret``), which is created with 32 random bytes, readable by its owner
only, the first time it is needed. A course keeps one secret for all its graders (batch copies it
to its cluster workers); the worker never sees it (its environment is scrubbed and the folder is
hidden from its file system).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import secrets
import tokenize
from pathlib import Path
from typing import TYPE_CHECKING, Any

# numpy is imported once inputs are drawn: `autograder grade` checks the secret without it.
if TYPE_CHECKING:
    import numpy as np

ENV_SECRET = "AUTOGRADER_SECRET"
ENV_SECRET_FILE = "AUTOGRADER_SECRET_FILE"


class SecretError(Exception):
    """The course secret cannot be read or created; the message is one line naming the file."""


def secret_path() -> Path:
    """Where the course secret is kept when ``AUTOGRADER_SECRET`` does not give it."""
    if os.environ.get(ENV_SECRET_FILE):
        return Path(os.environ[ENV_SECRET_FILE]).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autograder" / "secret"


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another grader made it first: use theirs
        return
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32) + "\n")


def course_secret() -> bytes:
    """The course secret (see the module's documentation); raises :class:`SecretError`."""
    if os.environ.get(ENV_SECRET):
        return os.environ[ENV_SECRET].encode("utf-8")
    path = secret_path()
    try:
        if not path.exists():
            _create(path)
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretError(f"{path}: the course secret cannot be read or created "
                          f"({exc.strerror or exc}); set {ENV_SECRET} or {ENV_SECRET_FILE}") from None
    except UnicodeDecodeError:
        raise SecretError(f"{path}: the course secret is not text") from None
    if not text:
        raise SecretError(f"{path}: the course secret file is empty")
    return text.encode("utf-8")


def secret_id(secret: bytes) -> str:
    """A short name of the secret that reveals nothing of it (grades depend on the secret)."""
    return hashlib.sha256(b"autograder-secret-id\0" + secret).hexdigest()[:12]


_SKIPPED = (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER)


def _code(source: Any) -> str:
    """A cell's code as its tokens: comments, blank lines and spacing do not count, while a ``#``
    inside a string (``"# not a comment"``) does. A cell that does not tokenize (an unfinished
    string, a shell escape) counts as its lines, stripped."""
    text = str(source)
    try:
        tokens = [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type not in _SKIPPED]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "\n".join(ln.strip() for ln in text.splitlines() if ln.strip())
    while tokens and tokens[-1][0] in (tokenize.NEWLINE, tokenize.DEDENT):
        tokens.pop()
    return json.dumps(tokens) if tokens else ""


def submission_key(cells: list[dict[str, Any]]) -> str:
    """The hash of what is graded of a submission: the code of its cells, in order.

    Comments, blank lines, spacing and cells with nothing else do not count, so the same code gets
    the same inputs however it is delivered: a notebook as submitted, or as nbgrader grades it
    (test cells restored and emptied), or its code as a ``.py`` file.
    """
    code = [c for c in (_code(cell.get("source", "")) for cell in cells) if c]
    text = json.dumps(code, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class Hidden:
    """The hidden inputs of one submission: ``rng(purpose)`` is the same generator for the same
    secret, assignment, submission and purpose, and an unrelated one for any other."""

    def __init__(self, *, secret: bytes, assignment: str, submission: str):
        self._secret = secret
        self._prefix = f"{assignment}\0{submission}\0"

    def seed(self, purpose: str) -> int:
        message = (self._prefix + purpose).encode("utf-8")
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big")

    def rng(self, purpose: str) -> np.random.Generator:
        import numpy as np

        return np.random.default_rng(self.seed(purpose))
