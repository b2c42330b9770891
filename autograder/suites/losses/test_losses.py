"""Hidden suite of ``losses``: squared loss, binary cross-entropy, softmax and softmax
cross-entropy, in NumPy (against the reference solution) and in TensorFlow (against ``tf.nn`` and
``tf.keras.losses``, or NumPy in float64 where Keras has no such argument), on random inputs drawn
for this submission and on the inputs where naive formulas break: predictions of exactly 0 or 1,
logits in the thousands. The binary cross-entropies are also called with an ``eps`` other than
the default, so a function that ignores its ``eps`` loses those points.

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
from autograder.worker.harness import tensorflow

# --- inputs -------------------------------------------------------------------------------------

SIZES = (1, 5, 32, 200)  # batch sizes N
CLASSES = ((4, 3), (9, 10), (64, 5))  # (N, K), never square, so a wrong axis cannot hide


def regression(rng: np.random.Generator, n: int,
               dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(0, 2, n).astype(dtype), rng.normal(0, 2, n).astype(dtype)


def probabilities(rng: np.random.Generator, n: int,
                  dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Predictions strictly inside (0, 1) and 0/1 labels."""
    return rng.uniform(0.01, 0.99, n).astype(dtype), rng.integers(0, 2, n).astype(dtype)


def certain(rng: np.random.Generator, dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Predictions of exactly 0 and 1, right and wrong, among ordinary ones."""
    h = np.concatenate([[0.0, 1.0, 0.0, 1.0, 0.0, 1.0], rng.uniform(0.05, 0.95, 10)])
    y = np.concatenate([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0], rng.integers(0, 2, 10)])
    order = rng.permutation(len(h))
    return h[order].astype(dtype), y[order].astype(dtype)


def eps_inside_log(h: np.ndarray, y: np.ndarray, eps: float) -> float:
    """The cross-entropy made finite by adding eps inside the logarithms instead of clipping: a
    different formula, but a common one that the default eps cannot tell from clipping, so it is
    accepted with any eps (what must not happen is ignoring the eps given)."""
    h, y = h.astype(np.float64), y.astype(np.float64)
    return float(-np.mean(y * np.log(h + eps) + (1 - y) * np.log(1 - h + eps)))


def either(got: float, wants: list[float], what: str, tol: float, on: str, hint: str) -> None:
    """``got`` is one of the accepted results ``wants``."""
    for want in wants:
        try:
            checks.close(got, want, what, tol=tol, on=on)
            return
        except GradingFailure as exc:
            first = exc
    raise GradingFailure(f"{first}: {hint}")


def other_eps(rng: np.random.Generator) -> float:
    """An ``eps`` far from the default 1e-7: clipping with the default instead shows."""
    return float(10 ** rng.uniform(-4, -2))


def logits(rng: np.random.Generator, n: int, k: int, scale: float = 2.0, offset: float = 0.0,
           dtype: Any = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Logits ``offset + N(0, scale)`` of shape [n, k] and one-hot labels."""
    z = offset + rng.normal(0, scale, (n, k))
    return z.astype(dtype), np.eye(k, dtype=dtype)[rng.integers(0, k, n)]


# Logits of size 1000: spread out, all large (exp overflows), all very negative (exp underflows).
LARGE = (("logits spread over +-1000", 0.0, 1000.0), ("logits all near +1000", 1000.0, 2.0),
         ("logits all near -1000", -1000.0, 2.0))

CLIP_HINT = "clip h into [eps, 1 - eps] before taking logarithms"
LOGSUMEXP_HINT = ("take the logarithm of the softmax with the log-sum-exp trick (see the "
                  "notebook's section 4)")


def large_logits(rng: np.random.Generator, dtype: Any = np.float64):
    for kind, offset, scale in LARGE:
        z, labels = logits(rng, 6, 4, scale=scale, offset=offset, dtype=dtype)
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
               tol: float = 1e-6, hint: str | None = None, **kwargs: Any) -> None:
    """The student's loss is a finite scalar equal to the reference's."""
    got = loss_value(student.call(name, *inputs, **kwargs), name, on, hint)
    checks.close(got, reference.call(name, *inputs, **kwargs), f"{name}'s result", tol=tol,
                 on=on)


