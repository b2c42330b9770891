"""Hidden suite of ``gradient_descent``: cost, gradient and the three optimizers.

``cost`` and ``gradient`` are compared with the reference and with centred differences on random
regression problems drawn for this submission.

Each optimizer is judged on *probe runs* (``autograder.tasks.gradient_descent``) on small data
sets drawn for this submission, whose size the batch size divides, does not divide, and leaves a
last batch of one example, with seeds,
learning rates and numbers of epochs other than the notebook's. The run's ``gradient`` and
``cost`` are trusted stand-ins of another problem, so an optimizer that calls them, as the
notebook asks, is judged apart from the student's own ``gradient`` and ``cost``: every step is
recorded. An optimizer that computes its gradient itself is followed through the cost history it
returns instead (``steps.py``); either way the same tests judge the same run (examples per step,
every example once per epoch, a new order every epoch that the seed decides, steps of
``-learning_rate * gradient``, the cost of the whole set before and after every step, stopping at
the first inf or NaN). Only the tests of the optimizer itself depend on it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError
from autograder.suites.gradient_descent import steps

BATCH, SGD, MINI = ("batch_gradient_descent", "stochastic_gradient_descent",
                    "minibatch_gradient_descent")
SHORT = {BATCH: "batch", SGD: "sgd", MINI: "mini"}
TIMEOUT = 30.0
D = 3  # parameters of the probe problems
RATES = (0.03, 0.09)  # a learning rate is drawn from these for each submission: stable for the
# probe problem and the regression on the probe's data, and never a round number a notebook uses
HUGE = 1000.0  # far too large: the cost overflows after some 50 steps


def random_problem(rng: np.random.Generator, m: int, d: int) -> tuple[np.ndarray, ...]:
    X = np.hstack([np.ones((m, 1)), rng.normal(0.0, 1.0, (m, d - 1))])
    return X, rng.normal(0.0, 2.0, m), rng.normal(0.0, 1.0, d)


# --- probe runs -------------------------------------------------------------------------------

def plan(hidden: Any) -> dict[str, dict[str, Any]]:
    """The probe runs of this submission: sizes, seeds and epochs drawn from its hidden inputs."""
    rng = hidden.rng("probe runs")
    m = int(rng.choice([11, 13]))
    size = int(rng.choice([b for b in (3, 4, 5) if m % b > 1]))
    even = int(rng.choice([3, 4]))
    one = int(rng.choice([b for b in (3, 4, 5) if m % b == 1]))  # a last batch of one
    seed, other = (int(s) for s in rng.choice(np.arange(1, 10_000), 2, replace=False))
    rate = round(float(rng.uniform(*RATES)), 4)  # a function that ignores its learning_rate fails
    sgd = {"method": SGD, "m": m, "learning_rate": rate, "n_epochs": 3, "seed": seed}
    mini = {"method": MINI, "m": m, "learning_rate": rate, "n_epochs": 3, "batch_size": size,
            "seed": seed}
    return {
        "batch": {"method": BATCH, "m": m, "learning_rate": rate,
                  "n_epochs": int(rng.integers(5, 9))},
        "sgd": sgd, "sgd_again": dict(sgd), "sgd_other": {**sgd, "seed": other},
        "mini": mini, "mini_again": dict(mini), "mini_other": {**mini, "seed": other},
        "mini_even": {"method": MINI, "m": 12, "learning_rate": rate, "n_epochs": 2,
                      "batch_size": even, "seed": other},
        "mini_one": {"method": MINI, "m": m, "learning_rate": rate, "n_epochs": 2,
                     "batch_size": one, "seed": seed},
        "batch_huge": {"method": BATCH, "m": m, "learning_rate": HUGE, "n_epochs": 200},
        "sgd_huge": {"method": SGD, "m": m, "learning_rate": HUGE, "n_epochs": 15, "seed": seed},
        "mini_huge": {"method": MINI, "m": m, "learning_rate": HUGE, "n_epochs": 60,
                      "batch_size": size, "seed": seed},
    }


def probe_data(hidden: Any, m: int) -> tuple[np.ndarray, np.ndarray]:
    rng = hidden.rng(f"probe data {m}")
    return rng.normal(0.5, 1.0, (m, D)), rng.normal(0.0, 3.0, D)


class Probe:
    """What one probe run did, as a :class:`steps.Run`, with what the optimizer returned."""

    def __init__(self, record: dict[str, Any], settings: dict[str, Any], X: np.ndarray,
                 theta: np.ndarray):
        self.record, self.settings, self.X, self.start = record, settings, X, theta
        self.method = settings["method"]
        try:
            costs = np.asarray(record["costs"], dtype=np.float64).ravel()
        except (TypeError, ValueError):
            costs = np.zeros(0)
        if len(record["sizes"]):
            self.run = steps.from_record(record, D)
        else:
            self.run = steps.reconstruct(method=SHORT[self.method], X=X,
                                         y=np.arange(len(X), dtype=float), theta=theta,
                                         learning_rate=settings["learning_rate"], costs=costs,
                                         batch_size=settings.get("batch_size"))

    def followed(self) -> steps.Run:
        """The run's steps; a failure if they could not be followed."""
        run = self.run
        if run.inline and run.unexplained:
            raise GradingFailure(
                f"{self.method} never calls gradient(X_batch, y_batch, theta), so the grader "
                "follows its run through the cost history it returns; at "
                f"{run.unexplained} that history is not the cost of the whole training set "
                f"after a step of -learning_rate times the gradient on {self._examples()}")
        if run.problems:
            raise GradingFailure(f"{self.method}: {run.problems[0]}")
        if len(run.sizes) == 0:
            raise GradingFailure(f"{self.method} took no step")
        return run

    def _examples(self) -> str:
        return {BATCH: "all the examples", SGD: "one example",
                MINI: "batch_size examples not yet used in the epoch (the rest last)"}[self.method]


