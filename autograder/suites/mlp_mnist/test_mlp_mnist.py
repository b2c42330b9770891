"""Hidden suite of ``mlp_mnist``: the lecture's MLP, checked against the reference solution."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autograder.data import mnist
from autograder.grading import checks
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError

LECTURE = {"learning_rate": 1e-4, "n_batch": 50, "n_iter": 2500, "n_prt": 250}
SHAPES = {"weights/hidden1": [784, 100], "weights/output": [100, 10],
          "biases/hidden1": [100], "biases/output": [10]}


def random_params(rng: np.random.Generator) -> tuple[dict, dict]:
    weights = {"hidden1": rng.normal(0, 0.1, (784, 100)).astype(np.float32),
               "output": rng.normal(0, 0.1, (100, 10)).astype(np.float32)}
    biases = {"hidden1": rng.normal(0, 0.1, 100).astype(np.float32),
              "output": rng.normal(0, 0.1, 10).astype(np.float32)}
    return weights, biases


def random_batch(rng: np.random.Generator, n: int, scale: float = 1.0) -> tuple[np.ndarray, ...]:
    logits = (rng.normal(0, scale, (n, 10))).astype(np.float32)
    labels = np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)]
    return logits, labels


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


@pytest.fixture(scope="module")
def trained(student: Any) -> Outcome:
    return Outcome(lambda: student.task("train_and_predict", seed=0, **LECTURE))


def _graph_value(result: Any, what: str) -> Any:
    if not isinstance(result, dict) or not result.get("tensor"):
        raise GradingFailure(f"{what} should return a TensorFlow tensor of the graph")
    return result["value"]


@pytest.mark.points(2)
def test_build_model_shape(student: Any) -> None:
    """build_model: logits are a float32 tensor of shape [batch, 10]"""
    rng = np.random.default_rng(1)
    weights, biases = random_params(rng)
    for batch in (1, 7):
        x = rng.random((batch, 784), dtype=np.float32)
        out = student.call("build_model", x, weights, biases, mode="graph")
        checks.shape(_graph_value(out, "build_model"), (batch, 10), "build_model's logits")
        if out["dtype"] != "float32":
            raise GradingFailure(f"build_model's logits have dtype {out['dtype']}, expected float32")


@pytest.mark.points(4)
def test_build_model_values(student: Any, reference: Any) -> None:
    """build_model: logits equal the reference forward pass on random weights and inputs"""
    for seed in (2, 3, 4):
        rng = np.random.default_rng(seed)
        weights, biases = random_params(rng)
        x = rng.random((16, 784), dtype=np.float32)
        got = student.call("build_model", x, weights, biases, mode="graph")
        want = reference.call("build_model", x, weights, biases, mode="graph")
        checks.close(_graph_value(got, "build_model"), want["value"], "build_model's logits",
                     tol=1e-4, on="random weights and images")


@pytest.mark.points(1)
def test_build_loss_scalar(student: Any) -> None:
    """build_loss: returns a scalar tensor"""
    logits, labels = random_batch(np.random.default_rng(5), 8)
    out = student.call("build_loss", logits, labels, mode="graph")
    checks.finite(checks.scalar(_graph_value(out, "build_loss"), "build_loss's result"),
                  "build_loss's result")


@pytest.mark.points(3)
def test_build_loss_values(student: Any, reference: Any) -> None:
    """build_loss: equals the mean softmax cross-entropy on batches of several sizes"""
    rng = np.random.default_rng(6)
    for n, scale in ((3, 1.0), (16, 3.0), (50, 10.0)):
        logits, labels = random_batch(rng, n, scale)
        got = _graph_value(student.call("build_loss", logits, labels, mode="graph"), "build_loss")
        want = reference.call("build_loss", logits, labels, mode="graph")["value"]
        checks.close(checks.scalar(got, "build_loss's result"), want, "build_loss's result",
                     tol=1e-5, on=f"a batch of {n} random logits")


@pytest.mark.points(2)
def test_build_accuracy(student: Any, reference: Any) -> None:
    """build_accuracy: the fraction of rows whose largest logit is at the label"""
    rng = np.random.default_rng(7)
    for n in (5, 40):
        logits, labels = random_batch(rng, n)
        labels[: n // 2] = np.eye(10, dtype=np.float32)[np.argmax(logits[: n // 2], axis=1)]
        got = _graph_value(student.call("build_accuracy", logits, labels, mode="graph"),
                           "build_accuracy")
        want = reference.call("build_accuracy", logits, labels, mode="graph")["value"]
        checks.close(checks.scalar(got, "build_accuracy's result"), want,
                     "build_accuracy's result", tol=1e-6, on=f"a batch of {n}")


@pytest.mark.points(3)
def test_training_cost_falls(trained: Outcome) -> None:
    """train: logs the cost every n_prt steps, and it falls during training"""
    costs = checks.finite(trained.get()["costs"], "the costs train returns")
    expected = LECTURE["n_iter"] // LECTURE["n_prt"]
    if costs.shape != (expected,):
        raise GradingFailure(f"train returned {costs.size} cost(s) for n_iter=2500, n_prt=250; "
                             f"expected {expected} (one every n_prt steps, from step 0)")
    if not np.mean(costs[-3:]) < 0.5 * np.mean(costs[:2]):
        raise GradingFailure("the cost does not fall during training: does train run the "
                             "optimizer's step on every batch?")


@pytest.mark.points(3)
def test_test_accuracy(trained: Outcome) -> None:
    """predict after train: at least 0.90 accuracy on the 10,000 MNIST test images"""
    predicted = checks.shape(trained.get().get("predictions"), (10000,),
                             "predict's result for the test images")
    if predicted.dtype.kind not in "iu" and not np.all(predicted == np.round(predicted)):
        raise GradingFailure("predict should return class numbers 0-9, not scores")
    labels = mnist.read_idx(mnist.ensure() / mnist.TEST_LABELS)
    accuracy = float(np.mean(predicted.astype(np.int64) == labels))
    if accuracy < 0.90:
        raise GradingFailure(f"test accuracy {accuracy:.4f} is below 0.90 with the lecture's "
                             "settings")


@pytest.mark.points(1)
def test_parameter_shapes(trained: Outcome) -> None:
    """the weights and biases keep their shapes through training"""
    shapes = trained.get()["param_shapes"]
    for key, want in SHAPES.items():
        got = [int(v) for v in np.asarray(shapes.get(key, [])).ravel()]
        if got != want:
            raise GradingFailure(f"{key} has shape {got} after training, expected {want}")


@pytest.mark.points(1)
def test_same_seed_same_result(student: Any) -> None:
    """training twice from the same seed gives the same costs"""
    settings = {"seed": 1, "learning_rate": 1e-4, "n_batch": 50, "n_iter": 60, "n_prt": 20,
                "predict_test": False}
    first = checks.finite(student.task("train_and_predict", **settings)["costs"], "costs")
    second = checks.finite(student.task("train_and_predict", **settings)["costs"], "costs")
    if first.shape != second.shape or not np.allclose(first, second, rtol=1e-6, atol=0):
        raise GradingFailure("two training runs from the same seed logged different costs: "
                             "is there randomness that ignores the seed?")
