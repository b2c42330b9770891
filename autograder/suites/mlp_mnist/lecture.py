"""The lecture's run, graded: the notebook's network learns MNIST, measured by the grader.

One run per grade (it also gives the leaderboard entry and the report's figures):

1. **The start.** The notebook's ``init_params(seed)`` with a seed drawn for the submission, its
   graph run by the evaluator (so zeros, or weights that already classify, show). Should it fail,
   the grader draws N(0, 0.1) itself and says so.
2. **The graph.** The grader builds the placeholders and the variables (at the start) for the
   evaluator, and, under names the worker cannot know, the lecture's own forward pass and loss
   on the same variables. The worker builds the same placeholders and variables (at zeros), calls
   the notebook's ``build_model`` and ``build_loss`` on them and sends the nodes of the loss; the
   evaluator adds them (none may create or change a variable) and the grader's Adam on them. A
   model or loss that cannot be used is replaced by the grader's, and the run goes on, so that
   ``train`` is still tried in real use.
3. **The training.** The student's ``train(sess, x, y, train_op, loss, data, ...)`` with
   :data:`SETTINGS`: each of its runs passes through the grader, which keeps what was run and
   fed, reads the weights every :data:`SNAPSHOT_EVERY` steps, and at :data:`CHECKS` steps drawn for
   the submission compares the gradient of the student's loss with the lecture's on that very
   batch (a model or loss that is not the lecture's, or that pulls the weights somewhere, shows).

What is measured: with the grader's own forward pass on the evaluator's weights, the accuracy on
the 10,000 MNIST test images and the loss on :data:`HELD_OUT` test images at every snapshot.
The lecture's settings (Adam at 0.0001, batches of 50, 2,500 steps) reach about 0.92 (0.916 to
0.922 from 5 starts) in 1.7 s of training; :data:`SETTINGS` (Adam at 0.004, batches of 150, 100
steps) reach 0.918 to 0.929 (25 starts, mean 0.924) in a tenth of the time, so the grade uses
those (docs/points.md). Every step of the run crosses the grader, so the run's time is mostly its
number of steps.
"""

from __future__ import annotations

import functools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.evaluator import ops
from autograder.grading.evaluator import Remote, Rows, Sequence, trusted_bytes
from autograder.grading.proxy import StudentError
from autograder.tasks import mlp_mnist as kit
from coursekit.data import mnist

SETTINGS = {"learning_rate": 0.004, "n_batch": 150, "n_iter": 100, "n_prt": 10}
SNAPSHOT_EVERY = 10  # the weights are read every so many steps (and at the end)
CHECKS = 5  # steps at which the student's gradient is compared with the lecture's
GRADIENT_TOL = 2e-3  # relative error of the gradients on one batch, in float32
HELD_OUT = 1000  # the loss is measured on the first test images
THRESHOLD = 0.90  # test accuracy the run must reach (the reference's lowest of 25 starts: 0.918)
START_MOST = 0.30  # a start that classifies more test images than this was trained already
TIMEOUT = 600.0


