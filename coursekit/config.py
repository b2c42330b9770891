"""Where ``check()`` sends a notebook: the course's grading service and the student's token.

One order of precedence, first found wins:

1. the environment: ``COURSEKIT_SERVICE`` (the service's address, or ``local``) and
   ``COURSEKIT_TOKEN`` (a JupyterHub deployment sets both in each student's server);
2. the student's config file, ``$COURSEKIT_CONFIG`` or ``~/.config/coursekit/config.json``
   (``{"service": ..., "token": ...}``), written by ``python -m coursekit login``;
3. the bundle's own ``course.json``, where ``autograder export student --service URL`` put the
   course's address (a token is never there: it is each student's own).

``local`` means the instructor's kit on this machine (``python -m autograder grade``): what a
course's staff use while they try the notebooks. Without any of these, and without the kit,
``check()`` runs the notebook's self-checks only, and says so.
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_SERVICE = "COURSEKIT_SERVICE"
ENV_TOKEN = "COURSEKIT_TOKEN"
ENV_CONFIG = "COURSEKIT_CONFIG"
LOCAL = "local"
COURSE_FILE = Path(__file__).resolve().parent / "course.json"


class ConfigError(ValueError):
    """A config file that cannot be used; one line naming it."""


@dataclass(frozen=True)
class Settings:
    service: str | None  # a URL, ``local``, or None (not configured)
    token: str | None
    source: str  # where the service came from, for messages


def config_path() -> Path:
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "coursekit" / "config.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: should hold a JSON object like "
                          '{"service": "https://...", "token": "..."}')
    return data


def course() -> dict[str, Any]:
    """The bundle's ``course.json``: the course's name, its service's address, its assignments."""
    try:
        return _read(COURSE_FILE)
    except ConfigError:
        return {}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def kit_installed() -> bool:
    """Whether the instructor's kit (the grader itself) is importable here."""
    try:
        return importlib.util.find_spec("autograder.grading") is not None
    except (ImportError, ValueError):
        return False


def settings() -> Settings:
    """The service and token, by the order of precedence above; raises :class:`ConfigError`."""
    path = config_path()
    saved = _read(path)
    token = _text(os.environ.get(ENV_TOKEN)) or _text(saved.get("token"))
    for value, source in ((os.environ.get(ENV_SERVICE), f"${ENV_SERVICE}"),
                          (saved.get("service"), str(path)),
                          (course().get("service"), "the course bundle")):
        if _text(value):
            return Settings(service=_text(value).rstrip("/"), token=token, source=source)
    if kit_installed():
        return Settings(service=LOCAL, token=None, source="the instructor's kit on this machine")
    return Settings(service=None, token=token, source="")


def save(*, service: str | None, token: str | None) -> Path:
    """Write the student's config file (mode 0600: it holds their token); returns its path."""
    path = config_path()
    data = _read(path)
    if service is not None:
        data["service"] = service.rstrip("/")
    if token is not None:
        data["token"] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(partial, path)
    return path
