"""backprop's report figures: where the network's gradients go wrong, entry by entry.

No points, and no hidden input: a fixed batch of 8 MNIST-sized random inputs and the lecture's
784-100-10 network drawn with a fixed seed. The worker runs the student's ``network_gradients``;
the reference's runs in the grader. For each gradient that differs somewhere (relative error over
1e-6), a heat map shows the relative error of every entry (``|g - g_ref| / (|g| + |g_ref|)``: 0
where right, 1 where unrelated), which says *where* it goes wrong (a layer, a row, the biases)
without showing any expected value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SEED = 11
TOLERANCE = 1e-6
SHAPES = {"hidden1": (784, 100), "output": (100, 10)}
MAX_COLUMNS = 112  # a wider map is pooled (the largest error of each block of inputs)


def inputs() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(SEED)
    x = rng.random((8, 784))
    y = np.eye(10)[rng.integers(0, 10, 8)]
    weights = {k: rng.normal(0, 0.1, shape) for k, shape in SHAPES.items()}
    biases = {k: rng.normal(0, 0.1, shape[1]) for k, shape in SHAPES.items()}
    return x, y, weights, biases


def relative(mine: Any, ref: np.ndarray) -> np.ndarray | None:
    """The relative error of each entry, or None if ``mine`` does not have ``ref``'s shape."""
    try:
        mine = np.asarray(mine, dtype=float)
    except (TypeError, ValueError):
        return None
    if mine.shape != ref.shape:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.abs(mine - ref) / np.maximum(np.abs(mine) + np.abs(ref), 1e-12)
    return np.nan_to_num(error, nan=1.0, posinf=1.0)


def measure(student: Any, reference: Any = None, *, leaderboard: bool = False,
            figures_too: bool = False) -> dict[str, Any]:
    """``{"leaderboard": [], "note", "figures"}``: a heat map per gradient that is wrong."""
    if not figures_too or reference is None:
        return {"leaderboard": [], "note": "", "figures": []}
    x, y, weights, biases = inputs()
    ref = reference.call("network_gradients", x, y, weights, biases)
    try:
        mine = student.call("network_gradients", x, y, weights, biases)
        _, dweights, dbiases = mine
    except Exception as exc:  # the student's function fails: the tests say why
        why = str(getattr(exc, "message", "") or exc).splitlines()[0][:200]
        return {"leaderboard": [], "figures": [],
                "note": f"network_gradients could not be run for the report's figures ({why})."}
    drawn, notes = [], []
    for kind, got, want in (("dL/dW", dweights, ref[1]), ("dL/db", dbiases, ref[2])):
        for layer in SHAPES:
            part = got.get(layer) if isinstance(got, dict) else None
            error = relative(part, np.asarray(want[layer], dtype=float))
            name = f"{kind} of the {layer} layer"
            if error is None:
                notes.append(f"{name}: not an array of the parameter's shape, so no heat map")
            elif error.max() > TOLERANCE:
                shown = error.T if error.ndim == 2 else error  # rows: the layer's outputs
                cols = "input unit" if error.ndim == 2 else "unit"
                if shown.ndim == 2 and shown.shape[1] > MAX_COLUMNS:
                    block = -(-shown.shape[1] // MAX_COLUMNS)
                    padded = np.pad(shown, ((0, 0), (0, block * MAX_COLUMNS - shown.shape[1])))
                    shown = padded.reshape(shown.shape[0], MAX_COLUMNS, block).max(axis=2)
                    cols = f"input units, {block} to a column (the largest error of each)"
                drawn.append({"kind": "heatmap", "title": f"{name}: relative error of each entry "
                              f"({np.mean(error > TOLERANCE):.0%} of them wrong)",
                              "values": np.round(shown, 3).tolist(),
                              "rows_label": "output unit" if error.ndim == 2 else "",
                              "cols_label": cols, "value_label": "relative error"})
    return {"leaderboard": [], "note": "\n".join(notes), "figures": drawn}
