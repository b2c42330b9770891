"""The service's settings: one typed object, each field with its help text.

``autograder serve`` makes one option per field from :func:`help_of` and :data:`DEFAULTS`, so
the command line, this object and ``docs/service.md`` say the same thing. Precedence is simple:
an option given on the command line, else the default here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from autograder.serve.limits import Rate


def _help(text: str) -> dict[str, Any]:
    return {"help": text}


@dataclass(frozen=True)
class Settings:
    db: Path = field(metadata=_help(
        "The service's database (SQLite): tokens, and every check with its result. Made if "
        "missing; a batch's gradebook.sqlite may be given."))
    host: str = field(default="127.0.0.1", metadata=_help(
        "Address to listen on. Keep the loopback address and put a TLS reverse proxy (nginx, "
        "Caddy) in front."))
    port: int = field(default=8000, metadata=_help(
        "Port to listen on (0: any free port; the one chosen is printed)."))
    rate: Rate = field(default=Rate(30, 3600), metadata=_help(
        "Checks a student may start per time (a sliding window): 30/hour, 5/minute, 10/15min. "
        "Answers from the record do not count."))
    max_upload: int = field(default=10_000_000, metadata=_help(
        "Largest notebook accepted, in bytes (10MB, 512KB, ...)."))
    workers: int | None = field(default=None, metadata=_help(
        "Grader processes on this machine [default: one per core]."))
    dask: str | None = field(default=None, metadata=_help(
        "Grade on the Dask cluster whose scheduler is at this address instead of on this "
        "machine (see docs/batch.md)."))
    assignments: tuple[str, ...] = field(default=(), metadata=_help(
        "An assignment the service grades (repeat the option) [default: all of the course]."))
    log: Path | None = field(default=None, metadata=_help(
        "The grader processes' log [default: graders.log beside the database]."))

    @property
    def graders(self) -> int:
        return self.workers or os.cpu_count() or 1

    @property
    def graders_log(self) -> Path:
        return self.log or Path(self.db).parent / "graders.log"


def help_of(name: str) -> str:
    """The help text of the setting ``name``."""
    return next(f.metadata["help"] for f in fields(Settings) if f.name == name)


DEFAULTS = Settings(db=Path("service.sqlite"))