@pytest.mark.points(1)
def test_squared_loss_mean(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """squared_loss: a scalar equal to the mean squared error on random batches"""
    for n in SIZES:
        numpy_loss(student, reference, "squared_loss", regression(rng, n),
                   on=f"random predictions and targets (N={n})")


@pytest.mark.points(2)
def test_binary_cross_entropy_values(student: Any, reference: Any,
                                     rng: np.random.Generator) -> None:
    """binary_cross_entropy: a scalar equal to the lecture's formula on random probabilities"""
    for n in SIZES:
        numpy_loss(student, reference, "binary_cross_entropy", probabilities(rng, n),
                   on=f"random probabilities in (0, 1) (N={n})")


@pytest.mark.points(1)
def test_binary_cross_entropy_certain(student: Any, reference: Any,
                                      rng: np.random.Generator) -> None:
    """binary_cross_entropy: finite and correct for predictions of exactly 0 or 1, clipped to eps"""
    numpy_loss(student, reference, "binary_cross_entropy", certain(rng), tol=1e-4,
               on="predictions of exactly 0 and 1", hint=CLIP_HINT)
    eps = other_eps(rng)
    h, y = certain(rng)
    on = "predictions of exactly 0 and 1 with an eps other than the default"
    got = loss_value(student.call("binary_cross_entropy", h, y, eps=eps), "binary_cross_entropy",
                     on, CLIP_HINT)
    either(got, [reference.call("binary_cross_entropy", h, y, eps=eps),
                 eps_inside_log(h, y, eps)], "binary_cross_entropy's result", tol=1e-4, on=on,
           hint="use the eps the function is given")


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


def ordered_like(p: np.ndarray, z: np.ndarray, name: str, on: str) -> None:
    """Within each row the probabilities are ordered like the logits: the larger the logit, the
    larger its probability (a uniform or constant result is not)."""
    if not all(np.array_equal(np.argsort(pr, kind="stable"), np.argsort(zr, kind="stable"))
               and np.all(np.diff(np.sort(pr)) > 0) for pr, zr in zip(p, z, strict=True)):
        raise GradingFailure(f"{name}'s probabilities are not ordered like the logits on {on}: "
                             "a larger logit should get a larger probability")


@pytest.mark.points(1)
def test_softmax_rows_sum_to_one(student: Any, rng: np.random.Generator) -> None:
    """softmax: keeps the shape [N, K]; every row is probabilities summing to 1, ordered like z"""
    for n, k in CLASSES:
        z, _ = logits(rng, n, k)
        on = f"random logits [{n}, {k}]"
        ordered_like(row_sums(student.call("softmax", z), (n, k), "softmax", on), z, "softmax", on)


@pytest.mark.points(1)
def test_softmax_values(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """softmax: equals the reference on random logits"""
    for n, k in CLASSES:
        for scale in (1.0, 10.0):
            z, _ = logits(rng, n, k, scale=scale)
            checks.close(student.call("softmax", z), reference.call("softmax", z),
                         "softmax's result", tol=1e-6, on=f"random logits [{n}, {k}]")


@pytest.mark.points(1)
def test_softmax_large_logits(student: Any, reference: Any, rng: np.random.Generator) -> None:
    """softmax: finite and correct for logits of size 1000"""
    for kind, z, _ in large_logits(rng):
        got = row_sums(student.call("softmax", z), z.shape, "softmax", kind)
        checks.close(got, reference.call("softmax", z), "softmax's result", tol=1e-6, on=kind)


@pytest.mark.points(2)
def test_softmax_cross_entropy_values(student: Any, reference: Any,
                                      rng: np.random.Generator) -> None:
    """softmax_cross_entropy: a scalar equal to the mean cross-entropy on random logits"""
    for n, k in CLASSES:
        for scale in (1.0, 5.0):
            numpy_loss(student, reference, "softmax_cross_entropy", logits(rng, n, k, scale),
                       on=f"random logits [{n}, {k}] with one-hot labels")


@pytest.mark.points(1)
def test_softmax_cross_entropy_large_logits(student: Any, reference: Any,
                                            rng: np.random.Generator) -> None:
    """softmax_cross_entropy: finite and correct for logits of size 1000"""
    for kind, z, labels in large_logits(rng):
        numpy_loss(student, reference, "softmax_cross_entropy", (z, labels), on=kind,
                   hint=LOGSUMEXP_HINT)


# --- TensorFlow: run in a graph, compared with tf.nn and tf.keras.losses -----------------------

def tf_call(student: Any, name: str, *arrays: np.ndarray, **kwargs: Any) -> np.ndarray:
    """Run ``name`` on placeholders in a graph; its result must be a float32 graph tensor."""
    try:
        out = student.call(name, *arrays, mode="graph", **kwargs)
    except StudentError as exc:
        # A function that fails on graph tensors (NumPy called on them, say) but works eagerly
        # gets a message that says so.
        if exc.kind != "exception":
            raise
        try:
            student.call(name, *arrays, mode="eager", **kwargs)
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
            hint: str | None = None, **kwargs: Any) -> None:
    """The student's TensorFlow loss is a finite scalar equal to the library's ``want``."""
    got = loss_value(tf_call(student, name, *inputs, **kwargs), name, on, hint)
    checks.close(got, float(want), f"{name}'s result", tol=tol, on=on)


def library() -> Any:
    """TensorFlow in the grader's process, for the library's results."""
    return tensorflow()


@pytest.mark.points(1)
def test_tf_squared_loss_mean(student: Any, rng: np.random.Generator) -> None:
    """tf_squared_loss: a scalar tensor equal to tf.keras.losses.MeanSquaredError"""
    mse = library().keras.losses.MeanSquaredError()
    for n in SIZES:
        h, y = regression(rng, n, np.float32)
        tf_loss(student, "tf_squared_loss", (h, y), mse(y, h), tol=1e-5,
                on=f"random predictions and targets (N={n})")


@pytest.mark.points(2)
def test_tf_binary_cross_entropy_values(student: Any, rng: np.random.Generator) -> None:
    """tf_binary_cross_entropy: a scalar tensor equal to tf.keras.losses.BinaryCrossentropy"""
    bce = library().keras.losses.BinaryCrossentropy()
    for n in SIZES:
        h, y = probabilities(rng, n, np.float32)
        tf_loss(student, "tf_binary_cross_entropy", (h, y), bce(y, h), tol=1e-5,
                on=f"random probabilities in (0, 1) (N={n})")


def clipped_cross_entropy(h: np.ndarray, y: np.ndarray, eps: float) -> float:
    """The binary cross-entropy with predictions clipped into [eps, 1 - eps], in float64."""
    p = np.clip(h.astype(np.float64), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@pytest.mark.points(1)
def test_tf_binary_cross_entropy_certain(student: Any, rng: np.random.Generator) -> None:
    """tf_binary_cross_entropy: finite and correct for predictions of exactly 0 or 1, clipped to eps"""
    bce = library().keras.losses.BinaryCrossentropy()
    h, y = certain(rng, np.float32)
    # 2e-2: clipping h or adding eps inside the log differ by ~1% at exact 0/1 in float32
    tf_loss(student, "tf_binary_cross_entropy", (h, y), bce(y, h), tol=2e-2,
            on="predictions of exactly 0 and 1", hint=CLIP_HINT)
    eps = other_eps(rng)
    h, y = certain(rng, np.float32)
    on = "predictions of exactly 0 and 1 with an eps other than the default"
    got = loss_value(tf_call(student, "tf_binary_cross_entropy", h, y, eps=eps),
                     "tf_binary_cross_entropy", on, CLIP_HINT)
    # An eps of 1e-4 or more is exact enough in float32 for 1e-3.
    either(got, [clipped_cross_entropy(h, y, eps), eps_inside_log(h, y, eps)],
           "tf_binary_cross_entropy's result", tol=1e-3, on=on,
           hint="use the eps the function is given")


@pytest.mark.points(2)
def test_tf_softmax_values(student: Any, rng: np.random.Generator) -> None:
    """tf_softmax: a [N, K] tensor whose rows sum to 1, equal to tf.nn.softmax"""
    tf = library()
    for n, k in CLASSES:
        for scale in (1.0, 10.0):
            z, _ = logits(rng, n, k, scale=scale, dtype=np.float32)
            on = f"random logits [{n}, {k}]"
            got = row_sums(tf_call(student, "tf_softmax", z), (n, k), "tf_softmax", on)
            checks.close(got, tf.nn.softmax(z).numpy(), "tf_softmax's result", tol=1e-5,
                         atol=1e-7, on=on)


@pytest.mark.points(1)
def test_tf_softmax_large_logits(student: Any, rng: np.random.Generator) -> None:
    """tf_softmax: finite and equal to tf.nn.softmax for logits of size 1000"""
    tf = library()
    for kind, z, _ in large_logits(rng, np.float32):
        # 1e-3: in float32, differences of logits near 1000 are only good to about 1e-4
        got = row_sums(tf_call(student, "tf_softmax", z), z.shape, "tf_softmax", kind, tol=1e-3)
        checks.close(got, tf.nn.softmax(z).numpy(), "tf_softmax's result", tol=1e-3, on=kind)


def library_cross_entropy(z: np.ndarray, labels: np.ndarray) -> float:
    tf = library()
    loss = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=z)
    return float(tf.reduce_mean(loss).numpy())


@pytest.mark.points(2)
def test_tf_softmax_cross_entropy_values(student: Any, rng: np.random.Generator) -> None:
    """tf_softmax_cross_entropy: a scalar tensor equal to tf.nn.softmax_cross_entropy_with_logits"""
    for n, k in CLASSES:
        for scale in (1.0, 5.0):
            z, labels = logits(rng, n, k, scale=scale, dtype=np.float32)
            tf_loss(student, "tf_softmax_cross_entropy", (z, labels),
                    library_cross_entropy(z, labels), tol=1e-5,
                    on=f"random logits [{n}, {k}] with one-hot labels")


@pytest.mark.points(1)
def test_tf_softmax_cross_entropy_large_logits(student: Any, rng: np.random.Generator) -> None:
    """tf_softmax_cross_entropy: finite and equal to tf.nn's result for logits of size 1000"""
    for kind, z, labels in large_logits(rng, np.float32):
        tf_loss(student, "tf_softmax_cross_entropy", (z, labels),
                library_cross_entropy(z, labels), tol=1e-4, on=kind, hint=LOGSUMEXP_HINT)