@functools.cache
def test_set() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test images (float32, as the network sees them) and labels, read once per
    grader."""
    folder = mnist.ensure()
    images = mnist.pixels(mnist.read_idx(folder / mnist.TEST_IMAGES))
    return images, mnist.read_idx(folder / mnist.TEST_LABELS).astype(np.int64)


PIXELS = 28 * 28
VALIDATION = 5000  # the training files' first rows: the validation set, not trained on
# Each training row's key: its 784 bytes mixed by two sets of odd 64-bit weights drawn afresh in
# each grader (a student cannot aim at a key; a collision is a 2**-64 matter), for all rows at
# once rather than a hash per row. A fed row is turned back into bytes through the loader's own
# table of the 256 float32 values, exactly: a row with any other value is no training row.
_MIX = np.random.default_rng(secrets.randbits(128)).integers(
    1, 2**63, size=(PIXELS, 2), dtype=np.uint64) | np.uint64(1)
_VALUES = mnist.pixels(np.arange(256, dtype=np.uint8).reshape(1, 256))[0]
_CHUNK = 4096  # rows mixed at a time (their uint64 copy: 25 MB, not 345 MB for all)


def _mixed(raw: np.ndarray) -> list[tuple[int, int]]:
    keys = [raw[i:i + _CHUNK].astype(np.uint64) @ _MIX for i in range(0, len(raw), _CHUNK)]
    return [tuple(k) for k in np.concatenate(keys).tolist()] if keys else []


def row_keys(rows: np.ndarray) -> list[tuple[int, int] | None]:
    """One key per row of fed ``rows``: that of the training image it equals in float32, or
    None if it cannot be one (a value no byte gives, or not ``PIXELS`` values)."""
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] != PIXELS or rows.dtype.kind not in "fiu":
        return [None] * (len(rows) if rows.ndim else 1)
    with np.errstate(all="ignore"):  # huge, infinite or NaN values: no training row
        values = np.ascontiguousarray(rows, np.float32)
        scaled = np.nan_to_num(values * np.float32(255.0), nan=0.0, posinf=255.0, neginf=0.0)
        raw = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        exact = np.all(_VALUES[raw] == values, axis=1)  # NaN equals nothing
    keys = _mixed(raw)
    return [key if ok else None for key, ok in zip(keys, exact.tolist(), strict=True)]


@functools.cache
def training_set() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 55,000 training images (a row of bytes each) and their labels."""
    folder = mnist.ensure()
    raw = mnist.read_idx(folder / mnist.TRAIN_IMAGES)[VALIDATION:]
    return raw.reshape(len(raw), PIXELS), mnist.read_idx(folder / mnist.TRAIN_LABELS)[VALIDATION:]


@functools.cache
def training_rows() -> dict[tuple[int, int], int]:
    """``{key of a training image: its label}`` of the 55,000 training images."""
    raw, labels = training_set()
    return dict(zip(_mixed(raw), labels.tolist(), strict=True))


def labelled(y: np.ndarray, labels: np.ndarray) -> bool:
    """Whether the fed one-hot rows ``y`` are ``labels``."""
    return np.array_equal(y, np.eye(10, dtype=y.dtype)[np.asarray(labels, dtype=np.int64)])


class Expected:
    """The batches ``data.next_batch`` gives the worker's ``train``, in the order the grader drew
    (``order_seed``): a training step fed the next of them is known to be fed training rows and
    their labels at once; any other feed is checked row by row (:func:`row_keys`)."""

    def __init__(self, order_seed: int):
        raw, _ = training_set()
        self.order = np.random.default_rng(order_seed).permutation(len(raw))
        self.position = 0
        self.in_step = True  # every batch so far was the next one

    def next(self, x: np.ndarray, y: np.ndarray) -> bool:
        """Whether ``x``, ``y`` are the next batch (and if so, move past it)."""
        if not self.in_step or x.dtype != np.float32 or not 0 < len(x) <= len(self.order):
            self.in_step = False
            return False
        raw, labels = training_set()
        rows = self.order[(self.position + np.arange(len(x))) % len(self.order)]
        self.in_step = (x.shape == (len(rows), PIXELS) and np.array_equal(x, _VALUES[raw[rows]])
                        and labelled(y, labels[rows]))
        self.position = (self.position + len(x)) % len(self.order)
        return self.in_step

    def named(self, x: Rows, y: Rows) -> bool:
        """Whether the batch the worker named, ``x`` and ``y``, is training rows with their
        labels (and if so, move past it)."""
        if not (x.part == "images" and y.part == "labels" and (x.start, x.size) == (y.start, y.size)):
            return False
        self.in_step = self.in_step and x.start == self.position
        self.position = (x.start + x.size) % len(self.order)
        return True

    def sequence(self, staged: int) -> Sequence:
        """The batches in this order, the first ``staged`` rows of them staged in the
        evaluator."""
        raw, labels = training_set()
        return Sequence(raw, labels, self.order, _VALUES, staged, skip=VALIDATION)


