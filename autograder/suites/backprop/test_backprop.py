"""Hidden suite of ``backprop``: gradients checked against centred differences and tf.GradientTape.

Every expected value is computed here, in the grader's process, with NumPy (values, centred
differences) or TensorFlow in float64 (``tf.GradientTape``); the worker only receives inputs,
drawn for this submission (away from the points where a derivative vanishes, so that relative
errors mean something). ``numerical_gradient`` is also called with a step ``h`` other than its
default and compared with centred differences taken here with that ``h``.

``network_forward`` and ``network_gradients`` are built from the student's layers. When one of
them is off, it is called again with other layers in their place (``with_other_layers`` in
``autograder.tasks.backprop``) whose right wiring the grader knows: a network function wired the
right way keeps its points even when a layer it uses is wrong, so each mistake costs the points
of the function that makes it.
Gradients must agree to CS231n's relative error ``max(|a-b| / max(1e-8, |a|+|b|))`` below 1e-7
where the function is smooth. At the ReLU kink (an input of exactly 0) the notebook's convention,
a derivative of 0 as in TensorFlow, is checked against ``tf.GradientTape`` alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError
from autograder.worker.harness import tensorflow

TOL = 1e-7  # relative error of a correct float64 gradient (CS231n)
H = 1e-5  # step of the centred differences
KEYS = ("hidden1", "output")
SHAPES = {"weights": {"hidden1": (784, 100), "output": (100, 10)},
          "biases": {"hidden1": (100,), "output": (10,)}}


# --- references, computed in the grader -------------------------------------------------------

def tape(fn: Callable[..., Any], *arrays: np.ndarray) -> list[np.ndarray]:
    """Gradients of the scalar ``fn(tf, *tensors)`` with respect to every argument (float64)."""
    tf = tensorflow()
    tensors = [tf.constant(np.asarray(a, dtype=np.float64)) for a in arrays]
    with tf.GradientTape() as t:
        for tensor in tensors:
            t.watch(tensor)
        value = fn(tf, *tensors)
    return [g.numpy() for g in t.gradient(value, tensors)]


def centred(f: Callable[[np.ndarray], float], x: np.ndarray, at: np.ndarray | None = None,
            h: float = H) -> np.ndarray:
    """Centred differences of ``f`` at ``x``: at every entry, or at the flat indices ``at``."""
    point = np.array(x, dtype=np.float64)
    flat = point.reshape(-1)
    grad = []
    for i in range(flat.size) if at is None else at:
        old = flat[i]
        flat[i] = old + h
        plus = f(point)
        flat[i] = old - h
        minus = f(point)
        flat[i] = old
        grad.append((plus - minus) / (2 * h))
    return np.array(grad).reshape(point.shape) if at is None else np.array(grad)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.sum(y * log_p) / logits.shape[0])


def tf_cross_entropy(tf: Any, logits: Any, y: Any) -> Any:
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))


# --- checks on the student's results ----------------------------------------------------------

def parts(result: Any, names: tuple[str, ...], fn: str) -> tuple[Any, ...]:
    if not isinstance(result, (tuple, list)) or len(result) != len(names):
        raise GradingFailure(f"{fn} should return a tuple ({', '.join(names)}) of "
                             f"{len(names)} values")
    return tuple(result)


def agrees(actual: Any, taped: np.ndarray, what: str, on: str,
           numeric: np.ndarray | None = None, at: np.ndarray | None = None) -> None:
    """``actual`` has ``taped``'s shape and matches it and, if given, the centred differences
    ``numeric`` (at the flat indices ``at``, or everywhere)."""
    arr = checks.finite(checks.shape(actual, taped.shape, what), what)
    checks.close(arr, taped, what, tol=TOL, on=f"{on}, checked with tf.GradientTape")
    if numeric is not None:
        picked = arr.reshape(-1)[at] if at is not None else arr
        checks.close(picked, numeric, what, tol=TOL, on=f"{on}, checked with centred differences")


# --- 1. the chain rule on numbers -------------------------------------------------------------

def draw(rng: np.random.Generator, count: int, sample: Callable[[], Any],
         good: Callable[[Any], bool]) -> list[Any]:
    """``count`` values of ``sample()`` for which ``good`` holds (rejection sampling)."""
    found: list[Any] = []
    for _ in range(1000 * count):
        value = sample()
        if good(value):
            found.append(value)
            if len(found) == count:
                return found
    raise RuntimeError("the suite could not draw its inputs")  # a bug of the kit


def sin_of_square_inputs(rng: np.random.Generator) -> np.ndarray:
    """Seven x in (-2.5, 2.5), negative and positive, where dz/dx = 2x cos(x^2) is not small."""
    return np.array(draw(rng, 7, lambda: float(rng.uniform(-2.5, 2.5)),
                         lambda x: abs(x) > 0.2 and abs(2 * x * np.cos(x * x)) > 0.1))


def neuron_inputs(rng: np.random.Generator) -> np.ndarray:
    """Six (w, x, b, t) where neither gradient of the loss is close to 0."""
    def sample() -> np.ndarray:
        return np.array([rng.uniform(-2, 2), rng.uniform(-2, 2), rng.uniform(-1, 1),
                         rng.choice([0.0, 1.0, rng.uniform(0, 1)])])

    def good(case: np.ndarray) -> bool:
        w, x, b, t = case
        h = 1 / (1 + np.exp(-(w * x + b)))
        d = (h - t) * h * (1 - h)
        return abs(x) > 0.2 and abs(d) > 1e-2 and abs(d * x) > 1e-2

    return np.array(draw(rng, 6, sample, good))


@pytest.mark.points(1)
def test_sin_of_square(student: Any, rng: np.random.Generator) -> None:
    """sin_of_square: z = sin(x^2), and dz/dx agrees with centred differences and GradientTape"""
    xs = sin_of_square_inputs(rng)
    results = [parts(student.call("sin_of_square", float(x)), ("z", "dz_dx"), "sin_of_square")
               for x in xs]
    z = [checks.scalar(r[0], "sin_of_square's z") for r in results]
    dz = [checks.scalar(r[1], "sin_of_square's dz_dx") for r in results]
    checks.close(z, np.sin(xs**2), "sin_of_square's z", tol=1e-10, on="several x")
    agrees(dz, tape(lambda tf, v: tf.reduce_sum(tf.sin(v**2)), xs)[0], "sin_of_square's dz_dx",
           "several x", numeric=centred(lambda v: float(np.sum(np.sin(v**2))), xs))


def _neurons(student: Any, cases: np.ndarray) -> np.ndarray:
    """The student's ``(loss, dloss_dw, dloss_db)`` for every case, one row each."""
    names = ("loss", "dloss_dw", "dloss_db")
    rows = []
    for case in cases:
        result = parts(student.call("sigmoid_neuron", *map(float, case)), names, "sigmoid_neuron")
        rows.append([checks.scalar(v, f"sigmoid_neuron's {name}")
                     for v, name in zip(result, names, strict=True)])
    return np.array(rows)


