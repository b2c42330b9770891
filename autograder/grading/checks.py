"""Checks for the hidden suites. Each raises :class:`GradingFailure` with a message that says
what is wrong (shape, dtype, values, finiteness) without revealing the expected values or the
hidden inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.grading.plugin import GradingFailure


def rel_error(a: Any, b: Any) -> float:
    """CS231n's relative error ``max(|a-b| / max(1e-8, |a|+|b|))``; 0 for empty arrays."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def array(value: Any, what: str) -> np.ndarray:
    """``value`` as a numeric numpy array, or a failure saying what came back instead."""
    if isinstance(value, (bool, int, float, np.generic, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "biuf":
            return arr
    if isinstance(value, (list, tuple)):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            pass
        else:
            return arr
    raise GradingFailure(f"{what} should be numbers, but came back as {type(value).__name__}")


def shape(value: Any, expected: tuple[int | None, ...], what: str) -> np.ndarray:
    arr = array(value, what)
    ok = arr.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, arr.shape, strict=True)
    )
    if not ok:
        want = "[" + ", ".join("batch" if e is None else str(e) for e in expected) + "]"
        raise GradingFailure(f"{what} has shape {list(arr.shape)}, expected {want}")
    return arr


def scalar(value: Any, what: str) -> float:
    arr = array(value, what)
    if arr.shape != ():
        raise GradingFailure(f"{what} should be a scalar, but has shape {list(arr.shape)}")
    return float(arr)


def finite(value: Any, what: str) -> np.ndarray:
    arr = array(value, what)
    bad = ~np.isfinite(arr.astype(np.float64))
    if bad.any():
        raise GradingFailure(f"{what} holds {int(bad.sum())} NaN or infinite value(s)")
    return arr


def close(actual: Any, expected: Any, what: str, *, tol: float = 1e-5, on: str = "") -> None:
    """``actual`` matches ``expected`` in shape and to relative error ``tol``.

    ``on`` names the kind of input ("random inputs", "large logits") for the message.
    """
    exp = np.asarray(expected)
    act = shape(actual, tuple(exp.shape), what)
    finite(act, what)
    err = rel_error(act, exp)
    if err > tol:
        wrong = int(np.sum(np.abs(act - exp) / np.maximum(1e-8, np.abs(act) + np.abs(exp)) > tol))
        where = f" on {on}" if on else ""
        raise GradingFailure(f"{what}: {wrong} of {exp.size} value(s) differ from the correct "
                             f"result{where} (largest relative error {err:.1e}, tolerance {tol:g})")