@pytest.fixture(scope="module")
def probe(student: Any, hidden: Any) -> Callable[[str], Probe]:
    """``probe(name)``: the run ``plan(hidden)[name]``, run once per module."""
    runs = plan(hidden)
    done: dict[str, tuple[Probe | None, StudentError | None]] = {}

    def run(name: str) -> Probe:
        if name not in done:
            settings = dict(runs[name])
            X, theta = probe_data(hidden, settings["m"])
            kwargs = {k: v for k, v in settings.items() if k != "m"}
            try:
                record = student.task("probe", X=X, theta=theta, timeout=TIMEOUT, **kwargs)
                done[name] = (Probe(record, settings, X, theta), None)
            except StudentError as exc:
                done[name] = (None, exc)
        result, error = done[name]
        if error is not None:
            raise error
        assert result is not None
        return result

    return run


def epochs(run: steps.Run, n_epochs: int) -> list[np.ndarray]:
    """The example numbers each epoch used, in order (the steps split evenly into epochs)."""
    per_epoch = len(run.sizes) // n_epochs
    ends = np.cumsum(run.sizes)[per_epoch - 1 :: per_epoch] if per_epoch else []
    return np.split(run.ids, ends)[:n_epochs]


def each_example_once(run: steps.Run, method: str, m: int, n_epochs: int) -> None:
    for epoch in epochs(run, n_epochs):
        if not np.array_equal(np.sort(epoch), np.arange(m)):
            raise GradingFailure(f"an epoch of {method} did not use every example exactly once: "
                                 "go through a permutation of all the examples in each epoch")


