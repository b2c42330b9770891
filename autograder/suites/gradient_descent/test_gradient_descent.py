"""Hidden suite of ``gradient_descent``: cost, gradient and the three optimizers.

The optimizers are checked in two ways. A *probe run* (``autograder.tasks.gradient_descent``)
replaces ``gradient`` and ``cost`` by trusted stand-ins of another problem and records every step:
which examples it used, the ``theta`` it started from, the gradient it got. That judges the
mechanics (examples per step, steps per epoch, shuffling, the update rule, the cost history,
stopping on divergence) apart from the student's ``gradient`` and ``cost``. A *fit run* uses the
student's own ``gradient`` (and its ``cost`` where that does not raise) on seeded regression data
and compares the end point with the least-squares solution computed here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError
from autograder.tasks.gradient_descent import probe_cost

BATCH, SGD, MINI = ("batch_gradient_descent", "stochastic_gradient_descent",
                    "minibatch_gradient_descent")
TIMEOUT = 30.0
# Probe runs: small data sets whose size the batch size does (4 | 20) and does not (5 | 23) divide.
PROBES: dict[str, dict[str, Any]] = {
    "batch": {"method": BATCH, "m": 23, "learning_rate": 0.3, "n_epochs": 6},
    "sgd": {"method": SGD, "m": 23, "learning_rate": 0.1, "n_epochs": 3, "seed": 4},
    "sgd_again": {"method": SGD, "m": 23, "learning_rate": 0.1, "n_epochs": 3, "seed": 4},
    "sgd_other": {"method": SGD, "m": 23, "learning_rate": 0.1, "n_epochs": 3, "seed": 9},
    "mini": {"method": MINI, "m": 23, "learning_rate": 0.1, "n_epochs": 3, "batch_size": 5,
             "seed": 4},
    "mini_even": {"method": MINI, "m": 20, "learning_rate": 0.1, "n_epochs": 2, "batch_size": 4,
                  "seed": 2},
    "mini_again": {"method": MINI, "m": 23, "learning_rate": 0.1, "n_epochs": 3, "batch_size": 5,
                   "seed": 4},
    "mini_other": {"method": MINI, "m": 23, "learning_rate": 0.1, "n_epochs": 3, "batch_size": 5,
                   "seed": 9},
    # A learning rate far too large: the probe's cost overflows after some 80 steps.
    "batch_huge": {"method": BATCH, "m": 23, "learning_rate": 100.0, "n_epochs": 300},
    "sgd_huge": {"method": SGD, "m": 23, "learning_rate": 100.0, "n_epochs": 10, "seed": 1},
    "mini_huge": {"method": MINI, "m": 23, "learning_rate": 100.0, "n_epochs": 30,
                  "batch_size": 5, "seed": 1},
}
# Fit runs on regression data, each with the budget it gets and how close it must end.
FITS = {
    BATCH: ({"learning_rate": 0.5, "n_epochs": 100}, 1e-3),
    SGD: ({"learning_rate": 0.02, "n_epochs": 20, "seed": 3}, 0.1),
    MINI: ({"learning_rate": 0.2, "n_epochs": 30, "batch_size": 10, "seed": 3}, 0.1),
}
D = 3  # parameters of the probe problem


def probe_data(m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(100 + m)
    return rng.normal(1.0, 2.0, (m, D)), rng.normal(0.0, 3.0, D)


def regression_data(seed: int, m: int = 100) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.hstack([np.ones((m, 1)), rng.normal(0.0, 1.0, (m, 2))])
    return X, X @ np.array([1.5, -2.0, 0.5]) + rng.normal(0.0, 0.2, m)


def random_problem(rng: np.random.Generator, m: int, d: int) -> tuple[np.ndarray, ...]:
    X = np.hstack([np.ones((m, 1)), rng.normal(0.0, 1.0, (m, d - 1))])
    return X, rng.normal(0.0, 2.0, m), rng.normal(0.0, 1.0, d)


@pytest.fixture(scope="module")
def probe(student: Any) -> Callable[[str], dict[str, Any]]:
    """``probe(name)``: the record of the probe run ``PROBES[name]``, run once per module."""
    done: dict[str, tuple[Any, StudentError | None]] = {}

    def run(name: str) -> dict[str, Any]:
        if name not in done:
            settings = dict(PROBES[name])
            X, theta = probe_data(settings.pop("m"))
            try:
                done[name] = (student.task("probe", X=X, theta=theta, timeout=TIMEOUT,
                                           **settings), None)
            except StudentError as exc:
                done[name] = (None, exc)
        record, error = done[name]
        if error is not None:
            raise error
        return record

    return run


def called(record: dict[str, Any], method: str) -> np.ndarray:
    """The examples per step; fails if the optimizer never called ``gradient``."""
    sizes = np.asarray(record["sizes"], dtype=np.int64)
    if sizes.size == 0:
        raise GradingFailure(f"{method} never called gradient: compute the gradient of every "
                             "step with gradient(X_batch, y_batch, theta)")
    return sizes


def no_problems(record: dict[str, Any], method: str) -> None:
    if record["problems"]:
        raise GradingFailure(f"{method}: {record['problems'][0]}")


def epochs(record: dict[str, Any], n_epochs: int) -> list[np.ndarray]:
    """The example numbers each epoch used, in order (the steps split evenly into epochs)."""
    sizes = np.asarray(record["sizes"], dtype=np.int64)
    ids = np.asarray(record["ids"], dtype=np.int64)
    per_epoch = len(sizes) // n_epochs
    ends = np.cumsum(sizes)[per_epoch - 1 :: per_epoch] if per_epoch else []
    return np.split(ids, ends)[:n_epochs]


def each_example_once(record: dict[str, Any], method: str, m: int, n_epochs: int) -> None:
    for epoch in epochs(record, n_epochs):
        if not np.array_equal(np.sort(epoch), np.arange(m)):
            raise GradingFailure(f"an epoch of {method} did not use every example exactly once: "
                                 "go through a permutation of all the examples in each epoch")


def check_steps(record: dict[str, Any], method: str, settings: dict[str, Any]) -> None:
    """Update rule, cost history and falling cost of a probe run."""
    lr = settings["learning_rate"]
    X, theta0 = probe_data(settings["m"])
    called(record, method)
    thetas = checks.array(record["thetas"], "theta").reshape(-1, D)
    grads = checks.array(record["grads"], "gradient")
    final = checks.shape(record["theta"], (D,), f"the theta {method} returns")
    if not record["untouched"]:
        raise GradingFailure(f"{method} changed the theta array passed in: work on a copy")
    if checks.rel_error(thetas[0], theta0) > 1e-9:
        raise GradingFailure(f"the first step of {method} did not start from the theta passed in")
    path = np.vstack([thetas, final])
    if checks.rel_error(path[1:], thetas - lr * grads) > 1e-9:
        raise GradingFailure(f"a step of {method} did not move theta by -learning_rate times the "
                             "gradient of the step (or the theta returned is not the last one)")
    costs = checks.array(record["costs"], f"the cost history {method} returns")
    if costs.shape != (len(path),):
        raise GradingFailure(f"the cost history of {method} has shape {list(costs.shape)}; it "
                             "should be 1-D with one cost before the first step and one after "
                             "each step")
    checks.finite(costs, f"the cost history of {method}")
    if checks.rel_error(costs, [probe_cost(X, t) for t in path]) > 1e-9:
        raise GradingFailure(f"the cost history of {method} does not hold the cost of the whole "
                             "training set at the current theta (cost(X, y, theta) on all "
                             "examples, before the first step and after each step)")
    if not costs[-1] < costs[0]:
        raise GradingFailure(f"the cost does not fall during {method}'s run")


def check_shuffles(probe: Callable[[str], dict[str, Any]], method: str, name: str) -> None:
    runs = {key: probe(key) for key in (name, f"{name}_again", f"{name}_other")}
    first = runs[name]
    m, n_epochs = PROBES[name]["m"], PROBES[name]["n_epochs"]
    if np.any(called(first, method) > PROBES[name].get("batch_size", 1)):
        raise GradingFailure(f"the steps of {method} use more examples than they should, so they "
                             "do not walk through a shuffled order (see the test of the examples "
                             "per step)")

    def order(record: dict[str, Any]) -> tuple[list[int], list[int]]:
        return (np.asarray(record["sizes"]).tolist(), np.asarray(record["ids"]).tolist())

    if order(first) != order(runs[f"{name}_again"]):
        raise GradingFailure(f"two runs of {method} with the same seed used the examples in "
                             "different orders: draw the order from np.random.default_rng(seed)")
    parts = epochs(first, n_epochs)
    if np.array_equal(parts[0][:m], np.arange(m)[: len(parts[0])]):
        raise GradingFailure(f"the first epoch of {method} used the examples in their original "
                             "order: shuffle at the start of every epoch")
    if any(np.array_equal(a, b) for a, b in itertools.pairwise(parts)):
        raise GradingFailure(f"two epochs of {method} used the examples in the same order: draw "
                             "a new order at the start of every epoch")
    if order(first) == order(runs[f"{name}_other"]):
        raise GradingFailure(f"the order in which {method} uses the examples does not depend on "
                             "the seed: draw it from np.random.default_rng(seed)")


def check_fit(student: Any, method: str) -> None:
    settings, tol = FITS[method]
    X, y = regression_data(7)
    best = np.linalg.lstsq(X, y, rcond=None)[0]
    result = student.task("fit", method=method, X=X, y=y, theta=np.zeros(3), timeout=TIMEOUT,
                          **settings)
    theta = checks.shape(result["theta"], (3,), f"the theta {method} returns")
    if not np.all(np.isfinite(theta)):
        raise GradingFailure(f"{method} with your gradient diverged on regression data with a "
                             "learning rate that should work (is the gradient's sign or scale "
                             "right?)")
    if np.max(np.abs(theta - best)) > tol:
        raise GradingFailure(f"{method} with your gradient ends too far from the least-squares "
                             f"solution on regression data (tolerance {tol:g} per parameter)")


# --- cost and gradient ------------------------------------------------------------------------

@pytest.mark.points(2)
def test_cost_values(student: Any, reference: Any) -> None:
    """cost: a single number equal to 1/(2m) sum (yhat - y)^2 on random data of several sizes"""
    rng = np.random.default_rng(1)
    cases = [("a single example", 1, 1), ("a single example", 1, 3),
             ("a few examples", 5, 2), ("many examples", 40, 4)]
    for kind, m, d in cases:
        X, y, theta = random_problem(rng, m, d)
        got = checks.scalar(student.call("cost", X, y, theta), "cost's result")
        checks.close(got, reference.call("cost", X, y, theta), "cost's result", tol=1e-7,
                     on=kind)
    X, _, theta = random_problem(rng, 8, 3)
    got = checks.scalar(student.call("cost", X, X @ theta, theta), "cost's result")
    if abs(got) > 1e-9:
        raise GradingFailure("cost is not 0 when the predictions equal the targets exactly")


@pytest.mark.points(1)
def test_gradient_shape(student: Any) -> None:
    """gradient: an array shaped like theta, for one example and for many"""
    rng = np.random.default_rng(2)
    for m, d in ((1, 1), (1, 3), (6, 2), (9, 5)):
        X, y, theta = random_problem(rng, m, d)
        checks.shape(student.call("gradient", X, y, theta), (d,), "gradient's result")


@pytest.mark.points(2)
def test_gradient_centred_differences(student: Any, reference: Any) -> None:
    """gradient: agrees with centred differences of the cost J on random data"""
    rng = np.random.default_rng(3)
    h = 1e-5
    for kind, m, d in (("a single example", 1, 3), ("a few examples", 7, 2),
                       ("many examples", 50, 4)):
        X, y, theta = random_problem(rng, m, d)
        numeric = np.zeros(d)
        for j in range(d):
            step = np.eye(d)[j] * h
            numeric[j] = (reference.call("cost", X, y, theta + step)
                          - reference.call("cost", X, y, theta - step)) / (2 * h)
        got = checks.shape(student.call("gradient", X, y, theta), (d,), "gradient's result")
        checks.close(got, numeric, "gradient's result", tol=1e-6, on=kind)


# --- batch gradient descent ----------------------------------------------------------------------

@pytest.mark.points(1)
def test_batch_uses_all_examples(probe: Any) -> None:
    """batch_gradient_descent: one step per epoch, each on all the examples"""
    record, settings = probe("batch"), PROBES["batch"]
    sizes = called(record, BATCH)
    no_problems(record, BATCH)
    steps, want = len(sizes), settings["n_epochs"]
    if steps != want:
        raise GradingFailure(f"batch_gradient_descent took {'more' if steps > want else 'fewer'} "
                             "steps than one per epoch")
    each_example_once(record, BATCH, settings["m"], settings["n_epochs"])


@pytest.mark.points(2)
def test_batch_steps_and_history(probe: Any) -> None:
    """batch_gradient_descent: steps of -learning_rate * gradient; the cost recorded and falling"""
    record = probe("batch")
    check_steps(record, BATCH, PROBES["batch"])
    if not np.all(np.diff(np.asarray(record["costs"], dtype=float)) < 0):
        raise GradingFailure("the cost of batch_gradient_descent rose at some step with a small "
                             "learning rate")


@pytest.mark.points(1)
def test_batch_fits_least_squares(student: Any) -> None:
    """batch_gradient_descent with your gradient: reaches least squares in 100 epochs"""
    check_fit(student, BATCH)


# --- stochastic gradient descent --------------------------------------------------------------

@pytest.mark.points(2)
def test_sgd_one_example_per_step(probe: Any) -> None:
    """stochastic_gradient_descent: one example per step, every example once per epoch"""
    record, settings = probe("sgd"), PROBES["sgd"]
    sizes = called(record, SGD)
    no_problems(record, SGD)
    if np.any(sizes != 1):
        raise GradingFailure("a step of stochastic_gradient_descent passed gradient "
                             f"{'no example' if np.any(sizes == 0) else 'several examples'}; "
                             "each step uses exactly one (X[i:i + 1], y[i:i + 1])")
    steps, want = len(sizes), settings["m"] * settings["n_epochs"]
    if steps != want:
        raise GradingFailure(f"stochastic_gradient_descent took {'more' if steps > want else 'fewer'}"
                             " steps than one per example in each epoch")
    each_example_once(record, SGD, settings["m"], settings["n_epochs"])


@pytest.mark.points(1)
def test_sgd_shuffles(probe: Any) -> None:
    """stochastic_gradient_descent: a new random order every epoch, the same for the same seed"""
    check_shuffles(probe, SGD, "sgd")


@pytest.mark.points(1)
def test_sgd_steps_and_history(probe: Any) -> None:
    """stochastic_gradient_descent: steps of -learning_rate * gradient; the cost recorded"""
    check_steps(probe("sgd"), SGD, PROBES["sgd"])


@pytest.mark.points(1)
def test_sgd_fits_least_squares(student: Any) -> None:
    """stochastic_gradient_descent with your gradient: ends near least squares in 20 epochs"""
    check_fit(student, SGD)


# --- mini-batch gradient descent --------------------------------------------------------------

@pytest.mark.points(2)
def test_minibatch_batch_sizes(probe: Any) -> None:
    """minibatch_gradient_descent: batch_size examples per step, the rest last, all once per epoch"""
    for name in ("mini", "mini_even"):
        record, settings = probe(name), PROBES[name]
        sizes = called(record, MINI)
        no_problems(record, MINI)
        m, n, n_epochs = settings["m"], settings["batch_size"], settings["n_epochs"]
        if np.any(sizes > n) or np.any(sizes == 0):
            raise GradingFailure("a step of minibatch_gradient_descent passed gradient "
                                 f"{'more than batch_size' if np.any(sizes > n) else 'no'} "
                                 "examples")
        steps, want = len(sizes), math.ceil(m / n) * n_epochs
        if steps < want and m % n and steps == (m // n) * n_epochs:
            raise GradingFailure("minibatch_gradient_descent left examples out when batch_size "
                                 "does not divide the number of examples: the last batch of an "
                                 "epoch holds the examples that are left")
        if steps != want:
            raise GradingFailure(f"minibatch_gradient_descent took "
                                 f"{'more' if steps > want else 'fewer'} steps per epoch than "
                                 "batches of batch_size examples need")
        full = sorted(sizes.tolist()[: want // n_epochs], reverse=True)
        if full != [n] * (m // n) + ([m % n] if m % n else []):
            raise GradingFailure("the batches of minibatch_gradient_descent are not batch_size "
                                 "examples each (with the rest in one last batch)")
        each_example_once(record, MINI, m, n_epochs)


@pytest.mark.points(1)
def test_minibatch_shuffles(probe: Any) -> None:
    """minibatch_gradient_descent: a new random order every epoch, the same for the same seed"""
    check_shuffles(probe, MINI, "mini")


@pytest.mark.points(1)
def test_minibatch_steps_and_history(probe: Any) -> None:
    """minibatch_gradient_descent: steps of -learning_rate * gradient; the cost recorded"""
    check_steps(probe("mini"), MINI, PROBES["mini"])


@pytest.mark.points(1)
def test_minibatch_fits_least_squares(student: Any) -> None:
    """minibatch_gradient_descent with your gradient: ends near least squares in 30 epochs"""
    check_fit(student, MINI)


# --- divergence ---------------------------------------------------------------------------------

@pytest.mark.points(1)
def test_divergence_reported(probe: Any) -> None:
    """all three optimizers: a far too large learning rate ends the history at the first inf/NaN"""
    for name, method in (("batch_huge", BATCH), ("sgd_huge", SGD), ("mini_huge", MINI)):
        try:
            record = probe(name)
        except StudentError as exc:
            if exc.kind == "not_implemented":
                raise
            raise GradingFailure(f"with a learning rate far too large: {exc}") from None
        steps = len(called(record, method))
        costs = checks.array(record["costs"], f"the cost history of {method}").ravel()
        bad = ~np.isfinite(costs.astype(float))
        where = f"with a learning rate far too large, {method}"
        if not bad.any():
            raise GradingFailure(f"{where} returned a history without an inf or NaN cost: record "
                                 "every cost, the last one included")
        if bad[:-1].any() or steps != len(costs) - 1:
            raise GradingFailure(f"{where} went on after the cost stopped being finite: stop and "
                                 "return right after the first inf or NaN cost")
