"""A grade means what it says: the cases of issue 10, each reproduced with a short submission.

Points are counted per graded function (a test's name begins with the function it is about), so
each assertion says which function earns what.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from util import earned, grade_text, mutate, possible, replace_body, solution_source

from coursekit.data import mnist

MLP = "mlp_mnist"
FAKE_TRAIN = "return [2.5 / (k + 1) for k in range(n_iter // n_prt)]"
LECTURE = "the lecture's run"  # mlp_mnist's test of the whole run, built from the functions


def mlp(*changes: tuple[str, str]) -> str:
    """The mlp_mnist reference with each (function, body) replaced."""
    source = solution_source(MLP)
    for function, body in changes:
        source = replace_body(source, function, body)
    return source


def failed_tests(result) -> set[str]:
    return {t.id for t in result.tests if t.status != "passed"}


# --- 1-3: training evidence, predictions from a model, each function on its own ----------------

def test_train_that_fabricates_falling_costs_earns_nothing(tmp_path: Path) -> None:
    """It costs train's points and the lecture's run (which train does), nothing else."""
    result = grade_text(tmp_path, MLP, mlp(("train", FAKE_TRAIN)))
    assert earned(result, "train") == 0 < possible(result, "train")
    assert earned(result, LECTURE) == 0 < possible(result, LECTURE)
    assert result.score == result.max_score - possible(result, "train") - possible(result, LECTURE)


def test_train_that_returns_nothing_earns_nothing(tmp_path: Path) -> None:
    result = grade_text(tmp_path, MLP, mlp(("train", "return []")), select=["train"])
    assert result.score == 0 and result.max_score == 5


def test_pasted_test_labels_earn_nothing(tmp_path: Path) -> None:
    """MNIST's test labels are public: a predict that returns them, with a fake train."""
    labels = mnist.read_idx(mnist.ensure() / mnist.TEST_LABELS)
    pasted = base64.b64encode(labels.tobytes()).decode("ascii")
    body = (f"labels = np.frombuffer(__import__('base64').b64decode('{pasted}'), np.uint8)\n"
            "return labels[:len(images)].astype(np.int64)")
    result = grade_text(tmp_path, MLP, mlp(("train", FAKE_TRAIN), ("predict", body)),
                        select=["train", "predict"])
    assert earned(result, "train") == earned(result, "predict") == 0
    assert result.max_score == 7


def test_a_missing_predict_or_a_broken_loss_costs_train_nothing(tmp_path: Path) -> None:
    source = mlp(("predict", 'raise NotImplementedError("predict is not implemented yet")'))
    source = mutate(source, "return tf.reduce_mean(tf.nn.softmax_cross_entropy",
                    "return tf.reduce_sum(tf.nn.softmax_cross_entropy")
    result = grade_text(tmp_path, MLP, source)
    assert earned(result, "train") == possible(result, "train") == 5
    assert earned(result, "predict") == 0
    assert earned(result, "build_loss") < possible(result, "build_loss")


def test_a_broken_init_params_costs_only_the_lectures_run(tmp_path: Path) -> None:
    """The lecture's run starts from the notebook's init_params; each function is graded on its
    own inputs, so a broken init_params costs nothing else."""
    result = grade_text(tmp_path, MLP, mlp(("init_params", "return None, None")))
    assert failed_tests(result) == {"test_lecture_run"}, [(t.id, t.output) for t in result.tests]
    assert "init_params" in next(t.output for t in result.tests if t.id == "test_lecture_run")
    assert result.score == result.max_score - possible(result, LECTURE) == 17


# --- 4: train at settings other than the lecture's ----------------------------------------------

TRAIN_BUGS = {
    "logs from step n_prt": (("if step % n_prt == 0:", "if (step + 1) % n_prt == 0:"),
                             "test_train_costs", "steps 0, n_prt"),
    "one step too few": (("for step in range(n_iter):", "for step in range(n_iter - 1):"),
                         "test_train_steps", "fewer optimizer steps"),
    "next_batch(50) hard-coded": (("data.next_batch(n_batch)", "data.next_batch(50)"),
                                  "test_train_steps", "another size than n_batch"),
    "range(2500) hard-coded": (("for step in range(n_iter):", "for step in range(2500):"),
                               "test_train_steps", "more batches from data than n_iter"),
    "the global mnist.train instead of data": (
        ("data.next_batch(n_batch)", "mnist.train.next_batch(n_batch)"),
        "test_train_steps", "from the data argument"),
}