def check_steps(probe: Probe) -> np.ndarray:
    """Update rule and cost history of a probe run; returns the history."""
    method, lr = probe.method, probe.settings["learning_rate"]
    run = probe.followed()
    final = checks.shape(probe.record["theta"], (D,), f"the theta {method} returns")
    if not probe.record["untouched"]:
        raise GradingFailure(f"{method} changed the theta array passed in: work on a copy")
    costs = checks.array(probe.record["costs"], f"the cost history {method} returns")
    if costs.ndim != 1:
        raise GradingFailure(f"the cost history of {method} has shape {list(costs.shape)}; it "
                             "should be 1-D with one cost before the first step and one after "
                             "each step")
    checks.finite(costs, f"the cost history of {method}")
    if run.inline:
        path = np.vstack([run.thetas, run.thetas[-1] - lr * run.grads[-1]])
    else:
        if checks.rel_error(run.thetas[0], probe.start) > 1e-9:
            raise GradingFailure(f"the first step of {method} did not start from the theta "
                                 "passed in")
        path = np.vstack([run.thetas, final])
        if checks.rel_error(path[1:], run.thetas - lr * run.grads) > 1e-9:
            raise GradingFailure(f"a step of {method} did not move theta by -learning_rate times "
                                 "the gradient of the step (or the theta returned is not the "
                                 "last one)")
    if checks.rel_error(final, path[-1]) > 1e-9:
        raise GradingFailure(f"the theta {method} returns is not the theta after its last step")
    if costs.shape != (len(path),):
        raise GradingFailure(f"the cost history of {method} has {costs.size} entries for "
                             f"{len(path) - 1} steps; it should hold one cost before the first "
                             "step and one after each step")
    y = np.arange(len(probe.X), dtype=float)
    for cost_of in (lambda t: steps.probe_cost(probe.X, t),
                    lambda t: steps.regression_cost(probe.X, y, t)):
        if checks.rel_error(costs, [cost_of(t) for t in path]) <= 1e-9:
            break
    else:
        raise GradingFailure(f"the cost history of {method} does not hold the cost of the whole "
                             "training set at the current theta (cost(X, y, theta) on all "
                             "examples, before the first step and after each step)")
    if not run.inline and not costs[-1] < costs[0]:
        raise GradingFailure(f"the cost does not fall during {method}'s run")
    return costs


def check_shuffles(probe: Callable[[str], Probe], method: str, name: str) -> None:
    first = probe(name)
    run = first.followed()
    m, n_epochs = first.settings["m"], first.settings["n_epochs"]
    if np.any(run.sizes > first.settings.get("batch_size", 1)):
        raise GradingFailure(f"the steps of {method} use more examples than they should, so they "
                             "do not walk through a shuffled order (see the test of the examples "
                             "per step)")

    def order(p: Probe) -> tuple[list[int], list[int]]:
        r = p.followed()
        return r.sizes.tolist(), r.ids.tolist()

    if order(first) != order(probe(f"{name}_again")):
        raise GradingFailure(f"two runs of {method} with the same seed used the examples in "
                             "different orders: draw the order from np.random.default_rng(seed)")
    parts = epochs(run, n_epochs)
    if np.array_equal(parts[0][:m], np.arange(m)[: len(parts[0])]):
        raise GradingFailure(f"the first epoch of {method} used the examples in their original "
                             "order: shuffle at the start of every epoch")
    if any(np.array_equal(a, b) for a, b in itertools.pairwise(parts)):
        raise GradingFailure(f"two epochs of {method} used the examples in the same order: draw "
                             "a new order at the start of every epoch")
    if order(first) == order(probe(f"{name}_other")):
        raise GradingFailure(f"the order in which {method} uses the examples does not depend on "
                             "the seed: draw it from np.random.default_rng(seed)")


def check_divergence(probe: Callable[[str], Probe], name: str) -> None:
    try:
        result = probe(name)
    except StudentError as exc:
        if exc.kind == "not_implemented":
            raise
        raise GradingFailure(f"with a learning rate far too large: {exc}") from None
    method = result.method
    costs = checks.array(result.record["costs"], f"the cost history of {method}").ravel()
    bad = ~np.isfinite(costs.astype(float))
    where = f"with a learning rate far too large, {method}"
    if costs.size < 2:
        raise GradingFailure(f"{where} returned a history of {costs.size} cost(s)")
    if not bad.any():
        raise GradingFailure(f"{where} returned a history without an inf or NaN cost: record "
                             "every cost, the last one included")
    if bad[:-1].any():
        raise GradingFailure(f"{where} went on after the cost stopped being finite: stop and "
                             "return right after the first inf or NaN cost")
    run = result.run
    if not run.inline and len(run.sizes) != len(costs) - 1:
        raise GradingFailure(f"{where} took {len(run.sizes)} steps but recorded "
                             f"{len(costs) - 1} costs after steps")
    if run.inline and 0 <= run.stopped_at < len(costs) - 1:
        raise GradingFailure(f"{where}: before the cost overflowed, its history is not the cost "
                             "of the whole set after steps of -learning_rate times the gradient")