def logits(weights: dict[str, Any], images: np.ndarray) -> np.ndarray:
    """The lecture's forward pass, ``relu(x W1 + b1) W2 + b2``, in the precision of ``images``
    (float32 as in the network itself, float64 for a loss)."""
    w1, b1, w2, b2 = (np.asarray(weights[k], images.dtype) for k in
                      ("weights/hidden1", "biases/hidden1", "weights/output", "biases/output"))
    with np.errstate(all="ignore"):  # weights that overflow give no finite logits, said below
        return np.maximum(images @ w1 + b1, 0) @ w2 + b2


def accuracy(weights: dict[str, Any], most: int | None = None) -> float:
    """The fraction of the 10,000 test images (the first ``most``, if given) the network with
    these weights classifies."""
    images, labels = test_set()
    out = logits(weights, images[:most])
    if not np.all(np.isfinite(out)):
        return 0.0
    return float(np.mean(np.argmax(out, axis=1) == labels[:len(out)]))


def held_out_loss(weights: dict[str, Any]) -> float:
    """The mean cross-entropy on the first ``HELD_OUT`` test images: the hidden layer in float32,
    as in the network, the output layer and the loss in float64."""
    images, labels = test_set()
    w1, b1, w2, b2 = (np.asarray(weights[k], np.float32) for k in
                      ("weights/hidden1", "biases/hidden1", "weights/output", "biases/output"))
    with np.errstate(all="ignore"):  # weights that overflow give an infinite loss, said below
        hidden = np.maximum(images[:HELD_OUT] @ w1 + b1, 0).astype(np.float64)
        out = hidden @ w2.astype(np.float64) + b2.astype(np.float64)
        shifted = out - out.max(axis=1, keepdims=True)
        value = float(np.mean(np.log(np.exp(shifted).sum(axis=1))
                              - shifted[np.arange(HELD_OUT), labels[:HELD_OUT]]))
    return value if np.isfinite(value) else float("inf")


@dataclass
class Run:
    """What the grader saw of the run."""

    start_note: str = ""
    used: dict[str, str] = field(default_factory=dict)  # model/loss: "yours" or why not
    steps: int = 0  # runs of the training step
    sizes: list[int] = field(default_factory=list)  # rows fed to each training step
    foreign: int = 0  # training steps fed rows that are not MNIST's training images and labels
    logged: list[tuple[int, float]] = field(default_factory=list)  # (step, loss the run gave)
    gradient_errors: list[tuple[int, float]] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, np.ndarray]]] = field(default_factory=list)
    final: dict[str, np.ndarray] = field(default_factory=dict)
    costs: Any = None  # what train returned (or "costs_error")
    train_error: StudentError | None = None
    _curve: list[tuple[int, float]] | None = field(default=None, repr=False)

    @functools.cached_property
    def accuracy(self) -> float:
        """The final weights' accuracy on the test images (once the run has ended)."""
        return accuracy(self.final) if self.final else 0.0

    def curve(self) -> list[tuple[int, float]]:
        """The held-out loss at each snapshot (once the run has ended)."""
        if self._curve is None:
            self._curve = [(step, held_out_loss(w)) for step, w in self.snapshots]
        return self._curve

    def problem(self) -> str:
        """Why this run does not count as the notebook's network learning ("" if it does): the
        test says it, and the leaderboard gives such a run no place."""
        for part, what in (("model", "build_model"), ("loss", "build_loss")):
            if self.used.get(part) != "yours":
                return f"the run could not use your {what}: {self.used.get(part)}"
        if self.train_error is not None:
            return f"train failed in the run: {self.train_error}"
        if self.start_note:
            return f"{self.start_note} (init_params)"
        n_iter, n_batch = SETTINGS["n_iter"], SETTINGS["n_batch"]
        if self.steps != n_iter:
            return (f"on the lecture's network, train ran train_op {self.steps} times, not "
                    f"n_iter = {n_iter}: it trains the same way on any graph")
        if self.foreign or any(size != n_batch for size in self.sizes):
            return ("on the lecture's network, train fed train_op other rows than the batches "
                    "data.next_batch(n_batch) gives")
        bad = [(step, error) for step, error in self.gradient_errors if error > GRADIENT_TOL]
        if bad:
            return (f"at training step {bad[0][0]} the gradient of your loss differs from the "
                    "lecture's softmax cross-entropy of its network: suspect build_model or "
                    "build_loss")
        return ""


