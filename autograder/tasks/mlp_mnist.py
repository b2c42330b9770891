"""Tasks for ``mlp_mnist``: run the student's ``train`` and ``predict`` on graphs of the kit's own.

Neither task uses another function of the submission, so ``train`` and ``predict`` earn their
points on their own, whatever ``build_model`` and ``build_loss`` do. The kit's graph is a small
linear model ``x W + b`` with a squared-error loss, deliberately not the assignment's network or
loss (nothing here is an answer to copy), trained by plain gradient descent so that the grader can
replay every step in its own process:

``train_probe``   builds that graph from the weights the grader sends, hands ``train`` a session,
                  the placeholders, the step, the loss and a ``data`` object that serves the
                  images the grader sent, ``n_batch`` at a time in order; returns the costs
                  ``train`` returned and the weights after it.
``predict_probe`` builds the same kind of graph, sets its variables to weights the grader sent
                  and returns what ``predict`` says of images the grader sent.

What comes back is judged in the grader against its own replay: nothing here is trusted, and the
batch sizes ``data`` saw asked for are only used for hints.

``network_probe`` is no test: it trains the lecture's network with the submission's own
``build_model``, ``build_loss`` and ``train`` on the MNIST training set, for the leaderboard and the
report's figures (see ``autograder/suites/mlp_mnist/extras.py``). It returns the trained weights
(and, if asked, the weights every so many steps); the grader computes the test accuracy and the
training curve from them with its own forward pass and the test labels, which the worker never
sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.worker.harness import (
    CallFailed,
    describe,
    invoke,
    resolve,
    session_config,
    tensorflow,
    to_plain,
)

TASKS = ("train_probe", "predict_probe", "network_probe")


class Batches:
    """The ``data`` argument of ``train``: ``next_batch(n)`` returns the next ``n`` images and
    labels, in the order given, starting again at the first after the last."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = np.asarray(images, dtype=np.float32)
        self.labels = np.asarray(labels, dtype=np.float32)
        self.num_examples = len(self.images)
        self.epochs_completed = 0
        self.sizes: list[int] = []
        self._pos = 0

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        n = int(batch_size)
        if not 0 < n <= self.num_examples:
            raise ValueError(f"batch_size must be in 1..{self.num_examples}")
        self.sizes.append(n)
        idx = (self._pos + np.arange(n)) % self.num_examples
        if self._pos + n >= self.num_examples:
            self.epochs_completed += 1
        self._pos = (self._pos + n) % self.num_examples
        return self.images[idx], self.labels[idx]


def _linear_graph(tf: Any, weights: np.ndarray, bias: np.ndarray) -> tuple[Any, ...]:
    """Placeholders, variables and logits of ``x W + b`` in the current default graph."""
    tf1 = tf.compat.v1
    x = tf1.placeholder(tf.float32, [None, weights.shape[0]], name="x")
    y = tf1.placeholder(tf.float32, [None, weights.shape[1]], name="y")
    w = tf.Variable(np.asarray(weights, dtype=np.float32), name="W")
    b = tf.Variable(np.asarray(bias, dtype=np.float32), name="b")
    return x, y, w, b, tf.matmul(x, w) + b


def train_probe(ns: dict[str, Any], *, images: np.ndarray, labels: np.ndarray,
                weights: np.ndarray, bias: np.ndarray, learning_rate: float, n_batch: int,
                n_iter: int, n_prt: int) -> dict[str, Any]:
    """``train(sess, x, y, train_op, loss, data, n_batch, n_iter, n_prt)`` on the kit's graph.

    The loss is ``mean over the batch of 1/2 |x W + b - y|^2`` and ``train_op`` one step of
    gradient descent on it. Returns ``{"costs" (or "costs_error"), "weights", "bias", "sizes"}``.
    """
    tf = tensorflow()
    tf1 = tf.compat.v1
    data = Batches(images, labels)
    graph = tf.Graph()
    with graph.as_default():
        x, y, w, b, logits = _linear_graph(tf, weights, bias)
        loss = 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(logits - y), axis=1))
        train_op = tf1.train.GradientDescentOptimizer(learning_rate).minimize(loss)
        with tf1.Session(graph=graph, config=session_config()) as sess:
            sess.run(tf1.global_variables_initializer())
            costs = invoke(resolve(ns, "train"), "train", sess, x, y, train_op, loss, data,
                           n_batch, n_iter, n_prt)
            try:
                after_w, after_b = sess.run([w, b])
            except Exception as exc:  # e.g. train closed the session or reset the graph
                raise CallFailed("exception", "the weights cannot be read after train returned "
                                 f"({describe(exc)}): leave the session open") from None
    result = {"weights": after_w, "bias": after_b,
              "sizes": np.asarray(data.sizes[:100_000], dtype=np.int64)}
    try:  # what train returns is judged apart from what it did to the weights
        result["costs"] = to_plain(costs, "train")
    except CallFailed as exc:
        result["costs_error"] = exc.message
    return result