@pytest.mark.parametrize("bug", list(TRAIN_BUGS))
def test_train_is_tried_away_from_the_lectures_settings(tmp_path: Path, bug: str) -> None:
    (old, new), test_id, says = TRAIN_BUGS[bug]
    result = grade_text(tmp_path, MLP, mutate(solution_source(MLP), old, new), select=["train"])
    assert test_id in failed_tests(result), [(t.id, t.output) for t in result.tests]
    output = next(t.output for t in result.tests if t.id == test_id)
    assert says in output and "random" not in output, output


# --- 5: arguments away from their defaults -----------------------------------------------------

def test_ignoring_eps_loses_the_points_of_both_cross_entropies(tmp_path: Path) -> None:
    source = mutate(solution_source("losses"), "    h = np.clip(h, eps, 1 - eps)",
                    "    h = np.clip(h, EPS, 1 - EPS)")
    source = mutate(source, "    h = tf.clip_by_value(h, eps, 1 - eps)",
                    "    h = tf.clip_by_value(h, EPS, 1 - EPS)")
    result = grade_text(tmp_path, "losses", source, select=["binary_cross_entropy"])
    assert failed_tests(result) == {"test_binary_cross_entropy_certain",
                                    "test_tf_binary_cross_entropy_certain"}
    assert all("eps" in t.output for t in result.tests if t.status != "passed")


def test_numerical_gradient_that_ignores_h_loses_points(tmp_path: Path) -> None:
    source = mutate(solution_source("backprop"), "def numerical_gradient(f, x, h=1e-5):",
                    "def numerical_gradient(f, x, h=1e-5):\n    h = 1e-5")
    result = grade_text(tmp_path, "backprop", source, select=["numerical_gradient"])
    assert failed_tests(result) == {"test_numerical_gradient_vector"}
    assert "use the h" in result.tests[0].output


# --- 6: constants and identities ---------------------------------------------------------------

CONSTANTS = {
    "tf_basics": {"add_and_multiply": "return a, b", "eager_add_and_multiply": "return a, b",
                  "add_placeholders": ("return (tf.constant(1.0), tf.constant(2.0), "
                                       "tf.constant(3.0))")},
    "losses": {"softmax": "return np.full_like(z, 1.0 / z.shape[1])",
               "tf_softmax": "return tf.ones_like(z) / tf.cast(tf.shape(z)[1], z.dtype)"},
    "gradient_descent": {"gradient": "return np.zeros_like(theta)"},
    "backprop": {"numerical_gradient": "return None"},
    MLP: {"build_loss": "return tf.constant(0.0)",
          "build_model": 'return x @ tf.zeros([784, 10])'},
}


@pytest.mark.parametrize("assignment", list(CONSTANTS))
def test_constants_and_identities_earn_nothing(tmp_path: Path, assignment: str) -> None:
    source = solution_source(assignment)
    for function, body in CONSTANTS[assignment].items():
        source = replace_body(source, function, body)
    result = grade_text(tmp_path, assignment, source, select=list(CONSTANTS[assignment]))
    for function in CONSTANTS[assignment]:
        assert earned(result, function) == 0 < possible(result, function), function


# --- 7: evidence the submission controls ------------------------------------------------------

PATCH_TASKS = '''
import numpy as _np
import autograder.tasks.tf_basics as _tasks
import autograder.tasks.mlp_mnist as _mlp

def _fake_constants(ns, **kwargs):
    facts = {"kind": "Tensor", "graph_tensor": True, "variable": False, "dtype": "int32",
             "shape": [3], "op": "Const", "ops": ["Const"]}
    return {"a": dict(facts, value=_np.array([1, 2, 3])), "b": dict(facts, value=_np.array([4, 5, 6])),
            "outputs": {"a": {"kind": "Tensor", "name": "Const:0"},
                        "b": {"kind": "Tensor", "name": "Const_1:0"}},
            "graph": _np.zeros(0, _np.uint8)}

_tasks.constants_facts = _tasks.constants_graph = _fake_constants

def _fake_training(ns, *, weights, bias, n_iter, n_prt, **kwargs):
    return {"weights": weights * 0.9, "bias": bias, "sizes": _np.zeros(0, _np.int64),
            "costs": [2.5 / (k + 1) for k in range(n_iter // n_prt)]}

_mlp.train_probe = _fake_training
'''