def _base(start: dict[str, np.ndarray], nonce: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The grader's graph: the lecture's placeholders and variables at ``start``, and under
    ``nonce`` the lecture's forward pass, loss and gradients."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        g = kit.lecture_base(tf, start)
        with tf.name_scope(nonce):
            hidden = tf.nn.relu(tf.matmul(g["x"], g["weights"]["hidden1"])
                                + g["biases"]["hidden1"])
            out = tf.matmul(hidden, g["weights"]["output"]) + g["biases"]["output"]
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=g["y"],
                                                                          logits=out))
    names = {f"{group}/{key}": g[group][key] for group in ("weights", "biases") for key in kit.SHAPES}
    variables = {k: graph.as_graph_element(v).name for k, v in names.items()}
    return trusted_bytes(graph), {"loss": loss.name, "variables": variables,
                                 "x": g["x"].name, "y": g["y"].name}


def draw_start(rng: np.random.Generator) -> dict[str, np.ndarray]:
    start = {}
    for key, shape in kit.SHAPES.items():
        start[f"weights/{key}"] = rng.normal(0, 0.1, shape).astype(np.float32)
        start[f"biases/{key}"] = rng.normal(0, 0.1, shape[1]).astype(np.float32)
    return start


def notebook_start(student: Any, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], str]:
    """The start ``init_params(seed)`` gives, run by the evaluator, or the grader's own draw and
    why."""
    seed = int(rng.integers(1, 2**31 - 1))
    keys = sorted(draw_start(np.random.default_rng(0)))
    try:
        made = student.task("init_params_graph", seed=seed)
        names = made.get("names") if isinstance(made, dict) else None
        if not (isinstance(names, dict) and sorted(names) == keys
                and all(isinstance(names[k], str) for k in keys)
                and isinstance(made.get("graph"), np.ndarray)):
            raise StudentError("bad_return", "it made no weights and biases the grader can read")
        init = made.get("init") if isinstance(made.get("init"), str) else None
        answer = student.evaluator.evaluate(graph=made["graph"], feeds={},
                                            fetches=[names[k] for k in keys], init=init)
        values = dict(zip(keys, answer["values"], strict=True))
        if any(not isinstance(v, np.ndarray) or v.dtype.kind != "f" for v in values.values()):
            raise StudentError("bad_return", "its weights are not arrays of floats")
        start = {k: v.astype(np.float32) for k, v in values.items()}
    except StudentError as exc:
        return draw_start(rng), f"init_params could not be used ({exc}), so the run started " \
                                "from the grader's own draw"
    for key, shape in kit.SHAPES.items():
        if start[f"weights/{key}"].shape != shape or start[f"biases/{key}"].shape != (shape[1],):
            return draw_start(rng), ("init_params's weights do not have the lecture's shapes, "
                                     "so the run started from the grader's own draw")
    if not all(np.all(np.isfinite(v)) for v in start.values()):
        return start, "init_params gives weights that are not finite numbers"
    if accuracy(start, most=HELD_OUT) > START_MOST:  # untrained weights classify about 10%
        return start, ("init_params gives weights that already classify the test images: the "
                       "run must start from untrained weights")
    return start, ""


