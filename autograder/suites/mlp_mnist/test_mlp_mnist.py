"""Hidden suite of ``mlp_mnist``: the lecture's MLP, one function at a time.

- ``build_model``, ``build_loss`` and ``build_accuracy`` run on placeholders fed with random
  weights, images, logits and labels drawn for this submission, and are compared with the
  reference solution run on the same inputs in the grader.
- ``train`` runs on a graph of the kit's (``autograder.tasks.mlp_mnist``: a linear model with a
  squared-error loss and plain gradient descent, not the assignment's network) with training
  images drawn for this submission and settings other than the lecture's (the batch size, the
  number of steps and the logging period all differ from 50 / 2500 / 250, and the period does
  not divide the number of steps). The grader replays those steps in float64 in its own process:
  the weights ``train`` leaves must be the replay's, and the costs it returns the replay's loss on
  each logged step's batch (before or after that step: both are the "cost on the current batch").
  Nothing ``train`` reports about itself earns a point on its own.
- ``predict`` runs on another graph of the kit's with random weights, on MNIST test images drawn
  for this submission and blurred with noise; its classes must be the argmax of the logits the
  grader computes. Pasted labels, or anything not computed from ``logits``, earn nothing.

Tolerances: the student's graphs compute in float32, so values are compared with a relative
tolerance of 1e-5 (1e-4 for the 784-term sums of the logits) plus an absolute one of 1e-5 for
values near 0; the replay of ``train`` is float64 against float32 steps, about 1e-6 apart, and
one step of the kit's model moves the weights by about 1e-3, so a tolerance of 1e-4 separates a
right run from one with a step too many or too few.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError
from coursekit.data import mnist

TRAIN_RATE = 0.05  # gradient descent on the kit's probe graph: stable, and every step visible
STEP_TOL = 1e-4  # replay (float64) against the worker's float32 steps


def random_params(rng: np.random.Generator) -> tuple[dict, dict]:
    weights = {"hidden1": rng.normal(0, 0.1, (784, 100)).astype(np.float32),
               "output": rng.normal(0, 0.1, (100, 10)).astype(np.float32)}
    biases = {"hidden1": rng.normal(0, 0.1, 100).astype(np.float32),
              "output": rng.normal(0, 0.1, 10).astype(np.float32)}
    return weights, biases


def random_images(rng: np.random.Generator, n: int) -> np.ndarray:
    """Images like MNIST's: mostly blank, some pixels lit."""
    lit = rng.random((n, 784)) < 0.2
    return (rng.random((n, 784)) * lit).astype(np.float32)


def random_batch(rng: np.random.Generator, n: int, scale: float = 1.0) -> tuple[np.ndarray, ...]:
    logits = (rng.normal(0, scale, (n, 10))).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return logits, labels


@functools.cache
def _mnist(images: str, labels: str | None) -> tuple[np.ndarray, np.ndarray | None]:
    folder = mnist.ensure()
    raw = mnist.read_idx(folder / images)
    return raw, (mnist.read_idx(folder / labels) if labels else None)


def mnist_sample(rng: np.random.Generator, n: int, test: bool = False) -> tuple[np.ndarray, ...]:
    """``n`` MNIST images (float32 [n, 784]) and one-hot labels, drawn without replacement."""
    images, labels = _mnist(mnist.TEST_IMAGES if test else mnist.TRAIN_IMAGES,
                            None if test else mnist.TRAIN_LABELS)
    idx = rng.choice(len(images), n, replace=False)
    x = mnist.pixels(images[idx])
    y = mnist.one_hot(labels[idx]) if labels is not None else np.zeros((n, 10), np.float32)
    return x, y


def _graph_value(result: Any, what: str) -> Any:
    if not isinstance(result, dict) or not result.get("tensor"):
        raise GradingFailure(f"{what} should return a TensorFlow tensor of the graph")
    return result["value"]


