"""Work a suite starts beside its tests, before they are collected.

A grade that runs two workers (``manifest``: an assignment whose suite has a long task, the
lecture's run) starts the suite's ``beside.py`` as soon as the workers start, before pytest is
imported: ``start(student, hidden)`` puts the task on ``student.twin()`` in a thread of its own
and leaves its handle in ``student.memo``, where the suite's tests find it. A suite without one,
or a student without a twin (a batch), changes nothing.
"""

from __future__ import annotations

import importlib
import importlib.util

from autograder.grading.hidden import Hidden
from autograder.grading.proxy import StudentProxy


def start(assignment: str, student: StudentProxy, hidden: Hidden) -> bool:
    """Start ``assignment``'s work beside the tests on ``student``; whether there was any."""
    name = f"autograder.suites.{assignment}.beside"
    if not student.twinned or importlib.util.find_spec(name) is None:
        return False
    importlib.import_module(name).start(student, hidden)
    return True
