"""What a suite may measure beyond its tests, worth no points: a leaderboard entry, figures.

A suite that has an ``extras.py`` (today ``mlp_mnist``'s: the test accuracy of the student's
network, its training curve, its confusion matrix) defines
``measure(student, reference, *, leaderboard, figures_too) -> {"leaderboard", "note", "figures"}``.
It runs after the hidden tests, on the same worker, only when asked: the Gradescope runner asks
for the leaderboard, a report page (``grade --html``, ``batch --figures``) for the figures. Both
cost a training run that no test needs.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any


@functools.cache
def _module(path: Path) -> ModuleType:
    """The suite's ``extras.py``, loaded once per process (a batch grades many submissions)."""
    spec = importlib.util.spec_from_file_location(f"autograder_extras_{path.parent.name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(suite: Path, student: Any, reference: Any, *, leaderboard: bool,
            figures: bool) -> dict[str, Any]:
    """The suite's extras (``{"leaderboard": [], "note": "", "figures": []}`` if it has none)."""
    path = Path(suite) / "extras.py"
    if not path.is_file() or not (leaderboard or figures):
        return {"leaderboard": [], "note": "", "figures": []}
    try:
        return _module(path).measure(student, reference, leaderboard=leaderboard, figures_too=figures)
    except Exception as exc:  # a submission that breaks a measure keeps its grade
        why = str(getattr(exc, "message", "") or exc).splitlines()[0][:300] if str(exc) else \
            type(exc).__name__
        return {"leaderboard": [], "figures": [],
                "note": f"The report's extra measures could not be taken ({why})."}
