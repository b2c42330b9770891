"""What a student's notebook of "Neural Networks with TensorFlow" needs to run.

- ``input_data``: MNIST the lecture's way (``input_data.read_data_sets("MNIST_data/")``);
- ``needs(...)``: a demo cell stops in one line while a function it uses is not written yet;
- ``check()``: grades the saved notebook with the course's grading service and shows a table.

This package is what students install (the *student bundle*, built by the instructor with
``autograder export student``). It holds no reference solution, no hidden test and no secret, and
imports nothing of the instructor's kit: ``tests/test_student_bundle.py`` proves both.
"""

from __future__ import annotations

from typing import Any

from coursekit.data import input_data

__version__ = "0.1.0"
__all__ = ["check", "input_data", "needs"]


def check(function: str | None = None, *, path: Any = None) -> Any:
    """Grade the saved notebook this runs in and show the result as a table; see
    :mod:`coursekit.checker`. ``check("build_loss")`` shows that function's tests."""
    from coursekit.checker import check as run

    return run(function, path=path)


def needs(*functions: Any) -> None:
    """Stop a demo cell in one line while a function it needs is still the stub; see
    :mod:`coursekit.demo`."""
    from coursekit.demo import needs as run

    run(*functions)
