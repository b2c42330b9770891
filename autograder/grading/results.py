"""Grades as data: per-test results, their total, and Gradescope's ``results.json`` schema."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass
class TestResult:
    id: str  # the test function's name
    name: str  # what it checks, for people
    max_score: float
    score: float = 0.0
    status: str = "failed"  # "passed" | "failed"
    output: str = ""
    visibility: str = "visible"


@dataclass
class GradeResult:
    assignment: str
    submission: str
    tests: list[TestResult] = field(default_factory=list)
    execution_time: float = 0.0
    notes: list[str] = field(default_factory=list)  # about the submission as a whole
    output: str = ""  # what the submission printed (capped)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)  # Gradescope's, no points
    figures: list[dict[str, Any]] = field(default_factory=list)  # data for the report's figures
    isolation: dict[str, Any] = field(default_factory=dict)  # see grading/isolation.py

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 6)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 6)

    def to_gradescope(self) -> dict[str, Any]:
        """The ``results.json`` that Gradescope's autograder harness reads."""
        text = "\n".join(self.notes)
        return {
            "score": self.score,
            "max_score": self.max_score,
            "execution_time": round(self.execution_time, 3),
            "output": text,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": [
                {"name": t.name, "score": t.score, "max_score": t.max_score, "status": t.status,
                 "output": t.output, "visibility": t.visibility, "extra_data": {"id": t.id}}
                for t in self.tests
            ],
            "extra_data": {"assignment": self.assignment, "submission": self.submission,
                           **({"isolation": self.isolation} if self.isolation else {}),
                           **({"figures": self.figures} if self.figures else {})},
            **({"leaderboard": self.leaderboard} if self.leaderboard else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write JSON atomically: a reader sees the old file or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
