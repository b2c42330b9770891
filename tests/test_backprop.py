"""backprop graded the way it is used: reference, stub, plausible bugs, differently written ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from util import ROOT, failed, grade_text, mutate_all, solution_source

from autograder import manifest
from autograder.grading.run import grade

A = "backprop"

# name: ([(old, new), ...] replacements in the reference solution, the tests the bug must fail,
#        {test: words its feedback must contain}). A layer's mistake costs the layer's tests only:
# the network functions that use the layer are judged on their wiring (see the suite).
BUGS = {
    "bias gradient not summed over the batch": (
        [("db = dout.sum(axis=0)", "db = dout")],
        {"test_affine_backward_shapes", "test_affine_backward_db"},
        {"test_affine_backward_shapes": "db has shape [", "test_affine_backward_db": "db has shape"},
    ),
    "dw with the transposes swapped": (
        [("dw = x.T @ dout", "dw = dout.T @ x")],
        {"test_affine_backward_shapes", "test_affine_backward_dw"},
        {"test_affine_backward_dw": "dw has shape ["},
    ),
    "ReLU backward lets the gradient through at exactly 0": (
        [("return dout * (x > 0)", "return dout * (x >= 0)")],
        {"test_relu_backward_kink"},
        {"test_relu_backward_kink": "input(s) of exactly 0"},
    ),
    "ReLU backward does not mask": (
        [("return dout * (x > 0)", "return dout")],
        {"test_relu_backward", "test_relu_backward_kink"},
        {"test_relu_backward": "inputs away from 0"},
    ),
    "one-sided difference": (
        [("x[index] = old - h\n", "x[index] = old\n"), ("/ (2 * h)", "/ h")],
        {"test_numerical_gradient_vector", "test_numerical_gradient_matrix"},
        {"test_numerical_gradient_vector": "(f(x + h) - f(x - h)) / 2h"},
    ),
    "numerical_gradient does not put x back": (
        # each later entry is differentiated at a shifted point: that spoils the gradient of the
        # coupled (matrix) function only, and leaves x changed
        [("        x[index] = old\n        grad[index]", "        grad[index]")],
        {"test_numerical_gradient_matrix", "test_numerical_gradient_restores_input"},
        {"test_numerical_gradient_restores_input": "changed the array x"},
    ),
    "softmax cross-entropy gradient without the 1/N": (
        [("return (softmax(logits) - y) / logits.shape[0]", "return softmax(logits) - y")],
        {"test_softmax_cross_entropy_backward"},
        {"test_softmax_cross_entropy_backward": "on a batch of"},
    ),
    "chain rule without the inner derivative": (
        [("dz_dx = np.cos(y) * 2 * x", "dz_dx = np.cos(y)")],
        {"test_sin_of_square"},
        {"test_sin_of_square": "dz_dx"},
    ),
    "sigmoid neuron without sigma'(a)": (
        [("dloss_da = dloss_dh * h * (1 - h)", "dloss_da = dloss_dh")],
        {"test_sigmoid_neuron_gradients"},
        {"test_sigmoid_neuron_gradients": "dloss_dw"},
    ),
}

# A correct solution written differently: loops, np.where, other formulas, copies, inline layers.
DIFFERENT = [
    ("    dz_dx = np.cos(y) * 2 * x  # dz/dy = cos(y), dy/dx = 2x\n    return z, dz_dx",
     "    import math\n    return math.sin(x * x), 2.0 * x * math.cos(x * x)"),
    ("dloss_da = dloss_dh * h * (1 - h)",
     "dloss_da = dloss_dh * np.exp(-a) / (1 + np.exp(-a)) ** 2"),
    ("    grad = np.zeros(x.shape)\n"
     "    for index in np.ndindex(x.shape):\n"
     "        old = x[index]\n"
     "        x[index] = old + h\n"
     "        f_plus = f(x)\n"
     "        x[index] = old - h\n"
     "        f_minus = f(x)\n"
     "        x[index] = old\n"
     "        grad[index] = (f_plus - f_minus) / (2 * h)\n",
     "    grad = np.zeros_like(x, dtype=float)\n"
     "    for i in range(x.size):\n"
     "        up, down = x.copy(), x.copy()\n"
     "        up.flat[i] += h\n"
     "        down.flat[i] -= h\n"
     "        grad.flat[i] = (f(up) - f(down)) / (2 * h)\n"),
    ("    return x @ w + b\n", "    return np.matmul(x, w) + b[None, :]\n"),
    ("    dx = dout @ w.T\n    dw = x.T @ dout\n    db = dout.sum(axis=0)\n",
     "    dx, dw, db = np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[1])\n"
     "    for n in range(x.shape[0]):\n"
     "        dx[n] = w @ dout[n]\n"
     "        dw += np.outer(x[n], dout[n])\n"
     "        db += dout[n]\n"),
    ("return np.maximum(0.0, x)", "return x * (x > 0)"),
    ("return dout * (x > 0)", "return np.where(x > 0, dout, 0.0)"),
    ("return (softmax(logits) - y) / logits.shape[0]",
     "n = logits.shape[0]\n"
     "    grad = softmax(logits)\n"
     "    grad[np.arange(n), np.argmax(y, axis=1)] -= 1.0\n"
     "    return grad / n"),
    ("    dh1, dw2, db2 = affine_backward(dlogits, h1, weights[\"output\"])\n"
     "    da1 = relu_backward(dh1, a1)\n"
     "    _, dw1, db1 = affine_backward(da1, x, weights[\"hidden1\"])\n",
     "    dw2 = np.einsum('nh,nk->hk', h1, dlogits)\n"
     "    db2 = np.einsum('nk->k', dlogits)\n"
     "    da1 = (dlogits @ weights[\"output\"].T) * (a1 > 0)\n"
     "    dw1 = x.T @ da1\n"
     "    db1 = np.sum(da1, axis=0)\n"),
]


def _outputs(result) -> list[tuple[str, str]]:
    return [(t.id, t.output) for t in result.tests]


@pytest.fixture(scope="module")
def reference_result():
    return grade(assignment=A, submission=ROOT / "solutions" / A / f"{A}.ipynb")


def test_reference_earns_full_marks(reference_result):
    assert reference_result.max_score == manifest.get(A).points == 20
    assert reference_result.score == 20, _outputs(reference_result)
    assert not reference_result.notes
    assert reference_result.execution_time < 60


def test_stub_earns_nothing_and_says_not_implemented():
    result = grade(assignment=A, submission=ROOT / "assignments" / A / f"{A}.ipynb")
    assert result.score == 0
    assert len(result.tests) == 19
    for test in result.tests:
        assert test.output.startswith("not implemented"), (test.id, test.output)
        assert "Traceback" not in test.output


@pytest.mark.parametrize("bug", list(BUGS))
def test_bug_loses_exactly_its_points(tmp_path: Path, bug: str, reference_result):
    replacements, expected, says = BUGS[bug]
    source = solution_source(A)
    source = mutate_all(source, replacements)
    result = grade_text(tmp_path, A, source)
    assert failed(result) == expected, _outputs(result)
    lost = sum(t.max_score for t in result.tests if t.id in expected)
    assert result.score == reference_result.max_score - lost
    outputs = dict(_outputs(result))
    for test_id, words in says.items():
        assert words in outputs[test_id], (test_id, outputs[test_id])
    for test_id in expected:
        assert outputs[test_id] and "Traceback" not in outputs[test_id], (test_id, outputs[test_id])


def test_differently_written_solution_keeps_full_marks(tmp_path: Path):
    source = solution_source(A)
    source = mutate_all(source, DIFFERENT)
    result = grade_text(tmp_path, A, source)
    assert result.score == result.max_score == 20, _outputs(result)


def test_a_network_wired_wrong_on_a_broken_layer_is_told_which_layer_failed(tmp_path: Path):
    """A layer's mistake alone costs the network nothing; with a wiring mistake on top, the
    report names the layer that failed its own tests first."""
    source = mutate_all(solution_source(A), [
        ("db = dout.sum(axis=0)", "db = dout.mean(axis=0)"),
        ('dh1, dw2, db2 = affine_backward(dlogits, h1, weights["output"])',
         'dh1, dw2, db2 = affine_backward(dlogits, a1, weights["output"])')])
    result = grade_text(tmp_path, A, source, select=["network", "affine_backward"])
    outputs = dict(_outputs(result))
    assert outputs["test_affine_backward_db"]
    assert "affine_backward, which this function uses, fails its own tests: fix it first" in \
        outputs["test_network_weight_gradients"], outputs["test_network_weight_gradients"]
