"""mlp_mnist's measures beyond the tests: the leaderboard entry and the report's figures.

No points. The leaderboard entry is the test accuracy of the student's network: a course turns
Gradescope's leaderboard on to let students compare what their own choices (``learning_rate``,
``n_batch``, ``n_iter`` in the notebook) make of the lecture's network.
The worker trains the 784-100-10 network with the submission's ``build_model``, ``build_loss`` and
``train`` from the same start for everyone and returns the trained weights; the accuracy on the
10,000 MNIST test images is computed here, with the grader's own forward pass and the test labels,
which never enter the worker. What the submission prints or returns about itself counts for
nothing; a network that is not the lecture's (no ReLU, say) scores what the lecture's forward pass
makes of its weights.

The figures, from the same run: the training curve (the loss on 1,000 test images, computed here
from the weights read every 250 steps) next to the reference's, the confusion matrix on the test
images, and test digits the network misreads with the predicted and the true class. They show
nothing the student's own predictions on public MNIST images would not.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from coursekit.data import mnist

NAME = "Test accuracy (%)"
DEFAULTS = {"learning_rate": 0.0001, "n_batch": 50, "n_iter": 2500}  # the lecture's
# Settings outside these bounds are replaced by the defaults: the run stays under a minute.
BOUNDS = {"learning_rate": (1e-6, 1.0), "n_batch": (1, 500), "n_iter": (1, 5000)}
SEED = 0  # the same start for everyone: the entries compare settings and code, not luck
SHAPES = {"hidden1": (784, 100), "output": (100, 10)}


def start() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The weights and biases every run starts from: N(0, 0.1), as the lecture's init_params."""
    rng = np.random.default_rng(SEED)
    weights = {k: rng.normal(0, 0.1, shape).astype(np.float32) for k, shape in SHAPES.items()}
    biases = {k: rng.normal(0, 0.1, shape[1]).astype(np.float32) for k, shape in SHAPES.items()}
    return weights, biases


SNAPSHOTS = 10  # weights read this many times while training, for the curve
CURVE_IMAGES = 1000  # the training curve's loss is measured on the first test images
MISREAD = 16  # digits in the grid of misread ones


@functools.cache
def _test_set() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test images (float64) and labels, read once per grader (never written into)."""
    folder = mnist.ensure()
    images = mnist.pixels(mnist.read_idx(folder / mnist.TEST_IMAGES)).astype(np.float64)
    return images, mnist.read_idx(folder / mnist.TEST_LABELS).astype(np.int64)


def logits(weights: dict[str, Any], biases: dict[str, Any], images: np.ndarray) -> np.ndarray:
    """The lecture's forward pass, ``relu(x W1 + b1) W2 + b2``, in float64."""
    w1, w2 = (np.asarray(weights[k], np.float64) for k in ("hidden1", "output"))
    b1, b2 = (np.asarray(biases[k], np.float64) for k in ("hidden1", "output"))
    if w1.shape != SHAPES["hidden1"] or w2.shape != SHAPES["output"] or \
            b1.shape != (100,) or b2.shape != (10,):
        raise ValueError("the trained weights do not have the lecture's shapes")
    return np.maximum(images @ w1 + b1, 0) @ w2 + b2


def accuracy(weights: dict[str, Any], biases: dict[str, Any]) -> float:
    """Percent of the MNIST test images the lecture's network with these weights classifies."""
    images, labels = _test_set()
    out = logits(weights, biases, images)
    if not np.all(np.isfinite(out)):
        return 0.0
    return round(100.0 * float(np.mean(np.argmax(out, axis=1) == labels)), 2)


def _loss(weights: dict[str, Any], biases: dict[str, Any], images: np.ndarray,
          labels: np.ndarray) -> float | None:
    out = logits(weights, biases, images)
    shifted = out - out.max(axis=1, keepdims=True)
    value = float(np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(labels)),
                                                                           labels]))
    return value if np.isfinite(value) else None


def _curve(run: dict[str, Any], label: str) -> dict[str, Any]:
    images, labels = _test_set()
    images, labels = images[:CURVE_IMAGES], labels[:CURVE_IMAGES]
    points = [(int(step), _loss(w, b, images, labels)) for step, w, b in run.get("snapshots", [])]
    points = [(x, y) for x, y in points if y is not None]
    return {"label": label, "x": [x for x, _ in points], "y": [round(y, 5) for _, y in points]}


def figures(trained: dict[str, Any], reference: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The report's figures, as plain data (``autograder/report/figures.py`` draws them)."""
    images, labels = _test_set()
    predicted = np.argmax(logits(trained["weights"], trained["biases"], images), axis=1)
    series = [_curve(trained, "your network")]
    if reference is not None:
        series.append(_curve(reference, "the reference (the lecture's settings)"))
    matrix = np.zeros((10, 10), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    wrong = np.flatnonzero(predicted != labels)[:MISREAD]
    return [
        {"kind": "curves", "title": "training: loss on 1,000 test images, measured by the grader",
         "x_label": "training step", "y_label": "cross-entropy", "series": series},
        {"kind": "matrix", "title": "confusion matrix on the 10,000 test images",
         "rows_label": "true digit", "cols_label": "predicted digit", "values": matrix.tolist()},
        {"kind": "digits", "title": f"test digits your network misreads (the first {len(wrong)})",
         "images": [np.round(images[i] * 255).astype(int).tolist() for i in wrong],
         "captions": [f"read {predicted[i]}, is {labels[i]}" for i in wrong]},
    ]


def measure(student: Any, reference: Any = None, *, leaderboard: bool = True,
            figures_too: bool = False) -> dict[str, Any]:
    """``{"leaderboard": [{"name", "value", "order"}], "note": str, "figures": [...]}``:
    Gradescope's leaderboard entry, a line for the student saying how it was measured (or why
    the network could not be trained) and, with ``figures_too``, the report's figures."""
    weights, biases = start()
    ask = {"weights": weights, "biases": biases, "defaults": DEFAULTS, "bounds": BOUNDS,
           "seed": SEED, "snapshots": SNAPSHOTS if figures_too else 0}
    try:
        trained = student.task("network_probe", **ask)
        value = accuracy(trained["weights"], trained["biases"])
    except Exception as exc:  # the student's code failed: the entry is 0, and the note says why
        why = str(getattr(exc, "message", "") or exc).splitlines()[0][:300]
        return {"leaderboard": [{"name": NAME, "value": 0.0, "order": "desc"}] if leaderboard
                else [], "figures": [],
                "note": f"Your network could not be trained ({why})"
                        + (", so its leaderboard entry is 0." if leaderboard else ".")}
    used = trained.get("settings", {})
    settings = ", ".join(f"{k}={used[k]:g}" for k in DEFAULTS if k in used)
    drawn = []
    if figures_too:
        try:
            ref = (reference.task("network_probe", keep=True, **ask)  # the same for everyone
                   if reference is not None else None)
        except Exception:  # the reference is the kit's: without it, the student's curve alone
            ref = None
        drawn = figures(trained, ref)
    return {"leaderboard": [{"name": NAME, "value": value, "order": "desc"}] if leaderboard
            else [], "figures": drawn,
            "note": f"{'Leaderboard: y' if leaderboard else 'Y'}our network, trained by your "
                    f"train with {settings}, classifies {value:.2f}% of the 10,000 MNIST test "
                    "images."}