class _Watch:
    """The grader's eye on each run the student's session asks for (see the module)."""

    def __init__(self, run: Run, evaluator: Any, session: int, base: dict[str, Any],
                 checks: set[int], expected: Expected):
        self.run, self.evaluator, self.session, self.base = run, evaluator, session, base
        self.checks = checks
        self.expected = expected
        self.train_op = ""  # the worker's name of the training step
        self.loss = ""
        self.gradients: list[str] = []
        self.reference: list[str] = []

    def weights(self) -> dict[str, np.ndarray]:
        keys = sorted(self.base["variables"])
        names = [self.base["variables"][k] for k in keys]
        values = self.evaluator.run(self.session, names)
        return {k: np.asarray(v) for k, v in zip(keys, values, strict=True)}

    def before(self, fetches: list[str], feeds: dict[str, Any]) -> None:
        if self.train_op not in {f.partition(":")[0] for f in fetches}:
            return
        step = self.run.steps
        if step % SNAPSHOT_EVERY == 0:
            self.run.snapshots.append((step, self.weights()))
        self.run.steps += 1
        x, y = feeds.get(self.base["x"]), feeds.get(self.base["y"])
        if isinstance(x, Rows) and isinstance(y, Rows) and self.expected.named(x, y):
            self.run.sizes.append(x.size)
            self._check_gradients(step, feeds)
            return
        x, y = (v.array() if isinstance(v, Rows) else v for v in (x, y))
        if x is None or y is None or x.ndim != 2 or y.ndim != 2 or len(x) != len(y):
            self.run.foreign += 1
            self.run.sizes.append(0)
            return
        self.run.sizes.append(len(x))
        if not self.expected.next(x, y):
            rows = training_rows()
            labels = [None if key is None else rows.get(key) for key in row_keys(x)]
            if any(label is None for label in labels) or not labelled(y, labels):
                self.run.foreign += 1
        self._check_gradients(step, feeds)

    def _check_gradients(self, step: int, feeds: dict[str, Any]) -> None:
        if step in self.checks and self.gradients:
            values = self.evaluator.run(self.session, [*self.gradients, *self.reference], feeds)
            half = len(self.gradients)
            worst = max(_relative(a, b) for a, b in zip(values[:half], values[half:],
                                                         strict=True))
            self.run.gradient_errors.append((step, worst))

    def after(self, fetches: list[str], values: list[Any]) -> None:
        names = [f.partition(":")[0] for f in fetches]
        loss = self.loss.partition(":")[0]
        if loss in names and self.train_op not in names:
            value = values[names.index(loss)]
            if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f":
                self.run.logged.append((max(self.run.steps - 1, 0), float(value.ravel()[0])))


def _relative(a: Any, b: Any) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