def test_patching_the_task_modules_fakes_nothing(tmp_path: Path) -> None:
    source = replace_body(solution_source("tf_basics"), "lecture_constants",
                          'raise NotImplementedError("lecture_constants is not implemented yet")')
    result = grade_text(tmp_path, "tf_basics", source + "\n# %%\n" + PATCH_TASKS,
                        select=["lecture_constants"])
    assert earned(result, "lecture_constants") == 0 < possible(result, "lecture_constants")
    source = mlp(("train", FAKE_TRAIN)) + "\n# %%\n" + PATCH_TASKS
    result = grade_text(tmp_path, MLP, source, select=["train"])
    assert earned(result, "train") == 0 < possible(result, "train")


# --- 8: right code is never punished -----------------------------------------------------------

def test_optimizers_with_their_gradient_inline_keep_every_point(tmp_path: Path) -> None:
    """And a gradient that is all zeros loses only its own points."""
    source = mutate(solution_source("gradient_descent"),
                    "theta = theta - learning_rate * gradient(X, y, theta)",
                    "theta = theta - learning_rate * (X.T @ (X @ theta - y)) / len(y)")
    source = mutate(source,
                    "theta = theta - learning_rate * gradient(X[i:i + 1], y[i:i + 1], theta)",
                    "theta = theta - learning_rate * X[i] * (X[i] @ theta - y[i])")
    source = mutate(source, "theta = theta - learning_rate * gradient(X[batch], y[batch], theta)",
                    "Xb, yb = X[batch], y[batch]\n"
                    "            theta = theta - learning_rate * Xb.T @ (Xb @ theta - yb) / len(yb)")
    source = replace_body(source, "gradient", "return np.zeros_like(theta)")
    result = grade_text(tmp_path, "gradient_descent", source)
    assert earned(result, "gradient") == 0
    assert result.score == result.max_score - possible(result, "gradient"), \
        [(t.id, t.output) for t in result.tests if t.status != "passed"]


def test_float32_logits_computed_another_way_keep_their_points(tmp_path: Path) -> None:
    """Logits near 0 in float32 differ in the last digits when computed in another order."""
    source = mutate(
        solution_source(MLP),
        'hidden1 = tf.nn.relu(tf.add(tf.matmul(x, weights["hidden1"]), biases["hidden1"]))\n'
        '    return tf.add(tf.matmul(hidden1, weights["output"]), biases["output"])',
        'w1, b1 = tf.cast(weights["hidden1"], tf.float64), tf.cast(biases["hidden1"], tf.float64)\n'
        '    w2, b2 = tf.cast(weights["output"], tf.float64), tf.cast(biases["output"], tf.float64)\n'
        '    hidden = tf.maximum(tf.einsum("ni,ij->nj", tf.cast(x, tf.float64), w1) + b1, 0.0)\n'
        '    return tf.cast(tf.einsum("nj,jk->nk", hidden, w2) + b2, tf.float32)')
    result = grade_text(tmp_path, MLP, source, select=["build_model"])
    assert result.score == result.max_score == 4, [(t.id, t.output) for t in result.tests]


# --- 9: feedback that gives nothing away ------------------------------------------------------

LEAK = 'raise ValueError(repr(np.round(z, 3).ravel()[:4].tolist()))'


def _leaked(tmp_path: Path, extra: str) -> str:
    source = replace_body(solution_source("losses"), "softmax", LEAK) + extra
    result = grade_text(tmp_path, "losses", source, select=["test_softmax_values"])
    output = result.tests[0].output
    assert "ValueError: [" in output, output
    return output


def test_what_a_report_reveals_is_useless_for_another_submission(tmp_path: Path) -> None:
    first = _leaked(tmp_path, "")
    assert _leaked(tmp_path, "") == first  # the same file: the same inputs, the same grade
    assert _leaked(tmp_path, "\n# %%\n# only a comment more\n") == first
    assert _leaked(tmp_path, "\n# %%\nunused = 1\n") != first  # other code: other inputs


def test_tensorflow_errors_name_the_op_without_its_listing(tmp_path: Path) -> None:
    source = mutate(solution_source(MLP),
                    'return tf.add(tf.matmul(hidden1, weights["output"]), biases["output"])',
                    'return tf.reshape(tf.matmul(hidden1, weights["output"]), [13, 10])')
    result = grade_text(tmp_path, MLP, source, select=["build_model"])
    outputs = [t.output for t in result.tests]
    assert all("TensorFlow op Reshape" in o for o in outputs), outputs
    assert not any(re.search(r"\{\{node|Tshape=|input shapes|File \"", o) for o in outputs), outputs
    assert np.all([len(o) < 400 for o in outputs])