def _neuron_losses(cases: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The loss of every neuron of ``cases``, with its weights and biases replaced by w and b."""
    x, t = cases[:, 1], cases[:, 3]
    return 0.5 * (1 / (1 + np.exp(-(w * x + b))) - t) ** 2


@pytest.mark.points(1)
def test_sigmoid_neuron_loss(student: Any, rng: np.random.Generator) -> None:
    """sigmoid_neuron: the loss 1/2 (sigmoid(w x + b) - t)^2"""
    cases = neuron_inputs(rng)
    want = _neuron_losses(cases, cases[:, 0], cases[:, 2])
    checks.close(_neurons(student, cases)[:, 0], want, "sigmoid_neuron's loss", tol=1e-10,
                 on="several neurons")


@pytest.mark.points(1)
def test_sigmoid_neuron_gradients(student: Any, rng: np.random.Generator) -> None:
    """sigmoid_neuron: dL/dw and dL/db agree with centred differences and GradientTape"""
    cases = neuron_inputs(rng)
    got = _neurons(student, cases)
    w, x, b, t = cases.T
    taped = tape(lambda tf, w_, b_: tf.reduce_sum(0.5 * (tf.sigmoid(w_ * x + b_) - t) ** 2), w, b)
    agrees(got[:, 1], taped[0], "sigmoid_neuron's dloss_dw", "several neurons",
           numeric=centred(lambda v: float(np.sum(_neuron_losses(cases, v, b))), w))
    agrees(got[:, 2], taped[1], "sigmoid_neuron's dloss_db", "several neurons",
           numeric=centred(lambda v: float(np.sum(_neuron_losses(cases, w, v))), b))


# --- 2. numerical_gradient ----------------------------------------------------------------------

NUMERIC_CASES = {
    "cubic_plus_sine": (lambda tf, x, a: tf.reduce_sum(a * x**3) + tf.reduce_sum(tf.sin(x)),
                        "a smooth function of a vector", (7,), (7,)),
    "quadratic_plus_exp": (lambda tf, x, a: 0.5 * tf.reduce_sum(tf.matmul(a, x) ** 2)
                           + tf.reduce_sum(tf.exp(x)), "a smooth function of a matrix",
                           (3, 4), (5, 3)),
}


def _numeric(student: Any, rng: np.random.Generator, function: str, h: float = H,
             layout: str = "contiguous") -> tuple[dict, np.ndarray, np.ndarray]:
    _, _, x_shape, a_shape = NUMERIC_CASES[function]
    x, a = rng.uniform(0.5, 1.5, x_shape), rng.uniform(0.0, 1.0, a_shape)
    return student.task("numerical_gradient_of", function=function, x=x, a=a, h=h,
                        layout=layout), x, a


def _gradient_result(out: dict, x: np.ndarray) -> np.ndarray:
    return checks.finite(checks.shape(out["gradient"], x.shape, "numerical_gradient's result"),
                         "numerical_gradient's result")


def _check_numeric(student: Any, rng: np.random.Generator, function: str,
                   layout: str = "contiguous") -> None:
    out, x, a = _numeric(student, rng, function, layout=layout)
    fn, kind, _, _ = NUMERIC_CASES[function]
    if layout != "contiguous":
        kind += f" held in a {layout} array (x.ravel() of it is a copy)"
    want = tape(lambda tf, v: fn(tf, v, tf.constant(a)), x)[0]
    err = checks.rel_error(_gradient_result(out, x), want)
    if err > TOL:
        hint = (" (close, but not as close as a centred difference with h = 1e-5 gets: is each "
                "entry (f(x + h) - f(x - h)) / 2h, taken from the original x?)" if err < 1e-3
                else "")
        raise GradingFailure(f"numerical_gradient is off by a relative error of {err:.1e} on "
                             f"{kind}, tolerance {TOL:g}{hint}")


def numpy_twin(function: str, a: np.ndarray) -> Callable[[np.ndarray], float]:
    """The function the task differentiates, in NumPy (the same formula as the task's)."""
    if function == "cubic_plus_sine":
        return lambda v: float(np.sum(a * v**3) + np.sum(np.sin(v)))
    return lambda v: float(0.5 * np.sum((a @ v) ** 2) + np.sum(np.exp(v)))


@pytest.mark.points(1)
def test_numerical_gradient_vector(student: Any, rng: np.random.Generator) -> None:
    """numerical_gradient: centred differences of a function of a vector, with the step h given"""
    _check_numeric(student, rng, "cubic_plus_sine")
    h = float(10 ** rng.uniform(-3, -2))  # the truncation error of this h is visible
    out, x, a = _numeric(student, rng, "cubic_plus_sine", h=h)
    want = centred(numpy_twin("cubic_plus_sine", a), x, h=h)
    if checks.rel_error(_gradient_result(out, x), want) > 1e-8:
        raise GradingFailure("numerical_gradient called with a step h other than the default "
                             "does not give the centred differences with that step: use the h "
                             "it is given")


@pytest.mark.points(1)
def test_numerical_gradient_matrix(student: Any, rng: np.random.Generator) -> None:
    """numerical_gradient: works on a matrix, transposed and strided ones too, and keeps its
    shape"""
    for layout in ("contiguous", "transposed", "strided"):
        _check_numeric(student, rng, "quadratic_plus_exp", layout)


@pytest.mark.points(1)
def test_numerical_gradient_restores_input(student: Any, rng: np.random.Generator) -> None:
    """numerical_gradient: returns the gradient and leaves x holding its original values"""
    out, x, a = _numeric(student, rng, "cubic_plus_sine")
    after = checks.shape(out["x_after"], x.shape, "x after numerical_gradient")
    if checks.rel_error(after, x) > 1e-12:
        raise GradingFailure("numerical_gradient changed the array x it was given: put each "
                             "entry back after perturbing it (or work on a copy)")
    want = centred(numpy_twin("cubic_plus_sine", a), x)
    checks.close(_gradient_result(out, x), want, "numerical_gradient's result", tol=1e-4,
                 on="a smooth function of a vector")


# --- 3. layers ----------------------------------------------------------------------------------

def affine_shapes(rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """(N, D, M, seed) of three cases: never square, one as large as MNIST's first layer."""
    seeds = rng.integers(0, 2**31, 3)
    return [(int(rng.integers(3, 6)), int(rng.integers(6, 9)), int(rng.integers(2, 5)),
             int(seeds[0])), (7, 2, int(rng.integers(3, 7)), int(seeds[1])),
            (3, 784, 100, int(seeds[2]))]


def _affine_case(n: int, d: int, m: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m),
            rng.normal(size=(n, m)))


@pytest.mark.points(1)
def test_affine_forward(student: Any, rng: np.random.Generator) -> None:
    """affine_forward: x @ w + b, shape [N, M]"""
    for n, d, m, seed in affine_shapes(rng):
        x, w, b, _ = _affine_case(n, d, m, seed)
        checks.close(student.call("affine_forward", x, w, b), x @ w + b, "affine_forward's result",
                     tol=1e-10, on=f"a batch of {n} inputs of size {d} to {m} outputs")


def _affine_backward(student: Any, n: int, d: int, m: int, seed: int,
                     scale: float = 1.0) -> tuple[Any, ...]:
    x, w, _, dout = _affine_case(n, d, m, seed)
    return parts(student.call("affine_backward", scale * dout, x, w), ("dx", "dw", "db"),
                 "affine_backward")


@pytest.mark.points(1)
def test_affine_backward_shapes(student: Any, rng: np.random.Generator) -> None:
    """affine_backward: dx, dw, db have the shapes of x, w, b and grow in proportion to dout"""
    scale = float(rng.uniform(1.5, 3.0))
    for n, d, m, seed in affine_shapes(rng):
        once = _affine_backward(student, n, d, m, seed)
        scaled = _affine_backward(student, n, d, m, seed, scale)
        for got, more, name, want in zip(once, scaled, ("dx", "dw", "db"),
                                         ((n, d), (d, m), (m,)), strict=True):
            got = checks.finite(checks.shape(got, want, name), name)
            more = checks.shape(more, want, name)
            if not np.any(np.abs(got) > 1e-12):
                raise GradingFailure(f"affine_backward's {name} is all zeros for a dout that is "
                                     "not")
            checks.close(more, scale * got, f"affine_backward's {name}", tol=1e-9,
                         on="an upstream gradient dout scaled up (the backward pass is linear "
                         "in dout)")


def _affine_loss(args: list[np.ndarray], which: int, v: np.ndarray) -> float:
    """``sum(dout * (x @ w + b))`` with ``args = [x, w, b, dout]`` and ``args[which]`` set to v."""
    x, w, b, dout = [v if i == which else a for i, a in enumerate(args)]
    return float(np.sum((x @ w + b) * dout))


def _check_affine_gradient(student: Any, rng: np.random.Generator, which: int) -> None:
    """With L = sum(dout * out), dL/d(out) = dout: the gradients of L are what the backward
    pass must return."""
    name = ("dx", "dw", "db")[which]
    for n, d, m, seed in affine_shapes(rng):
        args = list(_affine_case(n, d, m, seed))
        dout = args[3]
        taped = tape(lambda tf, x, w, b, dout=dout: tf.reduce_sum((tf.matmul(x, w) + b) * dout),
                     *args[:3])[which]
        numeric = None
        if n * d * m < 1000:
            numeric = centred(functools.partial(_affine_loss, args, which), args[which])
        agrees(_affine_backward(student, n, d, m, seed)[which], taped,
               f"affine_backward's {name}", f"a batch of {n} inputs of size {d} to {m} outputs",
               numeric=numeric)


@pytest.mark.points(1)
def test_affine_backward_dx(student: Any, rng: np.random.Generator) -> None:
    """affine_backward: dx agrees with centred differences and GradientTape"""
    _check_affine_gradient(student, rng, 0)


@pytest.mark.points(1)
def test_affine_backward_dw(student: Any, rng: np.random.Generator) -> None:
    """affine_backward: dw agrees with centred differences and GradientTape"""
    _check_affine_gradient(student, rng, 1)


@pytest.mark.points(1)
def test_affine_backward_db(student: Any, rng: np.random.Generator) -> None:
    """affine_backward: db (summed over the batch) agrees with centred differences and GradientTape"""
    _check_affine_gradient(student, rng, 2)


def _relu_inputs(rng: np.random.Generator, zeros: bool) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(6, 7))
    x += np.sign(x) * 0.05  # keep away from the kink, farther than the step H
    if zeros:
        x.reshape(-1)[::3] = 0.0
        x.reshape(-1)[1::9] = -0.0
    return x, rng.normal(size=x.shape)


@pytest.mark.points(1)
def test_relu_forward(student: Any, rng: np.random.Generator) -> None:
    """relu_forward: max(0, x) entry by entry, including inputs of exactly 0"""
    x, _ = _relu_inputs(rng, zeros=True)
    checks.close(student.call("relu_forward", x), np.maximum(0.0, x), "relu_forward's result",
                 tol=1e-12, on="negative, zero and positive inputs")


@pytest.mark.points(1)
def test_relu_backward(student: Any, rng: np.random.Generator) -> None:
    """relu_backward: agrees with centred differences and GradientTape away from the kink"""
    x, dout = _relu_inputs(rng, zeros=False)
    taped = tape(lambda tf, v: tf.reduce_sum(tf.nn.relu(v) * dout), x)[0]
    numeric = centred(lambda v: float(np.sum(np.maximum(0.0, v) * dout)), x)
    agrees(student.call("relu_backward", dout, x), taped, "relu_backward's result",
           "inputs away from 0", numeric=numeric)


@pytest.mark.points(1)
def test_relu_backward_kink(student: Any, rng: np.random.Generator) -> None:
    """relu_backward: passes no gradient at inputs of exactly 0 (the notebook's convention)"""
    x, dout = _relu_inputs(rng, zeros=True)
    taped = tape(lambda tf, v: tf.reduce_sum(tf.nn.relu(v) * dout), x)[0]
    got = checks.finite(checks.shape(student.call("relu_backward", dout, x), x.shape,
                                     "relu_backward's result"), "relu_backward's result")
    wrong = np.abs(got - taped) > TOL * np.maximum(1e-8, np.abs(got) + np.abs(taped))
    if wrong.any() and np.all(x[wrong] == 0):
        raise GradingFailure(f"relu_backward lets gradient through at {int(wrong.sum())} input(s) "
                             "of exactly 0; the convention is a derivative of 0 there (x > 0 only)")
    checks.close(got, taped, "relu_backward's result", tol=TOL,
                 on="inputs with exact zeros, checked with tf.GradientTape")


# --- 4. softmax cross-entropy -------------------------------------------------------------------

@pytest.mark.points(2)
def test_softmax_cross_entropy_backward(student: Any, rng: np.random.Generator) -> None:
    """softmax_cross_entropy_backward: agrees with centred differences and GradientTape"""
    for n, scale in ((1, 1.0), (int(rng.integers(3, 9)), 1.0), (32, 3.0), (4, 1000.0)):
        logits = rng.normal(0, scale, (n, 10))
        y = np.eye(10)[rng.integers(0, 10, n)]
        on = f"a batch of {n}" + (" with logits in the thousands" if scale > 100 else "")
        taped = tape(lambda tf, s, y=y: tf_cross_entropy(tf, s, tf.constant(y)), logits)[0]
        at = numeric = None
        if scale < 100:  # centred differences where the gradient is not tiny
            at = np.flatnonzero(np.abs(taped) > 1e-2)
            numeric = centred(functools.partial(cross_entropy, y=y), logits, at)
        got = student.call("softmax_cross_entropy_backward", logits, y)
        agrees(got, taped, "softmax_cross_entropy_backward's result", on, numeric, at)


# --- 5. the network -----------------------------------------------------------------------------

def network_case(seed: int, n: int, kink: bool = False) -> tuple[Any, ...]:
    """A batch shaped like MNIST (mostly blank pixels) and parameters drawn like init_params.

    With ``kink``, the first image is blank and every third hidden bias is 0, so those hidden
    units sit exactly at the ReLU's kink for that image.
    """
    rng = np.random.default_rng(seed)
    x = rng.random((n, 784)) * (rng.random((n, 784)) < 0.25)
    y = np.eye(10)[rng.integers(0, 10, n)]
    weights = {"hidden1": rng.normal(0, 0.1, (784, 100)), "output": rng.normal(0, 0.1, (100, 10))}
    biases = {"hidden1": rng.normal(0, 0.1, 100), "output": rng.normal(0, 0.1, 10)}
    if kink:
        x[0] = 0.0
        biases["hidden1"][::3] = 0.0
    return x, y, weights, biases


def network_loss(x: np.ndarray, y: np.ndarray, weights: dict, biases: dict) -> float:
    hidden = np.maximum(0.0, x @ weights["hidden1"] + biases["hidden1"])
    return cross_entropy(hidden @ weights["output"] + biases["output"], y)


@functools.lru_cache(maxsize=8)
def network_reference(seed: int, n: int, kink: bool) -> dict[str, Any]:
    """Tape gradients of the case and, away from the kink, centred differences at a sample of
    entries whose gradient is not tiny: ``{"weights": {key: (taped, at, numeric)}, ...}``."""
    x, y, weights, biases = network_case(seed, n, kink)

    def loss(tf: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
        hidden = tf.nn.relu(tf.matmul(tf.constant(x), w1) + b1)
        return tf_cross_entropy(tf, tf.matmul(hidden, w2) + b2, tf.constant(y))

    taped = tape(loss, weights["hidden1"], biases["hidden1"], weights["output"], biases["output"])
    grads = {"weights": {"hidden1": taped[0], "output": taped[2]},
             "biases": {"hidden1": taped[1], "output": taped[3]}}
    rng = np.random.default_rng(seed + 1000)
    out: dict[str, Any] = {}
    for group, params in (("weights", weights), ("biases", biases)):
        out[group] = {}
        for key in KEYS:
            at = numeric = None
            if not kink:
                big = np.flatnonzero(np.abs(grads[group][key]) > 1e-3)
                at = rng.choice(big, min(8, big.size), replace=False)

                def f(v: np.ndarray, group: str = group, key: str = key) -> float:
                    w, b = dict(weights), dict(biases)
                    (w if group == "weights" else b)[key] = v
                    return network_loss(x, y, w, b)

                numeric = centred(f, params[key], at)
            out[group][key] = (grads[group][key], at, numeric)
    return out


def network_cases(rng: np.random.Generator) -> list[tuple[int, int, bool, str]]:
    """A random batch far enough from the ReLU's kink for centred differences, and a batch with
    a blank image at the kink: (seed, N, kink, description)."""
    n = int(rng.integers(5, 10))
    for seed in rng.integers(0, 2**31, 100):
        x, _, weights, biases = network_case(int(seed), n)
        if np.min(np.abs(x @ weights["hidden1"] + biases["hidden1"])) >= 10 * H:
            break
    else:
        raise RuntimeError("the suite could not draw a network case away from the kink")
    return [(int(seed), n, False, f"a random batch of {n} images"),
            (int(rng.integers(0, 2**31)), int(rng.integers(3, 7)), True,
             "a batch with a blank image at the ReLU kink")]


# --- the same network with other layers (see autograder.tasks.backprop.with_other_layers) --------

def other_layers_network(x: np.ndarray, y: np.ndarray, weights: dict,
                         biases: dict) -> dict[str, Any]:
    """What a network function wired the right way gives with the task's other layers."""
    def leaky(v: np.ndarray) -> np.ndarray:
        return np.where(v > 0, v, 0.1 * v)

    a1 = x @ weights["hidden1"] + 2.0 * biases["hidden1"]
    h1 = leaky(a1)
    logits = h1 @ weights["output"] + 2.0 * biases["output"]
    dlogits = (logits - y) / len(x)
    da1 = (dlogits @ weights["output"].T) * np.where(a1 > 0, 1.0, 0.1)
    return {"logits": logits, "loss": cross_entropy(logits, y),
            "weights": {"hidden1": x.T @ da1, "output": h1.T @ dlogits},
            "biases": {"hidden1": 2.0 * da1.sum(axis=0), "output": 2.0 * dlogits.sum(axis=0)}}


def _args(function: str, case: tuple[Any, ...]) -> list[Any]:
    """The arguments of ``function`` for a case ``(x, y, weights, biases)``."""
    x, y, weights, biases = case
    return [x, weights, biases] if function == "network_forward" else [x, y, weights, biases]


def wired_right(student: Any, function: str, cases: list[tuple[Any, ...]],
                check: Callable[[Any, dict[str, Any]], None]) -> bool:
    """Whether ``function`` gives with the other layers what the right wiring gives."""
    for case in cases:
        try:
            out = student.task("with_other_layers", function=function,
                               args=_args(function, case))
            check(out, other_layers_network(*case))
        except (StudentError, GradingFailure):
            return False
    return True


def judged_on_its_own(student: Any, function: str, cases: list[tuple[Any, ...]],
                      direct: Callable[[], None], check: Callable[[Any, dict[str, Any]], None]
                      ) -> None:
    """Run the ``direct`` check; if it fails, the function still passes when it is wired the
    right way, so the failure was a layer's."""
    try:
        direct()
    except (StudentError, GradingFailure) as exc:
        if isinstance(exc, StudentError) and exc.kind in ("not_implemented", "missing",
                                                          "signature"):
            try:
                student.task("with_other_layers", function=function,
                             args=_args(function, cases[0]))
            except StudentError:
                raise exc from None
        if not wired_right(student, function, cases, check):
            raise


def _gradients_of(out: Any) -> tuple[Any, dict, dict]:
    out = parts(out, ("loss", "dweights", "dbiases"), "network_gradients")
    for group, value in (("dweights", out[1]), ("dbiases", out[2])):
        if not isinstance(value, dict) or not set(KEYS) <= set(value):
            raise GradingFailure(f"network_gradients' {group} should be a dict with the keys "
                                 "'hidden1' and 'output'")
    return out


def _network_gradients(student: Any, seed: int, n: int, kink: bool) -> tuple[Any, dict, dict]:
    return _gradients_of(student.call("network_gradients", *network_case(seed, n, kink)))


@pytest.mark.points(1)
@pytest.mark.builds_on("affine_forward", "relu_forward")
def test_network_forward(student: Any, rng: np.random.Generator) -> None:
    """network_forward: the logits of the 784-100-10 ReLU network"""
    cases = [network_case(int(rng.integers(0, 2**31)), n) for n in (1, int(rng.integers(4, 9)))]

    def direct() -> None:
        for x, _, weights, biases in cases:
            hidden = np.maximum(0.0, x @ weights["hidden1"] + biases["hidden1"])
            want = hidden @ weights["output"] + biases["output"]
            checks.close(student.call("network_forward", x, weights, biases), want,
                         "network_forward's logits", tol=1e-10, on=f"a batch of {len(x)} images")

    def check(out: Any, right: dict[str, Any]) -> None:
        checks.close(out, right["logits"], "network_forward's logits", tol=1e-9)

    judged_on_its_own(student, "network_forward", cases, direct, check)


GRADIENTS_OF = ("affine_forward", "relu_forward", "softmax_cross_entropy_backward",
                "affine_backward", "relu_backward")


def _all_cases(cases: list[tuple[int, int, bool, str]]) -> list[tuple[Any, ...]]:
    return [network_case(seed, n, kink) for seed, n, kink, _ in cases]


@pytest.mark.points(1)
@pytest.mark.builds_on(*GRADIENTS_OF)
def test_network_gradients_loss_and_shapes(student: Any, rng: np.random.Generator) -> None:
    """network_gradients: returns the loss and a gradient shaped like every parameter"""
    cases = network_cases(rng)

    def shaped(loss: Any, dweights: dict, dbiases: dict, want: float, on: str) -> None:
        checks.close(checks.scalar(loss, "network_gradients' loss"), want,
                     "network_gradients' loss", tol=1e-10, on=on)
        for group, grads in (("weights", dweights), ("biases", dbiases)):
            for key in KEYS:
                got = checks.shape(grads[key], SHAPES[group][key], f"d{group}['{key}']")
                if not np.any(got != 0):
                    raise GradingFailure(f"d{group}['{key}'] is all zeros")

    def direct() -> None:
        for seed, n, kink, on in cases:
            shaped(*_network_gradients(student, seed, n, kink),
                   network_loss(*network_case(seed, n, kink)), on)

    def check(out: Any, right: dict[str, Any]) -> None:
        shaped(*_gradients_of(out), right["loss"], "")

    judged_on_its_own(student, "network_gradients", _all_cases(cases), direct, check)


def _check_network(student: Any, rng: np.random.Generator, group: str) -> None:
    cases = network_cases(rng)
    which = 1 if group == "weights" else 2

    def direct() -> None:
        for seed, n, kink, on in cases:
            grads = _network_gradients(student, seed, n, kink)[which]
            for key in KEYS:
                taped, at, numeric = network_reference(seed, n, kink)[group][key]
                agrees(grads[key], taped, f"d{group}['{key}']", on, numeric, at)

    def check(out: Any, right: dict[str, Any]) -> None:
        grads = _gradients_of(out)[which]
        for key in KEYS:
            checks.close(grads[key], right[group][key], f"d{group}['{key}']", tol=1e-8)

    judged_on_its_own(student, "network_gradients", _all_cases(cases), direct, check)


@pytest.mark.points(1)
@pytest.mark.builds_on(*GRADIENTS_OF)
def test_network_weight_gradients(student: Any, rng: np.random.Generator) -> None:
    """network_gradients: dL/dW of both layers agree with centred differences and GradientTape"""
    _check_network(student, rng, "weights")


@pytest.mark.points(1)
@pytest.mark.builds_on(*GRADIENTS_OF)
def test_network_bias_gradients(student: Any, rng: np.random.Generator) -> None:
    """network_gradients: dL/db agree with centred differences and GradientTape, also at the kink"""
    _check_network(student, rng, "biases")