def lecture_run(student: Any, hidden: Any) -> Run:
    """The run (see the module); a failure of the student's code is in ``train_error``."""
    rng = hidden.rng("lecture run")
    run = Run()
    start, run.start_note = notebook_start(student, rng)
    nonce = f"grader_{secrets.token_hex(6)}"
    graph, base = _base(start, nonce)
    evaluator = student.evaluator
    session = evaluator.open(graph, trusted=True)
    checks = set(int(s) for s in rng.choice(SETTINGS["n_iter"] - 1, CHECKS, replace=False) + 1)
    order_seed = int(rng.integers(0, 2**31 - 1))
    expected = Expected(order_seed)
    sequence = expected.sequence(SETTINGS["n_iter"] * SETTINGS["n_batch"])
    staged = Meanwhile(sequence.stage, evaluator, session)  # while the worker builds its graph
    watch = _Watch(run, evaluator, session, base, checks, expected)
    remote = Remote(evaluator, session, policy=ops.FORWARD, keep_feeds=False, before=watch.before,
                    after=watch.after, sequence=sequence)

    def prepare(asked: dict[str, Any]) -> dict[str, Any]:
        staged.wait()
        answer: dict[str, Any] = {}
        made = None
        if asked.get("graph") is not None:
            made, run.used = _students(evaluator, session, asked)
            if made is not None:
                watch.train_op = str(asked["train_op"]).partition(":")[0]
                watch.loss = str(asked["loss"])
                watch.gradients = made["gradients"]
        else:
            claimed = asked.get("used") if isinstance(asked.get("used"), dict) else {}
            run.used = {k: str(claimed.get(k, "could not be built"))[:300]
                        for k in ("model", "loss")}
        if made is None:  # the grader's model and loss stand in
            made = evaluator.minimize(session, loss=base["loss"],
                                      learning_rate=SETTINGS["learning_rate"])
            stand_in = {"train_op": f"{nonce}_step", "loss": f"{nonce}_loss"}
            evaluator.alias(session, {stand_in["train_op"]: made["train_op"],
                                      stand_in["loss"]: base["loss"].partition(":")[0]})
            watch.train_op, watch.loss = stand_in["train_op"], f"{stand_in['loss']}:0"
            watch.gradients = []
            answer = {"used": run.used, **stand_in}
        else:
            watch.reference = _reference_gradients(evaluator, session, base, made)
        evaluator.run(session, [made["init"]])
        return answer

    remote.prepare = prepare
    try:
        result = student.task("lecture_run", remote=remote, session=session,
                              order_seed=order_seed, timeout=TIMEOUT,
                              **SETTINGS)
        run.costs = result.get("costs", result.get("costs_error"))
    except StudentError as exc:
        run.train_error = exc
    try:
        staged.wait()
        if not run.used:
            raise StudentError("exception", "the run never got as far as training")
        run.final = watch.weights()
        run.snapshots.append((run.steps, run.final))
    except StudentError as exc:
        run.train_error = run.train_error or exc
    finally:
        evaluator.close_session(session)
    return run


def _students(evaluator: Any, session: int,
              asked: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The nodes of the notebook's model and loss added to the session, and the grader's Adam
    on that loss (the worker made none: its ``train_op`` is a stand-in that the evaluator runs
    as this step); what it made, or None, and which parts are used (``Run.used``)."""
    try:
        evaluator.extend(session, asked["graph"], policy=ops.FORWARD,
                         only=[str(asked["loss"]), str(asked["logits"])])
    except StudentError as exc:
        return None, {"model": f"its nodes could not be used ({exc})", "loss": "not used"}
    try:
        made = evaluator.minimize(session, loss=str(asked["loss"]),
                                  learning_rate=SETTINGS["learning_rate"])
    except StudentError as exc:  # no gradient reaches the weights, say
        why = str(exc).replace("the loss cannot be minimised", "Adam cannot minimise it", 1)
        return None, {"model": "yours", "loss": why[:300]}
    try:
        evaluator.alias(session, {str(asked["train_op"]).partition(":")[0]: made["train_op"],
                                  str(asked["init"]).partition(":")[0]: made["init"]})
    except StudentError as exc:
        return None, {"model": f"its nodes could not be used ({exc})", "loss": "not used"}
    return made, {"model": "yours", "loss": "yours"}


class Meanwhile:
    """``fn(*args)`` in a thread of its own; :meth:`wait` for its result (or its error, raised
    there)."""

    def __init__(self, fn: Callable[..., Any], *args: Any):
        self._error: BaseException | None = None
        self._result: Any = None

        def run() -> None:
            try:
                self._result = fn(*args)
            except BaseException as exc:  # raised again by wait, in the grader's thread
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True, name="autograder-meanwhile")
        self._thread.start()

    def wait(self) -> Any:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._result


def finished(memo: dict[str, Any]) -> Run | None:
    """The run kept in a student's ``memo``, once it has ended (waited for, if it is still
    running beside the tests), or None if none was made."""
    if isinstance(memo.get("lecture"), Meanwhile):
        memo["lecture"] = memo["lecture"].wait()
    return memo.get("lecture")


def _reference_gradients(evaluator: Any, session: int, base: dict[str, Any],
                         made: dict[str, Any]) -> list[str]:
    """Names of the lecture loss's gradients, in the order of ``made``'s variables."""
    return list(evaluator.gradients(session, loss=base["loss"], variables=made["variables"]))

