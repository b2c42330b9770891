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
import itertools
from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.evaluator import Remote, trusted_bytes
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError
from autograder.suites.mlp_mnist import beside, lecture
from autograder.tasks import mlp_mnist as kit
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


@pytest.mark.points(3)
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
    """build_loss: the mean softmax cross-entropy on batches of several sizes and scales, logits
    far apart too"""
    for n, scale in ((3, 1.0), (int(rng.integers(12, 30)), 3.0), (50, 10.0)):
        logits, labels = random_batch(rng, n, scale)
        want = reference.call("build_loss", logits, labels, mode="graph")["value"]
        checks.close(_loss(student, logits, labels), want, "build_loss's result", tol=1e-5,
                     atol=1e-6, on=f"a batch of {n} random logits")
    # a confident network: the labelled class 100 to 200 below the largest logit, whose softmax
    # is 0 in float32 (its logarithm is -inf); the loss is still a finite number
    n = int(rng.integers(4, 9))
    logits, labels = random_batch(rng, n)
    top = rng.integers(0, 10, n)
    logits[np.arange(n), top] += rng.uniform(100.0, 200.0, n).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[(top + rng.integers(1, 10, n)) % 10]
    want = reference.call("build_loss", logits, labels, mode="graph")["value"]
    got = _graph_value(student.call("build_loss", logits, labels, mode="graph"), "build_loss")
    got = checks.scalar(got, "build_loss's result")
    if not np.isfinite(got):
        raise GradingFailure("build_loss gives inf or nan when the logits are far apart (the "
                             "softmax of a low logit is 0 in float32, and log(0) is -inf): "
                             "compute the cross-entropy from the logits in a stable way")
    checks.close(got, want, "build_loss's result", tol=1e-5, atol=1e-4,
                 on="logits 100 or more apart")


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


def probe(student: Any, graph_of: Any) -> tuple[int, dict[str, str]]:
    """A session of the evaluator on a graph of the kit's, built here with the real values
    (``graph_of(tf)`` returns its tensors by name); the names of those tensors."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        made = graph_of(tf)
        names = {k: graph.as_graph_element(v).name for k, v in made.items()}
    session = student.evaluator.open(trusted_bytes(graph), trusted=True)
    student.evaluator.run(session, [names["init"]])
    return session, names


@pytest.fixture(scope="module")
def training(student: Any, hidden: Any) -> dict[str, Any]:
    """The student's ``train`` on the kit's graph, called twice (the second call goes on where
    the first stopped), its weights read from the evaluator, and the grader's replay."""
    rng = hidden.rng("train")
    settings = train_settings(rng)
    first = int(rng.integers(5, settings["n_iter"] - 5))
    calls = [[first, settings["n_prt"]], [settings["n_iter"] - first, settings["n_prt"]]]
    images, labels = mnist_sample(rng, settings["n_batch"] * settings["n_iter"])
    w = rng.normal(0, 0.01, (784, 10)).astype(np.float32)
    b = rng.normal(0, 0.01, 10).astype(np.float32)

    def run() -> dict[str, Any]:
        session, names = probe(student, lambda tf: kit.probe_graph(tf, w, b, TRAIN_RATE))
        result = student.task("train_probe", remote=Remote(student.evaluator, session),
                              session=session, images=images, labels=labels, rate=TRAIN_RATE,
                              n_batch=settings["n_batch"], calls=calls)
        result["weights"], result["bias"] = student.evaluator.run(session, [names["W"],
                                                                            names["b"]])
        student.evaluator.close_session(session)
        return result

    return {"settings": settings, "calls": calls, "run": Outcome(run), "start": (w, b),
            "replay": replay(images, labels, w, b, settings["n_batch"], settings["n_iter"])}


@pytest.fixture(scope="module", autouse=True)
def lecture_beside(request: pytest.FixtureRequest, student: Any, hidden: Any) -> None:
    """The lecture's run, on the student's second worker if the grade has one
    (``StudentProxy.twin``), beside the other tests until one needs it: started by the grade
    before the suite was collected (``beside.py``), or here if a selected test needs it."""
    if any("lecture_run" in item.fixturenames for item in request.session.items):
        beside.start(student, hidden)


@pytest.fixture(scope="module")
def lecture_run(student: Any, hidden: Any) -> lecture.Run:
    """The lecture's run (``lecture.py``), once per grade; kept for the leaderboard too."""
    memo = student.memo
    if "lecture" not in memo:
        memo["lecture"] = lecture.lecture_run(student, hidden)
    return lecture.finished(memo)


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
    path = training["replay"]["path"]
    second = training["calls"][1][0]
    if _same(w, path[second][0]) and _same(b, path[second][1]) and second != settings["n_iter"]:
        return ("train started again from the initial weights when it was called a second "
                "time: do not initialise the variables in train (the session comes "
                "initialised), so that a second call goes on training")
    steps = [k for k, (pw, pb) in enumerate(path) if _same(w, pw) and _same(b, pb)]
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


