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


def close(actual: Any, expected: Any, what: str, *, tol: float = 1e-5, atol: float = 0.0,
          on: str = "") -> None:
    """``actual`` matches ``expected`` in shape, and each value to relative error ``tol`` or, for
    values near 0, to the absolute error ``atol``: a value passes when
    ``|a - e| <= atol + tol * (|a| + |e|)`` (with ``atol`` 0 this is CS231n's relative error).

    Float32 results need an ``atol``: a float32 sum of terms of size 1 that cancel to nearly 0 is
    only good to about 1e-6 absolute, however small the sum. ``on`` names the kind of input
    ("random inputs", "large logits") for the message.
    """
    exp = np.asarray(expected)
    act = shape(actual, tuple(exp.shape), what)
    finite(act, what)
    a = act.astype(np.float64)
    e = exp.astype(np.float64)
    bound = np.maximum(atol + tol * (np.abs(a) + np.abs(e)), tol * 1e-8)
    wrong = int(np.sum(np.abs(a - e) > bound))
    if wrong:
        err = rel_error(a, e)
        where = f" on {on}" if on else ""
        size = f"largest relative error {err:.1e}, tolerance {tol:g}"
        if atol:
            size += f" or {atol:g} absolute"
        raise GradingFailure(f"{what}: {wrong} of {exp.size} value(s) differ from the correct "
                             f"result{where} ({size})")


# --- results that a constant, an identity or zeros cannot give -------------------------------
# A test about the form of a result (its shape, its dtype, that it is one number) earns its point
# only with a value that real work gives: results that change with the input, in the direction
# the correct results change.

def varies(values: Any, what: str, on: str, *, atol: float = 1e-6) -> None:
    """The results for different inputs (stacked along the first axis) are not all the same."""
    arr = array(values, what).astype(np.float64)
    if len(arr) > 1 and np.all(np.abs(arr - arr[0]) <= atol * (1 + np.abs(arr[0]))):
        raise GradingFailure(f"{what} is the same for every input on {on}: it should be computed "
                             "from the inputs")


def same_order(actual: Any, expected: Any, what: str, on: str) -> None:
    """``actual`` (one number per input) rises and falls with ``expected``: a constant, or a
    result that ignores the inputs, cannot; a result off by a positive factor can."""
    act = array(actual, what).astype(np.float64).ravel()
    exp = np.asarray(expected, dtype=np.float64).ravel()
    if act.shape != exp.shape:
        raise GradingFailure(f"{what}: {act.size} value(s) for {exp.size} input(s) on {on}")
    finite(act, what)
    if not np.array_equal(np.argsort(act, kind="stable"), np.argsort(exp, kind="stable")) or \
            np.any(np.diff(np.sort(act)) <= 1e-9 * (1 + np.abs(np.sort(act)[1:]))):
        raise GradingFailure(f"{what} does not grow and shrink with the correct result on {on}: "
                             "it should be computed from the inputs")
