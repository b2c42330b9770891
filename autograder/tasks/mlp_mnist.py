"""Tasks for ``mlp_mnist``: the student's ``train``, ``predict`` and ``init_params``, and the
lecture's run, each with a session whose runs the grader's evaluator does.

The graphs here are built twice, alike: by the grader, with the real weights, for the evaluator
(``autograder/suites/mlp_mnist/lecture.py``), and by these tasks in the worker, with zeros of the
same shapes and the same node names, so that the student's code holds real TensorFlow objects. The
worker never learns the weights, and the student's ``sess.run`` calls are done by the evaluator
(``autograder.worker.remote``): what comes back from here is never trusted, and the grader reads
the weights from the evaluator.

``train_probe``   ``train`` on the kit's probe graph (a linear model ``x W + b`` with a
                  squared-error loss and plain gradient descent, not the assignment's network),
                  on the images the grader sent, ``n_batch`` at a time in order;
``predict_probe`` ``predict`` on another such graph, whose weights the grader set;
``init_params_graph``  ``init_params(seed)`` in a fresh graph: the graph and its variables' names,
                  for the evaluator to initialise (the lecture's start);
``lecture_run``   the lecture's run: the notebook's ``build_model`` and ``build_loss`` on the
                  grader's variables, the grader's Adam, and the student's ``train`` on MNIST's
                  training set. A model or loss that cannot be built is replaced by the
                  grader's own (made in the evaluator, never here), so that ``train`` is still
                  tried in real use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.worker import remote
from autograder.worker.harness import CallFailed, invoke, resolve, tensorflow, to_plain

TASKS = ("train_probe", "predict_probe", "init_params_graph", "lecture_run")
SHAPES = {"hidden1": (784, 100), "output": (100, 10)}


class Batches:
    """The ``data`` argument of ``train``: ``next_batch(n)`` returns the next ``n`` images and
    labels, in the order given, starting again at the first after the last.

    ``pixels``, if given, turns rows of ``images`` into the float32 rows a batch holds: MNIST's
    images stay bytes until a batch (or ``images`` itself) is asked for, since a run reads a
    fraction of them; ``order``, if given, is the order of ``images``' rows (taken a batch at a
    time, not all 55,000 at once). :meth:`name_of` names the last batch's images or labels, fed
    unchanged, by their positions (``autograder.worker.remote``)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray,
                 pixels: Callable[[np.ndarray], np.ndarray] | None = None,
                 order: np.ndarray | None = None):
        self._images = np.asarray(images) if pixels else np.asarray(images, dtype=np.float32)
        self._pixels = pixels
        self._order = order
        self.labels = np.asarray(labels, dtype=np.float32)
        self.num_examples = len(self._images)
        self.epochs_completed = 0
        self.sizes: list[int] = []
        self._pos = 0
        self._last: tuple[int, int, np.ndarray, np.ndarray] | None = None

    @property
    def images(self) -> np.ndarray:
        if self._order is not None:
            self._images, self._order = self._images[self._order], None
        if self._pixels is not None:
            self._images, self._pixels = self._pixels(self._images), None
        return self._images

    def next_batch(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        n = int(batch_size)
        if not 0 < n <= self.num_examples:
            raise ValueError(f"batch_size must be in 1..{self.num_examples}")
        self.sizes.append(n)
        idx = (self._pos + np.arange(n)) % self.num_examples
        start = self._pos
        if self._pos + n >= self.num_examples:
            self.epochs_completed += 1
        self._pos = (self._pos + n) % self.num_examples
        rows = self._images[idx if self._order is None else self._order[idx]]
        images = rows if self._pixels is None else self._pixels(rows)
        labels = self.labels[idx]
        self._last = (start, n, images.copy(), labels.copy())  # the train may change its own
        return images, labels

    def name_of(self, array: np.ndarray) -> dict[str, Any] | None:
        """``{"rows": [start, n], "part": "images" | "labels"}`` if ``array`` is the last batch's
        images or labels, unchanged; else None."""
        if self._last is None or self._last[1] > remote.MOST_NAMED_ROWS:  # crosses as bytes
            return None
        start, n, images, labels = self._last
        for part, kept in (("images", images), ("labels", labels)):
            if array.shape == kept.shape and array.dtype == kept.dtype \
                    and np.array_equal(array, kept):
                return {"rows": [start, n], "part": part}
        return None


# --- the graphs the grader and the worker build alike ------------------------------------------

def probe_graph(tf: Any, weights: np.ndarray, bias: np.ndarray, rate: float) -> dict[str, Any]:
    """``x W + b`` with ``0.5 * mean |x W + b - y|^2`` and one step of gradient descent."""
    tf1 = tf.compat.v1
    x = tf1.placeholder(tf.float32, [None, weights.shape[0]], name="x")
    y = tf1.placeholder(tf.float32, [None, weights.shape[1]], name="y")
    w = tf.Variable(np.asarray(weights, dtype=np.float32), name="W")
    b = tf.Variable(np.asarray(bias, dtype=np.float32), name="b")
    logits = tf.matmul(x, w) + b
    loss = 0.5 * tf.reduce_mean(tf.reduce_sum(tf.square(logits - y), axis=1))
    train = tf1.train.GradientDescentOptimizer(rate).minimize(loss, name="train")
    return {"x": x, "y": y, "W": w, "b": b, "logits": logits, "loss": loss, "train": train,
            "init": tf1.global_variables_initializer()}


def predict_graph(tf: Any, n_in: int, n_out: int) -> dict[str, Any]:
    """``x W + b`` whose variables start at 0; ``set_W``/``set_b`` load values fed to
    ``W_value``/``b_value`` (the grader's weights, loaded after initialising)."""
    tf1 = tf.compat.v1
    x = tf1.placeholder(tf.float32, [None, n_in], name="x")
    w = tf.Variable(np.zeros((n_in, n_out), np.float32), name="W")
    b = tf.Variable(np.zeros(n_out, np.float32), name="b")
    init = tf1.global_variables_initializer()
    w_value = tf1.placeholder(tf.float32, [n_in, n_out], name="W_value")
    b_value = tf1.placeholder(tf.float32, [n_out], name="b_value")
    return {"x": x, "W": w, "b": b, "logits": tf.matmul(x, w) + b, "init": init,
            "set_W": w.assign(w_value, name="set_W"), "set_b": b.assign(b_value, name="set_b")}


def lecture_base(tf: Any, start: dict[str, np.ndarray] | None) -> dict[str, Any]:
    """The lecture's placeholders and variables (``W_hidden1``, ``b_output``, ...), started at
    ``start`` (keyed ``weights/hidden1``, ``biases/output``, ...) or at zeros."""
    tf1 = tf.compat.v1
    x = tf1.placeholder(tf.float32, [None, 784], name="x")
    y = tf1.placeholder(tf.float32, [None, 10], name="y")
    weights, biases = {}, {}
    for key, shape in SHAPES.items():
        if start:
            w = np.asarray(start[f"weights/{key}"], np.float32)
            b = np.asarray(start[f"biases/{key}"], np.float32)
        else:  # zeros made by an op: the graph holds no 300 KB of them
            w, b = tf.zeros(shape, tf.float32), tf.zeros(shape[1], tf.float32)
        weights[key] = tf.Variable(w, name=f"W_{key}")
        biases[key] = tf.Variable(b, name=f"b_{key}")
    return {"x": x, "y": y, "weights": weights, "biases": biases}


def _names(graph: Any) -> set[str]:
    return {op.name for op in graph.get_operations()}


def _costs(result: dict[str, Any], costs: Any) -> None:
    try:  # what train returns is judged apart from what it did
        result["costs"] = to_plain(costs, "train")
    except CallFailed as exc:
        result["costs_error"] = exc.message


# --- the tasks --------------------------------------------------------------------------------

def train_probe(ns: dict[str, Any], *, session: int, images: np.ndarray, labels: np.ndarray,
                rate: float, n_batch: int, calls: list[list[int]]) -> dict[str, Any]:
    """``train(sess, x, y, train_op, loss, data, n_batch, n_iter, n_prt)`` on the probe graph,
    once for each ``[n_iter, n_prt]`` of ``calls``, in one session, on one ``data``: the second
    call goes on from where the first stopped. Returns ``{"costs": [each call's, or
    "costs_error"], "sizes"}``; the weights are the evaluator's."""
    tf = tensorflow()
    data = Batches(images, labels)
    graph = tf.Graph()
    returned: list[Any] = []
    with graph.as_default():
        g = probe_graph(tf, np.zeros((images.shape[1], labels.shape[1]), np.float32),
                        np.zeros(labels.shape[1], np.float32), rate)
        known = _names(graph)
        sess = remote.RemoteSession(graph, session, known)
        with remote.sessions_go_to(graph, session, known):
            for n_iter, n_prt in calls:
                returned.append(invoke(resolve(ns, "train"), "train", sess, g["x"], g["y"],
                                       g["train"], g["loss"], data, int(n_batch), int(n_iter),
                                       int(n_prt)))
    result: dict[str, Any] = {"sizes": np.asarray(data.sizes[:100_000], dtype=np.int64)}
    _costs(result, returned)
    return result


def predict_probe(ns: dict[str, Any], *, session: int, images: np.ndarray,
                  n_out: int) -> dict[str, Any]:
    """``predict(sess, x, logits, images)`` on the predict graph; the weights are the
    evaluator's (set after initialising: a predict that initialises again predicts from 0)."""
    tf = tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        g = predict_graph(tf, images.shape[1], n_out)
        known = _names(graph)
        sess = remote.RemoteSession(graph, session, known)
        with remote.sessions_go_to(graph, session, known):
            predicted = invoke(resolve(ns, "predict"), "predict", sess, g["x"], g["logits"],
                               np.asarray(images, dtype=np.float32))
    return {"predicted": predicted}


def init_params_graph(ns: dict[str, Any], *, seed: int) -> dict[str, Any]:
    """``init_params(seed)`` in a fresh graph: ``{"graph", "names", "init"}``, ``names`` keyed
    ``weights/hidden1`` ... for the variables it made."""
    tf = tensorflow()
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        out = invoke(resolve(ns, "init_params"), "init_params", seed=seed)
        if not (isinstance(out, (tuple, list)) and len(out) == 2
                and all(isinstance(d, dict) for d in out)):
            raise CallFailed("bad_return", "init_params should return (weights, biases), two "
                             "dicts")
        names = {}
        for group, found in zip(("weights", "biases"), out, strict=True):
            for key in SHAPES:
                if key not in found:
                    raise CallFailed("bad_return", f"init_params's {group} have no {key!r}")
                try:
                    names[f"{group}/{key}"] = graph.as_graph_element(found[key]).name
                except (TypeError, ValueError):
                    raise CallFailed("bad_return", f"init_params's {group}[{key!r}] is no "
                                     "tensor of its graph") from None
        init = tf1.global_variables_initializer().name if tf1.global_variables() else None
    return {"graph": remote.graph_bytes(graph), "names": names, "init": init}


def lecture_run(ns: dict[str, Any], *, session: int, order_seed: int, learning_rate: float,
                n_batch: int, n_iter: int, n_prt: int) -> dict[str, Any]:
    """The lecture's run; see the module. Returns ``{"model", "loss", "costs", "sizes"}``:
    whose model and loss were used (``"yours"``, or why not) and what ``train`` returned."""
    from coursekit.data import mnist

    del learning_rate  # the grader's Adam has it (made by the evaluator, not here)
    tf = tensorflow()
    tf1 = tf.compat.v1
    folder = mnist.cache_dir()
    raw = mnist.read_idx(folder / mnist.TRAIN_IMAGES)[5000:]
    order = np.random.default_rng(order_seed).permutation(len(raw))
    labels = mnist.one_hot(mnist.read_idx(folder / mnist.TRAIN_LABELS)[5000:][order])
    graph = tf.Graph()
    used = {"model": "yours", "loss": "yours"}
    with graph.as_default():
        g = lecture_base(tf, None)
        logits = loss = None
        try:
            logits = invoke(resolve(ns, "build_model"), "build_model", g["x"], g["weights"],
                            g["biases"])
            graph.as_graph_element(logits)
        except (CallFailed, TypeError, ValueError) as exc:
            used["model"], logits = getattr(exc, "message", str(exc)), None
        if logits is not None:
            try:
                loss = invoke(resolve(ns, "build_loss"), "build_loss", logits, g["y"])
                graph.as_graph_element(loss)
            except (CallFailed, TypeError, ValueError) as exc:
                used["loss"], loss = getattr(exc, "message", str(exc)), None
        step = init = None
        if loss is not None:  # the step is the grader's Adam on this loss, made and run by the
            # evaluator under this op's name: one made here would never run
            step = tf.no_op(name="Adam")
            init = tf1.global_variables_initializer()
        asked: dict[str, Any] = {"kind": "prepare", "session": session, "used": used}
        if step is not None:
            asked.update(graph=remote.graph_bytes(graph), loss=loss.name, logits=logits.name,
                         train_op=step.name, init=init.name)
        prepared = remote.ask(asked)
        if not isinstance(prepared, dict):
            raise CallFailed("bad_return", "the grader's answer is unusable")
        if prepared.get("used"):  # the grader's model stands in: handles named as its own
            used = dict(prepared["used"])
            step = tf.no_op(name=str(prepared["train_op"]))
            loss = tf.identity(tf.constant(0.0), name=str(prepared["loss"]))
        known = _names(graph)
        # bytes, in MNIST's order: a batch's rows are picked and become pixels when asked for
        data = Batches(raw.reshape(len(raw), -1), labels, pixels=mnist.pixels, order=order)
        sess = remote.RemoteSession(graph, session, known, data.name_of)
        with remote.sessions_go_to(graph, session, known, data.name_of):
            costs = invoke(resolve(ns, "train"), "train", sess, g["x"], g["y"], step, loss, data,
                           n_batch, n_iter, n_prt)
    result: dict[str, Any] = {"used": used,
                              "sizes": np.asarray(data.sizes[:100_000], dtype=np.int64)}
    _costs(result, costs)
    return result
