"""The reference solution, run in the grader's own process with the same harness as the worker.

Its results pass through the same encoding as the student's, so both sides are compared as the
same kinds of plain data.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from autograder import manifest
from autograder.generate import pipelines
from autograder.worker import harness, protocol


class ReferenceError_(RuntimeError):
    """The reference solution itself failed: a bug in the kit, never the student's fault."""


class Reference:
    def __init__(self, assignment: str):
        self.assignment = assignment
        cells = pipelines.build(assignment, pipelines.REFERENCE)
        self.namespace = harness.new_namespace()
        with _eager_stays() if manifest.uses_tensorflow(assignment) else contextlib.nullcontext():
            notes = harness.execute_cells(
                [{"index": i, "source": c.source} for i, c in enumerate(cells)], self.namespace
            )
        if notes:
            raise ReferenceError_(f"the reference solution of {assignment} failed to load: {notes}")

    def _run(self, fn: Any, *args: Any) -> Any:
        try:
            return protocol.decode(protocol.encode(fn(*args)))
        except harness.CallFailed as exc:
            raise ReferenceError_(f"reference {self.assignment}: {exc}") from None

    def call(self, name: str, *args: Any, mode: str = "plain", timeout: float | None = None,
             keep: bool = False, **kwargs: Any) -> Any:
        return self._run(harness.MODES[mode], self.namespace, name, list(args), kwargs)

    def task(self, name: str, *, timeout: float | None = None, keep: bool = False,
             **kwargs: Any) -> Any:
        return self._run(harness.run_task, self.namespace, self.assignment, name, kwargs)


@contextlib.contextmanager
def _eager_stays() -> Iterator[None]:
    """A notebook that switches TensorFlow's eager mode off (mlp_mnist, as the lecture) does not
    switch it off in the grader's process, which grades other notebooks too: every call of the
    reference is made inside a graph of its own anyway."""
    tf1 = harness.tensorflow().compat.v1
    saved = tf1.disable_eager_execution, tf1.disable_v2_behavior
    tf1.disable_eager_execution = tf1.disable_v2_behavior = lambda: None
    try:
        yield
    finally:
        tf1.disable_eager_execution, tf1.disable_v2_behavior = saved


@functools.cache
def reference(assignment: str) -> Reference:
    """One reference per assignment per process (a batch pays for it once)."""
    return Reference(assignment)
