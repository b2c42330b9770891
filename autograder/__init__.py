"""Auto-graded exercises for "Neural Networks with TensorFlow"."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def check(function: str | None = None, *, path: Any = None) -> Any:
    """Grade the saved notebook this runs in and show the result as a table; see
    :mod:`autograder.selfcheck.notebook`. ``check("build_loss")`` shows that function's tests."""
    from autograder.selfcheck.notebook import check as run

    return run(function, path=path)


def needs(*functions: Any) -> None:
    """Stop a demo cell in one line while a function it needs is still the stub; see
    :mod:`autograder.selfcheck.demo`."""
    from autograder.selfcheck.demo import needs as run

    run(*functions)