def predict_probe(ns: dict[str, Any], *, weights: np.ndarray, bias: np.ndarray,
                  images: np.ndarray) -> dict[str, Any]:
    """``predict(sess, x, logits, images)`` with the logits ``x W + b`` of the kit's graph."""
    tf = tensorflow()
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        # The variables start at 0 and are then set to the weights, as training would leave
        # them: a predict that initialises the variables again predicts from zeros.
        x, _, w, b, logits = _linear_graph(tf, np.zeros_like(weights), np.zeros_like(bias))
        with tf1.Session(graph=graph, config=session_config()) as sess:
            sess.run(tf1.global_variables_initializer())
            w.load(np.asarray(weights, dtype=np.float32), sess)
            b.load(np.asarray(bias, dtype=np.float32), sess)
            predicted = invoke(resolve(ns, "predict"), "predict", sess, x, logits,
                               np.asarray(images, dtype=np.float32))
    return {"predicted": predicted}


def _setting(ns: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = ns.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        return default
    return float(value) if low <= float(value) <= high else default


class _Watched(Batches):
    """``Batches`` that hands ``take(step)`` the step count before every ``every``-th batch."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, every: int, take: Any):
        super().__init__(images, labels)
        self.every, self.take, self.steps = every, take, 0

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        if self.every and self.steps % self.every == 0:
            self.take(self.steps)
        self.steps += 1
        return super().next_batch(batch_size)


def network_probe(ns: dict[str, Any], *, weights: dict[str, np.ndarray],
                  biases: dict[str, np.ndarray], defaults: dict[str, float],
                  bounds: dict[str, tuple[float, float]], seed: int,
                  snapshots: int = 0) -> dict[str, Any]:
    """The lecture's training run with the submission's functions: returns the trained weights.

    The graph is the lecture's: placeholders, the variables (started at the grader's ``weights``
    and ``biases``), ``build_model``, ``build_loss`` and Adam; ``train`` runs on the MNIST
    training set, shuffled by ``seed``. The settings are the notebook's own ``learning_rate``,
    ``n_batch`` and ``n_iter`` where they lie within ``bounds``, else ``defaults``.
    """
    from coursekit.data import mnist

    settings = {k: _setting(ns, k, defaults[k], *bounds[k]) for k in defaults}
    learning_rate = settings["learning_rate"]
    n_batch, n_iter = int(settings["n_batch"]), int(settings["n_iter"])

    tf = tensorflow()
    tf1 = tf.compat.v1
    folder = mnist.cache_dir()
    raw = mnist.read_idx(folder / mnist.TRAIN_IMAGES)
    order = np.random.default_rng(seed).permutation(len(raw))  # shuffled as bytes: less memory
    images = mnist.pixels(raw[order])
    labels = mnist.one_hot(mnist.read_idx(folder / mnist.TRAIN_LABELS)[order])
    del raw
    every = max(n_iter // snapshots, 1) if snapshots else 0
    data = _Watched(images, labels, every, None)  # its take is set once the session exists
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(seed)
        x = tf1.placeholder(tf.float32, [None, images.shape[1]], name="x")
        y = tf1.placeholder(tf.float32, [None, labels.shape[1]], name="y")
        w = {k: tf.Variable(np.asarray(v, np.float32), name=f"W_{k}") for k, v in weights.items()}
        b = {k: tf.Variable(np.asarray(v, np.float32), name=f"b_{k}") for k, v in biases.items()}
        logits = invoke(resolve(ns, "build_model"), "build_model", x, w, b)
        loss = invoke(resolve(ns, "build_loss"), "build_loss", logits, y)
        try:
            step = tf1.train.AdamOptimizer(learning_rate).minimize(loss)
        except Exception as exc:  # a loss that is no differentiable tensor
            raise CallFailed("exception", f"Adam cannot minimise build_loss's result "
                             f"({describe(exc)})") from None
        with tf1.Session(graph=graph, config=session_config()) as sess:
            sess.run(tf1.global_variables_initializer())
            kept: list[Any] = []
            data.take = lambda n: kept.append([n, *sess.run([w, b])])
            invoke(resolve(ns, "train"), "train", sess, x, y, step, loss, data, n_batch, n_iter,
                   n_iter)
            trained_w, trained_b = sess.run([w, b])
    result = {"weights": trained_w, "biases": trained_b, "settings": settings}
    if snapshots:
        result["snapshots"] = [*kept, [data.steps, trained_w, trained_b]]
    return result
