"""Gradescope's leaderboard: an assignment's suite may measure one, worth no points.

A suite that has a ``leaderboard.py`` (today ``mlp_mnist``'s: the test accuracy of the student's
network) defines ``measure(student) -> (entries, note)``. It runs after the hidden tests, on the
same worker, only when asked (``grade(..., leaderboard=True)``, which the Gradescope runner does):
it costs a training run that no test needs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def measure(suite: Path, student: Any) -> tuple[list[dict[str, Any]], str]:
    """``(entries, note)`` of the leaderboard of the suite in ``suite``, or ``([], "")``."""
    path = Path(suite) / "leaderboard.py"
    if not path.is_file():
        return [], ""
    spec = importlib.util.spec_from_file_location(f"autograder_leaderboard_{path.parent.name}",
                                                  path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure(student)
