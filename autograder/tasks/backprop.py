"""Tasks for ``backprop``.

``numerical_gradient_of`` runs the student's ``numerical_gradient`` on known smooth functions. A
function cannot cross to the worker as plain data, so the functions to differentiate live here,
chosen by name. They hold no expected values: the grader differentiates their TensorFlow twins
(in the hidden suite) with ``tf.GradientTape`` and compares.

``with_other_layers`` calls ``network_forward`` or ``network_gradients`` with the layers they are
built from replaced by *other* layers: an affine map with its bias counted twice, a leaky ReLU
(slope 0.1 below 0) and the gradient of half the squared error in place of the softmax
cross-entropy's. None of them is an answer of the assignment. The grader knows what a network
wired the right way gives with these layers, so a network function is judged on its wiring even
when a layer it uses is wrong (and a layer's mistake costs only that layer's points).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.worker.harness import CallFailed, invoke, resolve, standing_in

TASKS = ("numerical_gradient_of", "with_other_layers")
NETWORKS = ("network_forward", "network_gradients")


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


def _laid_out(x: np.ndarray, layout: str) -> np.ndarray:
    """``x``'s values in an array of ``layout``: ``contiguous``, ``transposed`` (a transpose's
    view) or ``strided`` (every other column of a wider array): NumPy hands functions all three,
    and ``ravel``/``reshape`` of the last two are copies, not views."""
    x = np.array(x, dtype=np.float64)
    if layout == "transposed":
        return np.array(x.T).T
    if layout == "strided":
        wide = np.zeros((*x.shape[:-1], 2 * x.shape[-1]))
        wide[..., ::2] = x
        return wide[..., ::2]
    return x


def numerical_gradient_of(
    ns: dict[str, Any], *, function: str, x: np.ndarray, a: np.ndarray, h: float = 1e-5,
    layout: str = "contiguous",
) -> dict[str, Any]:
    """Call ``numerical_gradient(f, x, h=h)`` with ``f`` one of :data:`FUNCTIONS` (``a`` fixed)
    and ``x`` laid out as ``layout`` says.

    Returns the student's gradient and the array ``x`` as it is after the call, so that the
    grader can see whether it was put back.
    """
    if function not in FUNCTIONS:
        raise CallFailed("missing", f"no function {function!r} to differentiate")
    f = FUNCTIONS[function]
    a = np.array(a, dtype=np.float64)
    point = _laid_out(x, layout)
    gradient = invoke(resolve(ns, "numerical_gradient"), "numerical_gradient",
                      lambda v: f(v, a), point, h=h)
    return {"gradient": gradient, "x_after": np.array(point)}


def _affine_forward(x: Any, w: Any, b: Any) -> np.ndarray:
    return np.asarray(x) @ np.asarray(w) + 2.0 * np.asarray(b)


def _affine_backward(dout: Any, x: Any, w: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dout, x, w = np.asarray(dout), np.asarray(x), np.asarray(w)
    return dout @ w.T, x.T @ dout, 2.0 * dout.sum(axis=0)


def _relu_forward(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return np.where(x > 0, x, 0.1 * x)


def _relu_backward(dout: Any, x: Any) -> np.ndarray:
    return np.asarray(dout) * np.where(np.asarray(x) > 0, 1.0, 0.1)


def _output_backward(logits: Any, y: Any) -> np.ndarray:
    logits = np.asarray(logits)
    return (logits - np.asarray(y)) / logits.shape[0]


OTHER_LAYERS = {"affine_forward": _affine_forward, "affine_backward": _affine_backward,
                "relu_forward": _relu_forward, "relu_backward": _relu_backward,
                "softmax_cross_entropy_backward": _output_backward}


def with_other_layers(ns: dict[str, Any], *, function: str, args: list[Any]) -> Any:
    """``function(*args)`` with the layers of :data:`OTHER_LAYERS` in place of the student's."""
    if function not in NETWORKS:
        raise CallFailed("missing", f"no network function {function!r}")
    fn = resolve(ns, function)
    with standing_in(ns, **OTHER_LAYERS):
        return invoke(fn, function, *args)
