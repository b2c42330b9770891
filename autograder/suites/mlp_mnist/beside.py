"""mlp_mnist's work beside its tests: the lecture's run, on the student's second worker.

A grade that runs two workers (``manifest``, ``StudentProxy.twin``) calls :func:`start` as soon as
they start (``grading/beside.py``), before pytest is imported and the suite collected: the run
is the longest part of the grade, and it goes on while the other tests run on the first worker.
The suite's ``lecture_run`` fixture finds it in the student's memo and waits for it
(``lecture.finished``); a grade of selected tests starts it from the suite's fixture instead,
once it knows a test needs it.
"""

from __future__ import annotations

from typing import Any

from autograder.suites.mlp_mnist import lecture


def start(student: Any, hidden: Any) -> None:
    """Start the lecture's run on ``student``'s twin, unless it has none or a run was started."""
    if student.twinned and "lecture" not in student.memo:
        student.memo["lecture"] = lecture.Meanwhile(_run_on_twin, student.twin(), hidden)


def _run_on_twin(twin: Any, hidden: Any) -> lecture.Run:
    try:
        run = lecture.lecture_run(twin, hidden)
    finally:
        twin.release()  # its processes end while the other tests go on
    run.curve()  # both measured here, while the other tests go on
    _ = run.accuracy
    return run
