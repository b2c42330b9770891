"""Tasks for ``gradient_descent``: run the student's optimizers and record every step.

The optimizers find ``gradient`` and ``cost`` by name in the submission's namespace (the notebook
tells students to call them once per step). ``probe`` puts trusted stand-ins under those names for
the length of one run, so the grader sees which examples each step used, the ``theta`` it started
from and the gradient it got, and the optimizer is judged apart from the student's own
``gradient`` and ``cost``. The stand-ins answer the *probe problem*, which is not the
assignment's linear regression: cost ``1/(2m) sum_i |theta - x_i|^2``, gradient
``theta - mean_i x_i`` over the examples of the batch. The run's ``y`` holds example numbers, so
the stand-in reads from ``y_batch`` which examples a step used.

An optimizer that computes its gradient itself never calls the stand-in: its run is then judged
in the grader from the cost history it returns (``suites/gradient_descent/steps.py``).

Nothing here knows an expected value: the suite judges the records in the grader.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.worker.harness import CallFailed, invoke, resolve, standing_in

TASKS = ("probe", "optimizer_runs")
OPTIMIZERS = ("batch_gradient_descent", "stochastic_gradient_descent",
              "minibatch_gradient_descent")
MAX_STEPS = 100_000  # a run taking more steps than this is stopped (an endless loop)


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


def optimizer_runs(ns: dict[str, Any], *, X: np.ndarray, y: np.ndarray, theta: np.ndarray,
                   settings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each optimizer on a regression problem, as the notebook's demo runs it (with the
    submission's own ``cost`` and ``gradient``), for the report's figures: ``{name: {"theta",
    "costs"} or {"error"}}``. No test uses this; the grader computes the cost of each final
    ``theta`` itself."""
    out: dict[str, Any] = {}
    for name, kwargs in settings.items():
        try:
            theta_out, costs = invoke(resolve(ns, name), name, np.array(X), np.array(y),
                                      np.array(theta), **kwargs)
            out[name] = {"theta": np.asarray(theta_out, dtype=float).ravel()[:16],
                         "costs": np.asarray(costs, dtype=float).ravel()[:MAX_STEPS]}
        except CallFailed as exc:
            out[name] = {"error": exc.message}
        except (TypeError, ValueError) as exc:  # a result that is not (theta, costs)
            out[name] = {"error": f"{name} should return (theta, costs) ({exc})"}
    return out
