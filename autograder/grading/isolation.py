"""What isolation a grade ran under, in one line, from the launcher's report (``worker/steps``).

Every grade records it (``GradeResult.isolation``, and ``extra_data.isolation`` in Gradescope's
``results.json``). A report with notes is *weaker than full*: some defence was refused (no
namespaces, no cgroup, no Landlock...), and ``autograder grade``, ``autograder batch`` and
``run_autograder`` on Gradescope say so in one line (:func:`warning`), naming what is missing.
"""

from __future__ import annotations

from typing import Any

from autograder.text import for_terminal

FULL = "full"
WEAKER = "weaker than full"


def record(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a launcher's report a grade keeps: its level, one line, and the notes."""
    if not report or "error" in report:
        return {}
    notes = [str(n) for n in report.get("notes", []) if isinstance(n, str)]
    parts = [str(report.get(key, "")) for key in ("processes", "network", "files", "user",
                                                  "resources", "syscalls")]
    return {"level": WEAKER if notes else FULL, "summary": "; ".join(p for p in parts if p),
            "notes": notes}


def weaker(recorded: dict[str, Any]) -> bool:
    return recorded.get("level") == WEAKER


def warning(recorded: dict[str, Any]) -> str:
    """The one line that says a grade's isolation was weaker than full ("" if it was full)."""
    if not weaker(recorded):
        return ""
    missing = "; ".join(recorded.get("notes", []))
    return for_terminal(f"isolation weaker than full ({missing}); see docs/threat-model.md",
                        one_line=True)
