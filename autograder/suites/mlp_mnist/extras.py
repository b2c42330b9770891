"""mlp_mnist's measures beyond the tests: the leaderboard entry and the report's figures.

No points, and no training run of their own: both come from the lecture's run the hidden suite
graded (``lecture.py``; the evaluator trained the network, the grader measures it). The
leaderboard entry is the test accuracy of the student's network, computed here with the grader's
own forward pass and the test labels, which never enter the worker or the evaluator.

The figures: the training curve (the loss on 1,000 test images, computed here from the weights
read every 30 steps) next to the reference's (the lecture's network trained by the grader itself
from a fixed start with the same settings, kept on disk), the confusion matrix on the test images,
and test digits the network misreads with the predicted and the true class. They show nothing the
student's own predictions on public MNIST images would not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.grading import kept
from autograder.suites.mlp_mnist import lecture

NAME = "Test accuracy (%)"
MISREAD = 16  # digits in the grid of misread ones


def reference_curve() -> list[list[float]]:
    """``[[step, held-out loss], ...]`` of the lecture's network trained by the grader at
    ``lecture.SETTINGS`` from a fixed start: the same for everyone, so it is kept on disk."""
    question = {"op": "reference lecture curve", "settings": lecture.SETTINGS,
                "every": lecture.SNAPSHOT_EVERY}
    return kept.answer("mlp_mnist", question, train_reference)


def train_reference() -> list[list[float]]:
    """The lecture's run of the reference network by the grader itself (no student code): its
    curve. The benchmark's floor of one grade is this run in a fresh process."""
    import tensorflow as tf

    from autograder.tasks import mlp_mnist as kit
    from autograder.worker.harness import session_config
    from coursekit.data import mnist

    tf1 = tf.compat.v1
    folder = mnist.ensure()
    images = mnist.pixels(mnist.read_idx(folder / mnist.TRAIN_IMAGES)[5000:])
    labels = mnist.one_hot(mnist.read_idx(folder / mnist.TRAIN_LABELS)[5000:])
    start = lecture.draw_start(np.random.default_rng(0))
    graph = tf.Graph()
    with graph.as_default():
        g = kit.lecture_base(tf, start)
        hidden = tf.nn.relu(tf.matmul(g["x"], g["weights"]["hidden1"]) + g["biases"]["hidden1"])
        out = tf.matmul(hidden, g["weights"]["output"]) + g["biases"]["output"]
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=g["y"], logits=out))
        step = tf1.train.AdamOptimizer(lecture.SETTINGS["learning_rate"]).minimize(loss)
        init = tf1.global_variables_initializer()
        variables = {f"{group}/{key}": g[group][key] for group in ("weights", "biases")
                     for key in kit.SHAPES}
    n_batch, n_iter = lecture.SETTINGS["n_batch"], lecture.SETTINGS["n_iter"]
    order = np.random.default_rng(0).permutation(len(images))
    curve = []
    with tf1.Session(graph=graph, config=session_config()) as sess:
        sess.run(init)
        for k in range(n_iter + 1):
            if k % lecture.SNAPSHOT_EVERY == 0 or k == n_iter:
                weights = dict(zip(variables, sess.run(list(variables.values())), strict=True))
                curve.append([k, round(lecture.held_out_loss(weights), 5)])
            if k < n_iter:
                idx = order[(k * n_batch + np.arange(n_batch)) % len(order)]
                sess.run(step, {g["x"]: images[idx], g["y"]: labels[idx]})
    return curve


def figures(run: lecture.Run, reference: list[list[float]] | None) -> list[dict[str, Any]]:
    """The report's figures, as plain data (``autograder/report/figures.py`` draws them)."""
    images, labels = lecture.test_set()
    predicted = np.argmax(lecture.logits(run.final, images), axis=1)
    mine = run.curve()
    series = [{"label": "your network", "x": [s for s, _ in mine],
               "y": [round(v, 5) for _, v in mine]}]
    if reference:
        series.append({"label": "the reference (the same settings)",
                       "x": [s for s, _ in reference], "y": [v for _, v in reference]})
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
    """``{"leaderboard": [{"name", "value", "order"}], "note": str, "figures": [...]}`` from the
    lecture's run the tests graded."""
    del reference
    run = lecture.finished(student.memo)

    def entry(value: float) -> list[dict[str, Any]]:
        return [{"name": NAME, "value": value, "order": "desc"}] if leaderboard else []

    if run is None or not run.final:
        why = (str(run.train_error) if run is not None and run.train_error is not None
               else "the lecture's run was not made")
        return {"leaderboard": entry(0.0), "figures": [],
                "note": f"Your network could not be trained ({why[:300]})"
                        + (", so its leaderboard entry is 0." if leaderboard else ".")}
    drawn = []
    if figures_too:  # what the grader measured, whether the run counts or not
        try:
            curve = reference_curve()
        except Exception:  # the reference is the kit's: without it, the student's curve alone
            curve = None
        drawn = figures(run, curve)
    why = run.problem()
    if why:
        return {"leaderboard": entry(0.0), "figures": drawn,
                "note": f"The lecture's run does not count ({why[:300]})"
                        + (", so its leaderboard entry is 0." if leaderboard else ".")}
    value = round(100.0 * run.accuracy, 2)
    settings = ", ".join(f"{k}={lecture.SETTINGS[k]:g}" for k in ("learning_rate", "n_batch",
                                                                   "n_iter"))
    return {"leaderboard": entry(value), "figures": drawn,
            "note": f"{'Leaderboard: y' if leaderboard else 'Y'}our network, trained by your "
                    f"train in the lecture's run ({settings}), classifies {value:.2f}% of the "
                    "10,000 MNIST test images."}
