"""Tasks for ``gradient_descent``: run the student's optimizers and record every step.

The optimizers find ``gradient`` and ``cost`` by name in the submission's namespace (the notebook
tells students to call them once per step). A task puts trusted stand-ins under those names for
the length of one run, so the suite sees which examples each step used, the ``theta`` it started
from and the gradient it got, and the optimizers are judged apart from the student's own
``gradient`` and ``cost``:

``probe``  runs an optimizer on the *probe problem* below, which is not the assignment's linear
           regression: cost ``1/(2m) sum_i |theta - x_i|^2``, gradient ``theta - mean_i x_i``
           over the examples of the batch. Its ``y`` holds example numbers, so the stand-in reads
           from ``y_batch`` which examples a step used.
``fit``    runs an optimizer with the student's own ``gradient`` and ``cost`` on regression data
           and returns the final ``theta``; a ``cost`` that raises counts as 0.0 there, so an
           unfinished ``cost`` does not decide the fit (a ``gradient`` may use ``cost``).

Nothing here knows an expected value: the suite judges the records in the grader.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from autograder.worker.harness import CallFailed, invoke, resolve

TASKS = ("probe", "fit")
OPTIMIZERS = ("batch_gradient_descent", "stochastic_gradient_descent",
              "minibatch_gradient_descent")
MAX_STEPS = 100_000  # a run taking more steps than this is stopped (an endless loop)
_MISSING = object()


def probe_cost(X: np.ndarray, theta: np.ndarray) -> float:
    """The probe problem's cost on the examples ``X`` ``[m, d]`` at ``theta`` ``[d]``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.sum((theta - X) ** 2) / (2 * len(X)))


