"""gradient_descent's report figures: each optimizer's cost history next to the reference's.

No points, and no hidden input: the problem is the lecture's kind (``y = 4 + 3x + noise`` on 100
points, drawn with a fixed seed) and the settings are the demo's. The worker runs the student's
three optimizers with their own ``cost`` and ``gradient``; the reference runs in the grader. A
history is what the optimizer returned (a figure, not a grade: the hidden tests judge every step),
and next to it the grader marks the cost of the final ``theta`` it returned, computed here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SEED = 7
N_EPOCHS = 50
SETTINGS = {
    "batch_gradient_descent": {"learning_rate": 0.1, "n_epochs": N_EPOCHS},
    "stochastic_gradient_descent": {"learning_rate": 0.02, "n_epochs": N_EPOCHS, "seed": 0},
    "minibatch_gradient_descent": {"learning_rate": 0.1, "n_epochs": N_EPOCHS, "batch_size": 10,
                                   "seed": 0},
}
POINTS = 400  # a history is drawn with at most this many points


def problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    x = 2 * rng.random(100)
    return np.column_stack([np.ones_like(x), x]), 4 + 3 * x + rng.normal(0, 1, 100)


def _cost(X: np.ndarray, y: np.ndarray, theta: Any) -> float | None:
    theta = np.asarray(theta, dtype=float).ravel()
    if theta.shape != (X.shape[1],):
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(np.sum((X @ theta - y) ** 2) / (2 * len(y)))
    return value if np.isfinite(value) else None


def _series(costs: Any, label: str) -> dict[str, Any]:
    costs = np.asarray(costs, dtype=float).ravel()
    keep = np.unique(np.linspace(0, len(costs) - 1, min(len(costs), POINTS)).astype(int))
    epochs = keep * N_EPOCHS / max(len(costs) - 1, 1)
    finite = np.isfinite(costs[keep])
    return {"label": label, "x": np.round(epochs[finite], 4).tolist(),
            "y": np.round(costs[keep][finite], 6).tolist()}


def measure(student: Any, reference: Any = None, *, leaderboard: bool = False,
            figures_too: bool = False) -> dict[str, Any]:
    """``{"leaderboard": [], "note", "figures"}``: one figure per optimizer."""
    if not figures_too:
        return {"leaderboard": [], "note": "", "figures": []}
    X, y = problem()
    ask = {"X": X, "y": y, "theta": np.zeros(2), "settings": SETTINGS}
    mine = student.task("optimizer_runs", **ask)
    ref = reference.task("optimizer_runs", keep=True, **ask) if reference is not None else {}
    drawn, notes = [], []
    for name in SETTINGS:
        run = mine.get(name, {})
        if "error" in run:
            notes.append(f"{name} could not be run for the figure: {run['error']}")
            continue
        series = [_series(run["costs"], "your cost history, as returned")]
        if name in ref and "costs" in ref[name]:
            series.append(_series(ref[name]["costs"], "the reference"))
        final = _cost(X, y, run["theta"])
        if final is not None:
            series.append({"label": "the cost of your final theta, computed by the grader",
                           "x": [float(N_EPOCHS)], "y": [round(final, 6)]})
        drawn.append({"kind": "curves", "title": f"{name}: cost on the whole set",
                      "x_label": "epoch", "y_label": "cost", "series": series, "log_y": True})
    return {"leaderboard": [], "note": "\n".join(notes), "figures": drawn}