def _in_real_use(run: lecture.Run) -> None:
    """``train``'s steps in the lecture's run (the network, MNIST, the lecture's settings)."""
    if run.train_error is not None:
        raise run.train_error
    why = run.problem()
    if why.startswith("on the lecture's network"):
        raise GradingFailure(why)


@pytest.mark.last
@pytest.mark.points(4)
def test_train_steps(training: dict[str, Any], lecture_run: lecture.Run) -> None:
    """train: runs train_op n_iter times, each time on the next batch of n_batch from data, and
    goes on where it stopped when called again"""
    result = training["run"].get()
    replayed = training["replay"]["path"][-1]
    w = checks.finite(checks.shape(result["weights"], (784, 10), "the weights after train"),
                      "the weights after train")
    b = checks.shape(result["bias"], (10,), "the biases after train")
    if not (_same(w, replayed[0]) and _same(b, replayed[1])):
        raise GradingFailure(_why_weights_differ(result, training))
    _in_real_use(lecture_run)


@pytest.mark.last
@pytest.mark.points(1)
def test_train_costs(training: dict[str, Any], lecture_run: lecture.Run) -> None:
    """train: returns the cost on the current batch at steps 0, n_prt, 2 n_prt, ... below n_iter"""
    result = training["run"].get()
    if "costs_error" in result:
        raise GradingFailure(f"what train returns is not a list of numbers: "
                             f"{result['costs_error']}")
    _in_real_use(lecture_run)
    offset = 0
    for (n_iter, n_prt), returned in zip(training["calls"], result["costs"], strict=True):
        _check_costs(returned, training["replay"], offset, n_iter, n_prt)
        offset += n_iter


def _check_costs(returned: Any, replayed: dict[str, Any], offset: int, n_iter: int,
                 n_prt: int) -> None:
    logged = list(range(0, n_iter, n_prt))
    costs = checks.array(returned, "the costs train returns").ravel()
    if costs.size != len(logged):
        raise GradingFailure(f"train returned {costs.size} cost(s); it should log one at each of "
                             "the steps 0, n_prt, 2 n_prt, ... below n_iter (for a run whose "
                             "n_prt does not divide n_iter, too)")
    checks.finite(costs, "the costs train returns")
    at = [offset + k for k in logged]
    before, after = replayed["before"][at], replayed["after"][at]
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


# --- the lecture's run ------------------------------------------------------------------------

@pytest.mark.last
@pytest.mark.points(3)
@pytest.mark.builds_on("build_model", "build_loss", "train")
def test_lecture_run(lecture_run: lecture.Run) -> None:
    """the lecture's run: your network, trained by your train on MNIST, reaches 90% on the test
    images while its loss on held-out images falls"""
    run = lecture_run
    for part, what in (("model", "build_model"), ("loss", "build_loss")):
        if "raises NotImplementedError" in run.used.get(part, ""):
            raise StudentError("not_implemented", f"{what} raises NotImplementedError")
    if run.train_error is not None and run.train_error.kind == "not_implemented":
        raise run.train_error
    why = run.problem()
    if why:
        raise GradingFailure(why)
    curve = run.curve()
    falls = all(b <= a + 0.05 for (_, a), (_, b) in itertools.pairwise(curve))
    if not (curve and falls and curve[-1][1] <= 0.5 * curve[0][1]):
        raise GradingFailure("the loss on held-out images did not fall from one logged step to "
                             "the next: suspect train (does it run train_op on each batch?)")
    if run.accuracy < lecture.THRESHOLD:
        raise GradingFailure(f"the trained network classifies {100 * run.accuracy:.1f}% of the "
                             f"test images, less than {100 * lecture.THRESHOLD:.0f}%: suspect "
                             "init_params, build_model or train")


# --- predict ----------------------------------------------------------------------------------

def _agree(predicted: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """Where ``predicted`` is the argmax of ``logits`` (either class of a near tie counts)."""
    top = np.max(logits, axis=1, keepdims=True)
    allowed = logits >= top - 1e-4 * (1 + np.abs(top))
    valid = (predicted >= 0) & (predicted < logits.shape[1])
    return valid & allowed[np.arange(len(logits)), np.clip(predicted, 0, logits.shape[1] - 1)]


@pytest.mark.points(2)
def test_predict(student: Any, rng: np.random.Generator) -> None:
    """predict: the class with the largest logit, for one image and for a batch of images"""
    w = rng.normal(0, 0.1, (784, 10)).astype(np.float32)
    b = rng.normal(0, 0.1, 10).astype(np.float32)
    for n in (1, int(rng.integers(25, 60))):
        images, _ = mnist_sample(rng, n, test=True)
        images = np.clip(images + rng.normal(0, 0.1, images.shape), 0, 1).astype(np.float32)
        session, names = probe(student, lambda tf: kit.predict_graph(tf, 784, 10))
        student.evaluator.run(session, [names["set_W"], names["set_b"]],
                              {"W_value:0": w, "b_value:0": b})
        result = student.task("predict_probe", remote=Remote(student.evaluator, session),
                              session=session, images=images, n_out=10)
        student.evaluator.close_session(session)
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