def probe_gradient(X: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The probe problem's gradient: ``theta - mean of the rows of X``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return theta - X.mean(axis=0)


def probe_cost_stand_in(X: Any, y: Any, theta: Any) -> float:
    """``cost`` during a probe run: the probe problem's cost (``y`` holds example numbers)."""
    return probe_cost(np.asarray(X, dtype=float), np.asarray(theta, dtype=float))


def forgiving(cost: Any) -> Any:
    """``cost`` during a fit run: the student's own, but 0.0 where it raises (e.g. unfinished)."""

    def cost_or_zero(X: Any, y: Any, theta: Any) -> Any:
        try:
            return cost(X, y, theta)
        except Exception:
            return 0.0

    return cost_or_zero


@contextlib.contextmanager
def standing_in(ns: dict[str, Any], **stand_ins: Any) -> Iterator[None]:
    """Put ``stand_ins`` into the namespace for the duration of a run; restore afterwards."""
    saved = {name: ns.get(name, _MISSING) for name in stand_ins}
    ns.update(stand_ins)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                ns.pop(name, None)
            else:
                ns[name] = value


class Recorder:
    """The probe's ``gradient`` stand-in: answers each call and writes down what it was given."""

    def __init__(self, X: np.ndarray):
        self.X = X
        self.ids: list[np.ndarray] = []
        self.thetas: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    def __call__(self, X: Any, y: Any, theta: Any) -> np.ndarray:
        if len(self.ids) >= MAX_STEPS:
            raise CallFailed("exception", f"the optimizer took more than {MAX_STEPS} steps")
        X_batch = np.asarray(X, dtype=float)
        ids = np.atleast_1d(np.asarray(y, dtype=float)).ravel()
        theta = np.array(theta, dtype=float)
        d = self.X.shape[1]
        if X_batch.ndim != 2:
            self.problem(f"gradient was called with an X of {X_batch.ndim} dimension(s); pass a "
                         "2-D batch [batch, d] (one example is X[i:i + 1])")
            X_batch = X_batch.reshape(-1, d) if X_batch.size % d == 0 else self.X[:0]
        if theta.shape != (d,):
            self.problem(f"gradient was called with a theta of shape {list(theta.shape)}; "
                         "keep theta a 1-D array like the one passed in")
            theta = theta.ravel()[:d] if theta.size >= d else np.zeros(d)
        whole = ids == np.round(ids)
        valid = whole & (ids >= 0) & (ids < len(self.X))
        if not valid.all() or len(ids) != len(X_batch):
            self.problem("gradient was called with a y that does not match X: pass the same "
                         "examples' rows of X and entries of y")
        elif len(ids) and not np.array_equal(self.X[ids.astype(int)], X_batch):
            self.problem("gradient was called with rows of X and entries of y that belong to "
                         "different examples: take X and y with the same indices")
        self.ids.append(ids[valid].astype(np.int64))
        self.thetas.append(theta)
        grad = probe_gradient(X_batch, theta) if len(X_batch) else np.full(d, np.nan)
        self.grads.append(grad)
        return grad.copy()

    def record(self) -> dict[str, Any]:
        d = self.X.shape[1]
        return {
            "sizes": np.array([len(i) for i in self.ids], dtype=np.int64),
            "ids": np.concatenate(self.ids) if self.ids else np.zeros(0, dtype=np.int64),
            "thetas": np.array(self.thetas).reshape(-1, d),
            "grads": np.array(self.grads).reshape(-1, d),
            "problems": list(self.problems),
        }


def _optimizer_args(method: str, learning_rate: float, n_epochs: int, batch_size: int | None,
                    seed: int | None) -> dict[str, Any]:
    if method not in OPTIMIZERS:
        raise CallFailed("missing", f"no optimizer {method!r}")
    kwargs: dict[str, Any] = {"learning_rate": learning_rate, "n_epochs": n_epochs}
    if method == "minibatch_gradient_descent":
        kwargs["batch_size"] = batch_size
    if method != "batch_gradient_descent" and seed is not None:
        kwargs["seed"] = seed
    return kwargs


def _split(result: Any, method: str) -> tuple[Any, Any]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CallFailed("bad_return", f"{method} should return a pair (theta, costs), not a "
                         f"{type(result).__name__}")
    return result[0], result[1]


def probe(ns: dict[str, Any], *, method: str, X: np.ndarray, theta: np.ndarray,
          learning_rate: float, n_epochs: int, batch_size: int | None = None,
          seed: int | None = None) -> dict[str, Any]:
    """One run of ``method`` on the probe problem with examples ``X``; every step recorded.

    Returns ``{"theta", "costs", "sizes", "ids", "thetas", "grads", "problems", "untouched"}``:
    what the optimizer returned, the examples and parameters of each ``gradient`` call in order,
    the contract problems seen, and whether the ``theta`` passed in was left unchanged.
    """
    X = np.array(X, dtype=float)
    start = np.array(theta, dtype=float)
    given = start.copy()
    kwargs = _optimizer_args(method, learning_rate, n_epochs, batch_size, seed)
    recorder = Recorder(X.copy())  # the optimizer may reorder X in place
    ids = np.arange(len(X), dtype=float)
    with standing_in(ns, gradient=recorder, cost=probe_cost_stand_in):
        result = invoke(resolve(ns, method), method, X, ids, given, **kwargs)
    final, costs = _split(result, method)
    return {"theta": final, "costs": costs, "untouched": bool(np.array_equal(given, start)),
            **recorder.record()}


def fit(ns: dict[str, Any], *, method: str, X: np.ndarray, y: np.ndarray, theta: np.ndarray,
        learning_rate: float, n_epochs: int, batch_size: int | None = None,
        seed: int | None = None) -> dict[str, Any]:
    """One run of ``method`` with the student's ``gradient`` on ``(X, y)``; returns its theta."""
    kwargs = _optimizer_args(method, learning_rate, n_epochs, batch_size, seed)
    with standing_in(ns, cost=forgiving(ns.get("cost"))), \
            np.errstate(over="ignore", invalid="ignore"):
        result = invoke(resolve(ns, method), method, np.array(X, dtype=float),
                        np.array(y, dtype=float), np.array(theta, dtype=float), **kwargs)
    return {"theta": _split(result, method)[0]}