# --- cost and gradient ------------------------------------------------------------------------

def numeric_gradient(X: np.ndarray, y: np.ndarray, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred differences of the regression cost, computed here."""

    def J(v: np.ndarray) -> float:
        r = X @ v - y
        return float(r @ r) / (2 * len(y))

    return np.array([(J(theta + h * e) - J(theta - h * e)) / (2 * h) for e in np.eye(len(theta))])


@pytest.mark.points(2)
def test_cost_values(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """cost: a single number equal to 1/(2m) sum (yhat - y)^2 on random data of several sizes"""
    cases = [("a single example", 1, 1), ("a single example", 1, 3),
             ("a few examples", int(rng.integers(3, 8)), 2), ("many examples", 40, 4)]
    for kind, m, d in cases:
        X, y, theta = random_problem(rng, m, d)
        got = checks.scalar(student.call("cost", X, y, theta), "cost's result")
        checks.close(got, reference.call("cost", X, y, theta), "cost's result", tol=1e-7,
                     on=kind)


@pytest.mark.points(1)
def test_cost_perfect_fit(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """cost: 0 when the predictions equal the targets, and larger the further they are off"""
    X, _, theta = random_problem(rng, int(rng.integers(6, 12)), 3)
    got = checks.scalar(student.call("cost", X, X @ theta, theta), "cost's result")
    if abs(got) > 1e-9:
        raise GradingFailure("cost is not 0 when the predictions equal the targets exactly")
    noisy = [X @ theta + rng.normal(0, s, len(X)) for s in (0.1, 1.0, 5.0)]
    values = [checks.scalar(student.call("cost", X, y, theta), "cost's result") for y in noisy]
    checks.same_order([got, *values], [0.0, *(reference.call("cost", X, y, theta) for y in noisy)],
                      "cost's result", on="targets further and further from the predictions")


@pytest.mark.points(1)
def test_gradient_shape(student: Any, rng: np.random.Generator) -> None:
    """gradient: an array shaped like theta, pointing where the cost grows, for one or many examples"""
    for m, d in ((1, 1), (1, 3), (int(rng.integers(4, 9)), 2), (9, 5)):
        X, y, theta = random_problem(rng, m, d)
        got = checks.finite(checks.shape(student.call("gradient", X, y, theta), (d,),
                                         "gradient's result"), "gradient's result")
        want = numeric_gradient(X, y, theta)
        cosine = float(got @ want) / max(1e-300, float(np.linalg.norm(got) * np.linalg.norm(want)))
        if cosine < 0.99:
            raise GradingFailure("gradient's result does not point in the direction in which the "
                                 "cost grows fastest (compare with centred differences of cost)")


@pytest.mark.points(2)
def test_gradient_centred_differences(student: Any, rng: np.random.Generator) -> None:
    """gradient: agrees with centred differences of the cost J on random data"""
    for kind, m, d in (("a single example", 1, 3), ("a few examples", int(rng.integers(4, 9)), 2),
                       ("many examples", 50, 4)):
        X, y, theta = random_problem(rng, m, d)
        got = checks.shape(student.call("gradient", X, y, theta), (d,), "gradient's result")
        checks.close(got, numeric_gradient(X, y, theta), "gradient's result", tol=1e-6,
                     atol=1e-9, on=kind)


# --- batch gradient descent ----------------------------------------------------------------------

@pytest.mark.points(1)
def test_batch_uses_all_examples(probe: Any) -> None:
    """batch_gradient_descent: one step per epoch, each on all the examples"""
    result = probe("batch")
    run, settings = result.followed(), result.settings
    if len(run.sizes) != settings["n_epochs"]:
        more = "more" if len(run.sizes) > settings["n_epochs"] else "fewer"
        raise GradingFailure(f"batch_gradient_descent took {more} steps than one per epoch")
    each_example_once(run, BATCH, settings["m"], settings["n_epochs"])


@pytest.mark.points(2)
def test_batch_steps_and_history(probe: Any) -> None:
    """batch_gradient_descent: steps of -learning_rate * gradient; the cost recorded and falling"""
    costs = check_steps(probe("batch"))
    if not np.all(np.diff(costs) < 0):
        raise GradingFailure("the cost of batch_gradient_descent rose at some step with a small "
                             "learning rate")


@pytest.mark.points(1)
def test_batch_divergence(probe: Any) -> None:
    """batch_gradient_descent: stops at the first inf or NaN cost for a far too large rate"""
    check_divergence(probe, "batch_huge")


# --- stochastic gradient descent --------------------------------------------------------------

@pytest.mark.points(2)
def test_sgd_one_example_per_step(probe: Any) -> None:
    """stochastic_gradient_descent: one example per step, every example once per epoch"""
    result = probe("sgd")
    run, settings = result.followed(), result.settings
    if np.any(run.sizes != 1):
        raise GradingFailure("a step of stochastic_gradient_descent used "
                             f"{'no example' if np.any(run.sizes == 0) else 'several examples'}; "
                             "each step uses exactly one (X[i:i + 1], y[i:i + 1])")
    steps_taken, want = len(run.sizes), settings["m"] * settings["n_epochs"]
    if steps_taken != want:
        more = "more" if steps_taken > want else "fewer"
        raise GradingFailure(f"stochastic_gradient_descent took {more} steps than one per "
                             "example in each epoch")
    each_example_once(run, SGD, settings["m"], settings["n_epochs"])


@pytest.mark.points(1)
def test_sgd_shuffles(probe: Any) -> None:
    """stochastic_gradient_descent: a new random order every epoch, the same for the same seed"""
    check_shuffles(probe, SGD, "sgd")


@pytest.mark.points(1)
def test_sgd_steps_and_history(probe: Any) -> None:
    """stochastic_gradient_descent: steps of -learning_rate * gradient; the cost recorded"""
    check_steps(probe("sgd"))


@pytest.mark.points(1)
def test_sgd_divergence(probe: Any) -> None:
    """stochastic_gradient_descent: stops at the first inf or NaN cost for a far too large rate"""
    check_divergence(probe, "sgd_huge")


# --- mini-batch gradient descent --------------------------------------------------------------

@pytest.mark.points(2)
def test_minibatch_batch_sizes(probe: Any) -> None:
    """minibatch_gradient_descent: batch_size examples per step, the rest last, all once per epoch"""
    for name in ("mini", "mini_even", "mini_one"):
        result = probe(name)
        run, settings = result.followed(), result.settings
        sizes = run.sizes
        m, n, n_epochs = settings["m"], settings["batch_size"], settings["n_epochs"]
        if np.any(sizes > n) or np.any(sizes == 0):
            raise GradingFailure("a step of minibatch_gradient_descent used "
                                 f"{'more than batch_size' if np.any(sizes > n) else 'no'} "
                                 "examples")
        steps_taken, want = len(sizes), -(-m // n) * n_epochs
        if steps_taken < want and m % n and steps_taken == (m // n) * n_epochs:
            raise GradingFailure("minibatch_gradient_descent left examples out when batch_size "
                                 "does not divide the number of examples: the last batch of an "
                                 "epoch holds the examples that are left")
        if steps_taken != want:
            more = "more" if steps_taken > want else "fewer"
            raise GradingFailure(f"minibatch_gradient_descent took {more} steps per epoch than "
                                 "batches of batch_size examples need")
        full = sorted(sizes.tolist()[: want // n_epochs], reverse=True)
        if full != [n] * (m // n) + ([m % n] if m % n else []):
            raise GradingFailure("the batches of minibatch_gradient_descent are not batch_size "
                                 "examples each (with the rest in one last batch)")
        each_example_once(run, MINI, m, n_epochs)


@pytest.mark.points(1)
def test_minibatch_shuffles(probe: Any) -> None:
    """minibatch_gradient_descent: a new random order every epoch, the same for the same seed"""
    check_shuffles(probe, MINI, "mini")


@pytest.mark.points(1)
def test_minibatch_steps_and_history(probe: Any) -> None:
    """minibatch_gradient_descent: steps of -learning_rate * gradient; the cost recorded"""
    check_steps(probe("mini"))


@pytest.mark.points(1)
def test_minibatch_divergence(probe: Any) -> None:
    """minibatch_gradient_descent: stops at the first inf or NaN cost for a far too large rate"""
    check_divergence(probe, "mini_huge")
