"""The steps of an optimizer's run, as the grader sees them from outside.

A probe run (``autograder.tasks.gradient_descent.probe``) gives an optimizer examples ``X``,
targets ``y`` (the example numbers 0, 1, ..., m - 1) and a start ``theta``, with stand-ins under
the names ``gradient`` and ``cost``. An optimizer that calls ``gradient`` for its steps, as the
notebook asks, leaves a record of every step: which examples, which ``theta``, which gradient.
An optimizer that computes its gradient itself (inline, or with helpers of its own) leaves no
record; it minimises the regression cost ``1/(2m) |X theta - y|^2`` of those same ``X`` and ``y``,
and :func:`reconstruct` follows its run through the cost history it returns: at each step it
tries every set of examples the step may have used and keeps the one whose step gives the next
cost. Both give the same :class:`Run`, judged by the same tests, so a correct optimizer earns the
same points however it computes its gradient.

Nothing here trusts the worker: the record is checked step by step against the grader's own
arithmetic, and a reconstruction is the grader's own.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.tasks.gradient_descent import probe_cost

REL = 1e-9  # two float64 computations of the same cost, in another order of operations
MAX_SUBSETS = 200_000


def regression_cost(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> float:
    """The assignment's cost on the probe's data: ``1/(2m) |X theta - y|^2``."""
    with np.errstate(over="ignore", invalid="ignore"):
        r = X @ theta - y
        return float(r @ r / (2 * len(y)))


def regression_gradients(X: np.ndarray, y: np.ndarray, theta: np.ndarray,
                         subsets: np.ndarray) -> np.ndarray:
    """The regression gradient on each row of ``subsets`` (example numbers), ``[k, d]``."""
    with np.errstate(over="ignore", invalid="ignore"):
        per_example = (X @ theta - y)[:, None] * X  # [m, d]
        return per_example[subsets].mean(axis=1)


@dataclass
class Run:
    """An optimizer's run: ``sizes[k]`` examples in step ``k`` (their numbers in ``ids``, in
    order), ``thetas[k]`` the parameters before step ``k``, ``grads[k]`` its gradient, and
    ``path`` the parameters before the first step and after each step."""

    sizes: np.ndarray
    ids: np.ndarray
    thetas: np.ndarray
    grads: np.ndarray
    inline: bool  # reconstructed from the costs: the optimizer never called ``gradient``
    problems: list[str] = field(default_factory=list)
    unexplained: str = ""  # where a reconstruction stopped before the end of the history
    stopped_at: int = -1  # the step it could not follow (-1: none)


def near(a: float, b: float) -> bool:
    if not (np.isfinite(a) and np.isfinite(b)):
        return False
    return abs(a - b) <= REL * (abs(a) + abs(b)) + 1e-300


def from_record(record: dict[str, Any], d: int) -> Run:
    return Run(sizes=np.asarray(record["sizes"], dtype=np.int64),
               ids=np.asarray(record["ids"], dtype=np.int64),
               thetas=np.asarray(record["thetas"], dtype=np.float64).reshape(-1, d),
               grads=np.asarray(record["grads"], dtype=np.float64).reshape(-1, d),
               inline=False, problems=list(record.get("problems", [])))


def _candidates(method: str, m: int, batch_size: int | None, used: set[int]) -> np.ndarray:
    """The example sets a step may use, as rows of numbers, given the examples its epoch has
    used so far."""
    if method == "batch":
        return np.arange(m)[None, :]
    if method == "sgd":  # any example: using one twice in an epoch is judged afterwards
        return np.arange(m)[:, None]
    assert batch_size is not None
    left = sorted(set(range(m)) - used)
    size = min(batch_size, len(left))
    subsets = itertools.islice(itertools.combinations(left, size), MAX_SUBSETS)
    return np.array(list(subsets), dtype=np.int64).reshape(-1, size)


def reconstruct(*, method: str, X: np.ndarray, y: np.ndarray, theta: np.ndarray,
                learning_rate: float, costs: np.ndarray, batch_size: int | None = None) -> Run:
    """Follow a run of ``method`` ("batch", "sgd", "mini") through its cost history.

    Each cost may be the regression cost or the probe cost (the stand-in ``cost`` the optimizer
    may call): the first cost says which. Steps whose cost is not finite end the history and are
    not followed. The result's ``unexplained`` says where the history stopped making sense.
    """
    m, d = X.shape
    costs = np.asarray(costs, dtype=np.float64).ravel()
    theta = np.array(theta, dtype=np.float64)
    run = Run(sizes=np.zeros(0, np.int64), ids=np.zeros(0, np.int64),
              thetas=np.zeros((0, d)), grads=np.zeros((0, d)), inline=True)
    if costs.size == 0:
        run.unexplained = "the cost history is empty"
        return run
    kinds = [kind for kind, fn in (("regression", lambda t: regression_cost(X, y, t)),
                                   ("probe", lambda t: probe_cost(X, t))) if near(costs[0], fn(theta))]
    if not kinds:
        run.unexplained = ("the first cost of the history is not the cost of the whole training "
                           "set at the theta passed in")
        return run
    if kinds[0] == "regression":
        def cost_of(t: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                r = t @ X.T - y
                return np.sum(r * r, axis=-1) / (2 * m)
    else:
        def cost_of(t: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore", invalid="ignore"):
                return np.sum((t[:, None, :] - X[None]) ** 2, axis=(1, 2)) / (2 * m)

    sizes, ids, thetas, grads = [], [], [], []
    used: set[int] = set()
    for k in range(1, costs.size):
        if not np.isfinite(costs[k]):
            break  # the run diverged: the step that overflowed cannot be followed exactly
        if len(used) == m:
            used = set()
        # A step continues the epoch; if it cannot, it may start a new one (an epoch that left
        # examples out is judged afterwards, from the sizes of its steps).
        for fresh in (False, True) if used else (True,):
            pool = set() if fresh else used
            subsets = _candidates(method, m, batch_size, pool)
            g = regression_gradients(X, y, theta, subsets)
            with np.errstate(over="ignore", invalid="ignore"):
                after = theta[None, :] - learning_rate * g
                c = cost_of(after)
                err = np.abs(c - costs[k])
                ok = np.isfinite(err) & (err <= REL * (np.abs(c) + abs(costs[k])) + 1e-300)
            if ok.any():
                used = pool
                break
        else:
            whole = regression_gradients(X, y, theta, np.arange(m)[None, :])
            with np.errstate(over="ignore", invalid="ignore"):
                everything = near(float(cost_of(theta[None, :] - learning_rate * whole)[0]),
                                  float(costs[k]))
            run.unexplained = ("a step that used all the examples" if everything and
                               method != "batch" else f"step {k}")
            run.stopped_at = k
            break
        best = int(np.argmin(np.where(ok, err, np.inf)))
        chosen = subsets[best]
        sizes.append(len(chosen))
        ids.extend(int(i) for i in chosen)
        thetas.append(theta.copy())
        grads.append(g[best])
        used = used | {int(i) for i in chosen}
        theta = after[best]
    run.sizes = np.array(sizes, dtype=np.int64)
    run.ids = np.array(ids, dtype=np.int64)
    run.thetas = np.array(thetas, dtype=np.float64).reshape(-1, d)
    run.grads = np.array(grads, dtype=np.float64).reshape(-1, d)
    return run
