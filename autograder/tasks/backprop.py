"""Tasks for ``backprop``: run the student's ``numerical_gradient`` on known smooth functions.

A function cannot cross to the worker as plain data, so the functions to differentiate live here,
chosen by name. They hold no expected values: the grader differentiates their TensorFlow twins
(in the hidden suite) with ``tf.GradientTape`` and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.worker.harness import CallFailed, invoke, resolve

TASKS = ("numerical_gradient_of",)


def cubic_plus_sine(x: np.ndarray, a: np.ndarray) -> float:
    """``sum(a * x^3) + sum(sin(x))`` for vectors ``x`` and ``a`` of the same length."""
    return float(np.sum(a * x**3) + np.sum(np.sin(x)))


def quadratic_plus_exp(x: np.ndarray, a: np.ndarray) -> float:
    """``1/2 sum((a @ x)^2) + sum(exp(x))`` for a matrix ``x`` ``[D, M]`` and ``a`` ``[N, D]``."""
    return float(0.5 * np.sum((a @ x) ** 2) + np.sum(np.exp(x)))


FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "cubic_plus_sine": cubic_plus_sine,
    "quadratic_plus_exp": quadratic_plus_exp,
}


def numerical_gradient_of(
    ns: dict[str, Any], *, function: str, x: np.ndarray, a: np.ndarray, h: float = 1e-5
) -> dict[str, Any]:
    """Call ``numerical_gradient(f, x, h=h)`` with ``f`` one of :data:`FUNCTIONS` (``a`` fixed).

    Returns the student's gradient and the array ``x`` as it is after the call, so that the
    grader can see whether it was put back.
    """
    if function not in FUNCTIONS:
        raise CallFailed("missing", f"no function {function!r} to differentiate")
    f = FUNCTIONS[function]
    a = np.array(a, dtype=np.float64)
    point = np.array(x, dtype=np.float64)
    gradient = invoke(resolve(ns, "numerical_gradient"), "numerical_gradient",
                      lambda v: f(v, a), point, h=h)
    return {"gradient": gradient, "x_after": point}
