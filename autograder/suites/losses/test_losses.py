"""Hidden suite of ``losses``: squared loss, binary cross-entropy, softmax and softmax
cross-entropy, in NumPy (against the reference solution) and in TensorFlow (against ``tf.nn`` and
``tf.keras.losses``), on seeded random inputs and on the inputs where naive formulas break:
predictions of exactly 0 or 1, logits in the thousands.

Points: NumPy 10, TensorFlow 10; each test checks one function, so a mistake in one function
never costs the points of another.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError
from autograder.worker.harness import _tf

# --- inputs -------------------------------------------------------------------------------------

SIZES = (1, 5, 32, 200)  # batch sizes N
CLASSES = ((4, 3), (9, 10), (64, 5))  # (N, K), never square, so a wrong axis cannot hide


def regression(seed: int, n: int, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 2, n).astype(dtype), rng.normal(0, 2, n).astype(dtype)


def probabilities(seed: int, n: int, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Predictions strictly inside (0, 1) and 0/1 labels."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.01, 0.99, n).astype(dtype), rng.integers(0, 2, n).astype(dtype)


def certain(seed: int, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of exactly 0 and 1, right and wrong, among ordinary ones."""
    rng = np.random.default_rng(seed)
    h = np.concatenate([[0.0, 1.0, 0.0, 1.0, 0.0, 1.0], rng.uniform(0.05, 0.95, 10)])
    y = np.concatenate([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0], rng.integers(0, 2, 10)])
    return h.astype(dtype), y.astype(dtype)