class Outcome:
    """A student result computed once for several tests, or the error that stopped it."""

    def __init__(self, fn: Any):
        try:
            self.value, self.error = fn(), None
        except StudentError as exc:
            self.value, self.error = None, exc

    def get(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


# --- build_model ------------------------------------------------------------------------------

def _logits(student: Any, x: np.ndarray, weights: dict, biases: dict) -> np.ndarray:
    got = student.call("build_model", x, weights, biases, mode="graph")
    value = checks.shape(_graph_value(got, "build_model"), (len(x), 10), "build_model's logits")
    if got["dtype"] != "float32":
        raise GradingFailure(f"build_model's logits have dtype {got['dtype']}, expected float32")
    return checks.finite(value, "build_model's logits")


@pytest.mark.points(1)
def test_build_model_shape(student: Any, rng: np.random.Generator) -> None:
    """build_model: float32 logits [batch, 10] for batches of any size, one row per image"""
    weights, biases = random_params(rng)
    images = random_images(rng, int(rng.integers(3, 10)))
    alone = _logits(student, images[:1], weights, biases)
    together = _logits(student, images, weights, biases)
    checks.close(together[:1], alone, "build_model's logits of an image", tol=1e-4, atol=1e-5,
                 on="the same image alone and in a batch")
    checks.varies(together, "build_model's logits", on="a batch of different images")
    other, _ = random_params(rng)
    changed = _logits(student, images, other, biases)
    checks.varies(np.stack([together, changed]), "build_model's logits",
                  on="the same images with other weights")


@pytest.mark.points(4)
def test_build_model_values(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """build_model: the logits of the hidden ReLU layer and the output layer, on random weights"""
    for _ in range(3):
        weights, biases = random_params(rng)
        x = random_images(rng, 16)
        want = reference.call("build_model", x, weights, biases, mode="graph")["value"]
        checks.close(_logits(student, x, weights, biases), want, "build_model's logits",
                     tol=1e-4, atol=1e-5, on="random weights and images")


# --- build_loss -------------------------------------------------------------------------------

def _loss(student: Any, logits: np.ndarray, labels: np.ndarray) -> float:
    got = _graph_value(student.call("build_loss", logits, labels, mode="graph"), "build_loss")
    return float(checks.finite(checks.scalar(got, "build_loss's result"), "build_loss's result"))


@pytest.mark.points(1)
def test_build_loss_scalar(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """build_loss: one number for the whole batch (a scalar tensor), not one per example"""
    n = int(rng.integers(5, 12))
    batches = [random_batch(rng, n, scale) for scale in (0.3, 2.0, 8.0)]
    got = [_loss(student, *batch) for batch in batches]
    want = [reference.call("build_loss", *batch, mode="graph")["value"] for batch in batches]
    checks.same_order(got, want, "build_loss's result", on=f"batches of {n} random logits")


@pytest.mark.points(3)
def test_build_loss_values(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """build_loss: the mean softmax cross-entropy on batches of several sizes and scales"""
    for n, scale in ((3, 1.0), (int(rng.integers(12, 30)), 3.0), (50, 10.0)):
        logits, labels = random_batch(rng, n, scale)
        want = reference.call("build_loss", logits, labels, mode="graph")["value"]
        checks.close(_loss(student, logits, labels), want, "build_loss's result", tol=1e-5,
                     atol=1e-6, on=f"a batch of {n} random logits")


# --- build_accuracy ---------------------------------------------------------------------------

@pytest.mark.points(2)
def test_build_accuracy(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """build_accuracy: the fraction of rows whose largest logit is at the label"""
    for n in (int(rng.integers(4, 9)), int(rng.integers(30, 60))):
        logits, labels = random_batch(rng, n)
        right = rng.random(n) < rng.uniform(0.3, 0.8)
        labels[right] = np.eye(10, dtype=np.float32)[np.argmax(logits[right], axis=1)]
        got = _graph_value(student.call("build_accuracy", logits, labels, mode="graph"),
                           "build_accuracy")
        want = reference.call("build_accuracy", logits, labels, mode="graph")["value"]
        checks.close(checks.scalar(got, "build_accuracy's result"), want,
                     "build_accuracy's result", tol=1e-6, atol=1e-6, on=f"a batch of {n}")


# --- train ------------------------------------------------------------------------------------

def train_settings(rng: np.random.Generator) -> dict[str, int]:
    """Settings unlike the lecture's: n_prt does not divide n_iter, nothing is 50/2500/250."""
    n_iter = int(rng.integers(21, 34))
    n_prt = int(rng.choice([p for p in range(4, 10) if n_iter % p]))
    return {"n_batch": int(rng.integers(17, 41)), "n_iter": n_iter, "n_prt": n_prt}


def replay(images: np.ndarray, labels: np.ndarray, w: np.ndarray, b: np.ndarray,
           n_batch: int, n_iter: int) -> dict[str, Any]:
    """The kit's graph trained in float64: the weights after each step and the loss of each
    step's batch before and after the step."""
    w, b = w.astype(np.float64), b.astype(np.float64)
    x_all, y_all = images.astype(np.float64), labels.astype(np.float64)
    before, after, path = [], [], [(w.copy(), b.copy())]
    for k in range(n_iter):
        idx = (k * n_batch + np.arange(n_batch)) % len(x_all)
        x, y = x_all[idx], y_all[idx]
        r = x @ w + b - y
        before.append(0.5 * float(np.mean(np.sum(r * r, axis=1))))
        w = w - TRAIN_RATE * (x.T @ r) / n_batch
        b = b - TRAIN_RATE * r.mean(axis=0)
        r = x @ w + b - y
        after.append(0.5 * float(np.mean(np.sum(r * r, axis=1))))
        path.append((w.copy(), b.copy()))
    return {"before": np.array(before), "after": np.array(after), "path": path}


@pytest.fixture(scope="module")
def training(student: Any, hidden: Any) -> dict[str, Any]:
    """One run of the student's ``train`` on the kit's graph, and the grader's replay of it."""
    rng = hidden.rng("train")
    settings = train_settings(rng)
    images, labels = mnist_sample(rng, settings["n_batch"] * settings["n_iter"])
    w = rng.normal(0, 0.01, (784, 10)).astype(np.float32)
    b = rng.normal(0, 0.01, 10).astype(np.float32)
    run = Outcome(lambda: student.task("train_probe", images=images, labels=labels, weights=w,
                                       bias=b, learning_rate=TRAIN_RATE, **settings))
    return {"settings": settings, "run": run, "start": (w, b),
            "replay": replay(images, labels, w, b, settings["n_batch"], settings["n_iter"])}


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= 1e-6 + STEP_TOL * np.abs(b)))


def _why_weights_differ(result: dict[str, Any], training: dict[str, Any]) -> str:
    """A hint from what the run did (the sizes ``data`` was asked for only guide the hint)."""
    settings = training["settings"]
    w, b = result["weights"], result["bias"]
    if _same(w, training["start"][0]) and _same(b, training["start"][1]):
        return ("train left the weights as they were: run train_op (the optimizer's step) in "
                "the session for every batch")
    steps = [k for k, (pw, pb) in enumerate(training["replay"]["path"]) if _same(w, pw)
             and _same(b, pb)]
    sizes = np.asarray(result.get("sizes", []), dtype=np.int64)
    if steps:
        more = "fewer" if steps[0] < settings["n_iter"] else "more"
        return f"train ran {more} optimizer steps than n_iter"
    if sizes.size == 0:
        return ("train never took a batch from data: take each step's batch with "
                "data.next_batch(n_batch), from the data argument")
    if np.any(sizes != settings["n_batch"]):
        return "train asked data.next_batch for batches of another size than n_batch"
    if sizes.size != settings["n_iter"]:
        return (f"train took {'more' if sizes.size > settings['n_iter'] else 'fewer'} batches "
                "from data than n_iter: take one batch per step and run train_op on it")
    return ("the weights after train are not those of n_iter steps of train_op, each on the "
            "batch data.next_batch(n_batch) returned for it")


@pytest.mark.points(4)
def test_train_steps(training: dict[str, Any]) -> None:
    """train: runs train_op n_iter times, each time on the next batch of n_batch from data"""
    result = training["run"].get()
    replayed = training["replay"]["path"][-1]
    w = checks.finite(checks.shape(result["weights"], (784, 10), "the weights after train"),
                      "the weights after train")
    b = checks.shape(result["bias"], (10,), "the biases after train")
    if not (_same(w, replayed[0]) and _same(b, replayed[1])):
        raise GradingFailure(_why_weights_differ(result, training))


@pytest.mark.points(2)
def test_train_costs(training: dict[str, Any]) -> None:
    """train: returns the cost on the current batch at steps 0, n_prt, 2 n_prt, ... below n_iter"""
    result = training["run"].get()
    if "costs_error" in result:
        raise GradingFailure(f"what train returns is not a list of numbers: "
                             f"{result['costs_error']}")
    settings = training["settings"]
    logged = list(range(0, settings["n_iter"], settings["n_prt"]))
    costs = checks.array(result["costs"], "the costs train returns").ravel()
    if costs.size != len(logged):
        raise GradingFailure(f"train returned {costs.size} cost(s); it should log one at each of "
                             "the steps 0, n_prt, 2 n_prt, ... below n_iter (for a run whose "
                             "n_prt does not divide n_iter, too)")
    checks.finite(costs, "the costs train returns")
    before = training["replay"]["before"][logged]
    after = training["replay"]["after"][logged]
    tol = 1e-6 + STEP_TOL * np.abs(before)
    ok = (np.abs(costs - before) <= tol) | (np.abs(costs - after) <= tol)
    if not ok.all():
        if ok[0] and not ok[1:].any():
            raise GradingFailure("only the first cost train returns is the loss of its step: "
                                 "does train run train_op on every batch, and log the loss of "
                                 "steps 0, n_prt, 2 n_prt, ...?")
        raise GradingFailure(f"{int((~ok).sum())} of the {costs.size} costs train returns are "
                             "not the loss on the batch of steps 0, n_prt, 2 n_prt, ...: log "
                             "sess.run(loss) on that step's batch, counting steps from 0")


# --- predict ----------------------------------------------------------------------------------

def _agree(predicted: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Where ``predicted`` is the argmax of ``logits`` (either class of a near tie counts)."""
    top = np.max(logits, axis=1, keepdims=True)
    allowed = logits >= top - 1e-4 * (1 + np.abs(top))
    valid = (predicted >= 0) & (predicted < logits.shape[1])
    return valid & allowed[np.arange(len(logits)), np.clip(predicted, 0, logits.shape[1] - 1)]


@pytest.mark.points(3)
def test_predict(student: Any, rng: np.random.Generator) -> None:
    """predict: the class with the largest logit, for one image and for a batch of images"""
    w = rng.normal(0, 0.1, (784, 10)).astype(np.float32)
    b = rng.normal(0, 0.1, 10).astype(np.float32)
    for n in (1, int(rng.integers(25, 60))):
        images, _ = mnist_sample(rng, n, test=True)
        images = np.clip(images + rng.normal(0, 0.1, images.shape), 0, 1).astype(np.float32)
        result = student.task("predict_probe", weights=w, bias=b, images=images)
        predicted = checks.shape(result["predicted"], (n,), "predict's result")
        if predicted.dtype.kind not in "iu" and not np.all(predicted == np.round(predicted)):
            raise GradingFailure("predict should return class numbers 0-9, not scores or "
                                 "probabilities")
        logits = images.astype(np.float64) @ w + b
        wrong = int(np.sum(~_agree(predicted.astype(np.int64), logits)))
        if wrong:
            raise GradingFailure(f"predict gives another class than the largest logit for "
                                 f"{wrong} of {n} image(s): run the logits tensor on the images "
                                 "and take the argmax of each row")
