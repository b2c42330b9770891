"""mlp_mnist's leaderboard entry: the test accuracy of the student's network, measured here.

No points: a course turns Gradescope's leaderboard on to let students compare what their own
choices (``learning_rate``, ``n_batch``, ``n_iter`` in the notebook) make of the lecture's network.
The worker trains the 784-100-10 network with the submission's ``build_model``, ``build_loss`` and
``train`` from the same start for everyone and returns the trained weights; the accuracy on the
10,000 MNIST test images is computed here, with the grader's own forward pass and the test labels,
which never enter the worker. What the submission prints or returns about itself counts for
nothing; a network that is not the lecture's (no ReLU, say) scores what the lecture's forward pass
makes of its weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.data import mnist

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


def accuracy(weights: dict[str, Any], biases: dict[str, Any]) -> float:
    """Percent of the MNIST test images the lecture's network with these weights classifies."""
    folder = mnist.ensure()
    images = mnist.pixels(mnist.read_idx(folder / mnist.TEST_IMAGES)).astype(np.float64)
    labels = mnist.read_idx(folder / mnist.TEST_LABELS).astype(np.int64)
    w1, w2 = (np.asarray(weights[k], np.float64) for k in ("hidden1", "output"))
    b1, b2 = (np.asarray(biases[k], np.float64) for k in ("hidden1", "output"))
    if w1.shape != SHAPES["hidden1"] or w2.shape != SHAPES["output"] or \
            b1.shape != (100,) or b2.shape != (10,):
        raise ValueError("the trained weights do not have the lecture's shapes")
    logits = np.maximum(images @ w1 + b1, 0) @ w2 + b2
    if not np.all(np.isfinite(logits)):
        return 0.0
    return round(100.0 * float(np.mean(np.argmax(logits, axis=1) == labels)), 2)


def measure(student: Any) -> tuple[list[dict[str, Any]], str]:
    """``([{"name", "value", "order"}], note)``: Gradescope's leaderboard entry and a line for
    the student saying how it was measured (or why the network could not be trained)."""
    weights, biases = start()
    try:
        trained = student.task("network_probe", weights=weights, biases=biases,
                               defaults=DEFAULTS, bounds=BOUNDS, seed=SEED)
        value = accuracy(trained["weights"], trained["biases"])
    except Exception as exc:  # the student's code failed: the entry is 0, and the note says why
        why = str(getattr(exc, "message", "") or exc).splitlines()[0][:300]
        return ([{"name": NAME, "value": 0.0, "order": "desc"}],
                f"Leaderboard: your network could not be trained ({why}), so its entry is 0.")
    used = trained.get("settings", {})
    settings = ", ".join(f"{k}={used[k]:g}" for k in DEFAULTS if k in used)
    return ([{"name": NAME, "value": value, "order": "desc"}],
            f"Leaderboard: your network, trained by your train with {settings}, classifies "
            f"{value:.2f}% of the 10,000 MNIST test images.")