def logits(seed: int, n: int, k: int, scale: float = 2.0, offset: float = 0.0,
           dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``offset + N(0, scale)`` of shape [n, k] and one-hot labels."""
    rng = np.random.default_rng(seed)
    z = offset + rng.normal(0, scale, (n, k))
    return z.astype(dtype), np.eye(k, dtype=dtype)[rng.integers(0, k, n)]


# Logits of size 1000: spread out, all large (exp overflows), all very negative (exp underflows).
LARGE = (("logits spread over +-1000", 0.0, 1000.0), ("logits all near +1000", 1000.0, 2.0),
         ("logits all near -1000", -1000.0, 2.0))

CLIP_HINT = "clip h into [eps, 1 - eps] before taking logarithms"
LOGSUMEXP_HINT = ("take the logarithm of the softmax with the log-sum-exp trick (see the "
                  "notebook's section 4)")


def large_logits(seed: int, dtype: Any = np.float64):
    for i, (kind, offset, scale) in enumerate(LARGE):
        z, labels = logits(seed + i, 6, 4, scale=scale, offset=offset, dtype=dtype)
        yield kind, z, labels


# --- NumPy: compared with the reference solution -----------------------------------------------

def not_finite(name: str, on: str, hint: str) -> GradingFailure:
    return GradingFailure(f"{name} gives NaN or infinity on {on}: {hint}")


def loss_value(value: Any, name: str, on: str, hint: str | None = None) -> float:
    """``value`` is a finite, non-negative scalar, as every loss is; returns it."""
    got = checks.scalar(value, f"{name}'s result")
    if not np.isfinite(got):
        raise not_finite(name, on, hint or "look for a logarithm of 0 or a division by 0")
    if got < 0:
        raise GradingFailure(f"{name} is negative on {on}; a loss is never below 0 (check the "
                             "sign of the formula)")
    return got


def numpy_loss(student: Any, reference: Any, name: str, inputs: tuple, on: str,
               tol: float = 1e-6, hint: str | None = None) -> None:
    """The student's loss is a finite scalar equal to the reference's."""
    got = loss_value(student.call(name, *inputs), name, on, hint)
    checks.close(got, reference.call(name, *inputs), f"{name}'s result", tol=tol, on=on)


@pytest.mark.points(1)
def test_squared_loss_mean(student: Any, reference: Any) -> None:
    """squared_loss: a scalar equal to the mean squared error on random batches"""
    for seed, n in enumerate(SIZES):
        numpy_loss(student, reference, "squared_loss", regression(seed, n),
                   on=f"random predictions and targets (N={n})")


@pytest.mark.points(2)
def test_binary_cross_entropy_values(student: Any, reference: Any) -> None:
    """binary_cross_entropy: a scalar equal to the lecture's formula on random probabilities"""
    for seed, n in enumerate(SIZES, start=10):
        numpy_loss(student, reference, "binary_cross_entropy", probabilities(seed, n),
                   on=f"random probabilities in (0, 1) (N={n})")


@pytest.mark.points(1)
def test_binary_cross_entropy_certain(student: Any, reference: Any) -> None:
    """binary_cross_entropy: finite and correct when predictions are exactly 0 or 1 (clipped)"""
    for seed in (20, 21):
        numpy_loss(student, reference, "binary_cross_entropy", certain(seed), tol=1e-4,
                   on="predictions of exactly 0 and 1", hint=CLIP_HINT)


def row_sums(p: Any, shape: tuple[int, int], name: str, on: str, tol: float = 1e-5) -> np.ndarray:
    """``p`` has ``shape``, is finite, lies in [0, 1] and each row sums to 1 (to ``tol``)."""
    p = checks.shape(p, shape, f"{name}'s result")
    if not np.all(np.isfinite(p)):
        raise not_finite(name, on, "exp overflows or underflows for large logits (see the "
                         "notebook's section 3)")
    if np.any(p < 0) or np.any(p > 1 + tol):
        raise GradingFailure(f"{name} gives values outside [0, 1] on {on}")
    off = int(np.sum(np.abs(np.sum(p, axis=1) - 1.0) > tol))
    if off:
        raise GradingFailure(f"{name}: {off} of {shape[0]} rows do not sum to 1 on {on} (each "
                             "row, that is each example, should be a probability distribution)")
    return p


@pytest.mark.points(1)
def test_softmax_rows_sum_to_one(student: Any) -> None:
    """softmax: keeps the shape [N, K]; every row is probabilities summing to 1"""
    for seed, (n, k) in enumerate(CLASSES, start=30):
        z, _ = logits(seed, n, k)
        row_sums(student.call("softmax", z), (n, k), "softmax", f"random logits [{n}, {k}]")


@pytest.mark.points(1)
def test_softmax_values(student: Any, reference: Any) -> None:
    """softmax: equals the reference on random logits"""
    for seed, (n, k) in enumerate(CLASSES, start=40):
        for scale in (1.0, 10.0):
            z, _ = logits(seed, n, k, scale=scale)
            checks.close(student.call("softmax", z), reference.call("softmax", z),
                         "softmax's result", tol=1e-6, on=f"random logits [{n}, {k}]")


@pytest.mark.points(1)
def test_softmax_large_logits(student: Any, reference: Any) -> None:
    """softmax: finite and correct for logits of size 1000"""
    for kind, z, _ in large_logits(50):
        got = row_sums(student.call("softmax", z), z.shape, "softmax", kind)
        checks.close(got, reference.call("softmax", z), "softmax's result", tol=1e-6, on=kind)


@pytest.mark.points(2)
def test_softmax_cross_entropy_values(student: Any, reference: Any) -> None:
    """softmax_cross_entropy: a scalar equal to the mean cross-entropy on random logits"""
    for seed, (n, k) in enumerate(CLASSES, start=60):
        for scale in (1.0, 5.0):
            numpy_loss(student, reference, "softmax_cross_entropy", logits(seed, n, k, scale),
                       on=f"random logits [{n}, {k}] with one-hot labels")


@pytest.mark.points(1)
def test_softmax_cross_entropy_large_logits(student: Any, reference: Any) -> None:
    """softmax_cross_entropy: finite and correct for logits of size 1000"""
    for kind, z, labels in large_logits(70):
        numpy_loss(student, reference, "softmax_cross_entropy", (z, labels), on=kind,
                   hint=LOGSUMEXP_HINT)


# --- TensorFlow: run in a graph, compared with tf.nn and tf.keras.losses -----------------------

def tf_call(student: Any, name: str, *arrays: np.ndarray) -> np.ndarray:
    """Run ``name`` on placeholders in a graph; its result must be a float32 graph tensor."""
    try:
        out = student.call(name, *arrays, mode="graph")
    except StudentError as exc:
        # A function that fails on graph tensors (NumPy called on them, say) but works eagerly
        # gets a message that says so.
        if exc.kind != "exception":
            raise
        try:
            student.call(name, *arrays, mode="eager")
        except StudentError:
            raise exc from None
        raise GradingFailure(f"{name} works eagerly but not inside a graph: use TensorFlow "
                             "operations only (no NumPy functions, no .numpy())") from None
    if not isinstance(out, dict) or not out.get("tensor"):
        raise GradingFailure(f"{name} should return a TensorFlow tensor computed from its inputs")
    if out.get("dtype") != "float32":
        raise GradingFailure(f"{name} returns a tensor of dtype {out.get('dtype')}; float32 inputs "
                             "should give a float32 result")
    return checks.array(out["value"], f"{name}'s result")


def tf_loss(student: Any, name: str, inputs: tuple, want: Any, on: str, tol: float,
            hint: str | None = None) -> None:
    """The student's TensorFlow loss is a finite scalar equal to the library's ``want``."""
    got = loss_value(tf_call(student, name, *inputs), name, on, hint)
    checks.close(got, float(want), f"{name}'s result", tol=tol, on=on)


def library() -> Any:
    """TensorFlow in the grader's process, for the library's results."""
    return _tf()


@pytest.mark.points(1)
def test_tf_squared_loss_mean(student: Any) -> None:
    """tf_squared_loss: a scalar tensor equal to tf.keras.losses.MeanSquaredError"""
    mse = library().keras.losses.MeanSquaredError()
    for seed, n in enumerate(SIZES, start=100):
        h, y = regression(seed, n, np.float32)
        tf_loss(student, "tf_squared_loss", (h, y), mse(y, h), tol=1e-5,
                on=f"random predictions and targets (N={n})")


@pytest.mark.points(2)
def test_tf_binary_cross_entropy_values(student: Any) -> None:
    """tf_binary_cross_entropy: a scalar tensor equal to tf.keras.losses.BinaryCrossentropy"""
    bce = library().keras.losses.BinaryCrossentropy()
    for seed, n in enumerate(SIZES, start=110):
        h, y = probabilities(seed, n, np.float32)
        tf_loss(student, "tf_binary_cross_entropy", (h, y), bce(y, h), tol=1e-5,
                on=f"random probabilities in (0, 1) (N={n})")


@pytest.mark.points(1)
def test_tf_binary_cross_entropy_certain(student: Any) -> None:
    """tf_binary_cross_entropy: finite and equal to Keras when predictions are exactly 0 or 1"""
    bce = library().keras.losses.BinaryCrossentropy()
    for seed in (120, 121):
        h, y = certain(seed, np.float32)
        # 2e-2: clipping h or adding eps inside the log differ by ~1% at exact 0/1 in float32
        tf_loss(student, "tf_binary_cross_entropy", (h, y), bce(y, h), tol=2e-2,
                on="predictions of exactly 0 and 1", hint=CLIP_HINT)


@pytest.mark.points(2)
def test_tf_softmax_values(student: Any) -> None:
    """tf_softmax: a [N, K] tensor whose rows sum to 1, equal to tf.nn.softmax"""
    tf = library()
    for seed, (n, k) in enumerate(CLASSES, start=130):
        for scale in (1.0, 10.0):
            z, _ = logits(seed, n, k, scale=scale, dtype=np.float32)
            on = f"random logits [{n}, {k}]"
            got = row_sums(tf_call(student, "tf_softmax", z), (n, k), "tf_softmax", on)
            checks.close(got, tf.nn.softmax(z).numpy(), "tf_softmax's result", tol=1e-5, on=on)


@pytest.mark.points(1)
def test_tf_softmax_large_logits(student: Any) -> None:
    """tf_softmax: finite and equal to tf.nn.softmax for logits of size 1000"""
    tf = library()
    for kind, z, _ in large_logits(140, np.float32):
        # 1e-3: in float32, differences of logits near 1000 are only good to about 1e-4
        got = row_sums(tf_call(student, "tf_softmax", z), z.shape, "tf_softmax", kind, tol=1e-3)
        checks.close(got, tf.nn.softmax(z).numpy(), "tf_softmax's result", tol=1e-3, on=kind)


def library_cross_entropy(z: np.ndarray, labels: np.ndarray) -> float:
    tf = library()
    loss = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z)
    return float(tf.reduce_mean(loss).numpy())


@pytest.mark.points(2)
def test_tf_softmax_cross_entropy_values(student: Any) -> None:
    """tf_softmax_cross_entropy: a scalar tensor equal to tf.nn.softmax_cross_entropy_with_logits"""
    for seed, (n, k) in enumerate(CLASSES, start=150):
        for scale in (1.0, 5.0):
            z, labels = logits(seed, n, k, scale=scale, dtype=np.float32)
            tf_loss(student, "tf_softmax_cross_entropy", (z, labels),
                    library_cross_entropy(z, labels), tol=1e-5,
                    on=f"random logits [{n}, {k}] with one-hot labels")


@pytest.mark.points(1)
def test_tf_softmax_cross_entropy_large_logits(student: Any) -> None:
    """tf_softmax_cross_entropy: finite and equal to tf.nn's result for logits of size 1000"""
    for kind, z, labels in large_logits(160, np.float32):
        tf_loss(student, "tf_softmax_cross_entropy", (z, labels),
                library_cross_entropy(z, labels), tol=1e-4, on=kind, hint=LOGSUMEXP_HINT)
