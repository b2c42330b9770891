"""Code that does no work earns nothing: a corpus of trivial implementations for every assignment.

Each kind of trivial implementation (constants of the right shape, the inputs handed back, zeros,
uniform rows, ``None``, a fabricated history, training that does not train) replaces the reference
bodies of the functions it applies to, all in one submission. Every test of a replaced function
must then fail, and every test of the other functions must still pass: a trivial function earns
nothing, and it costs no other function a point.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from util import function_of, grade_text, replace_body, solution_source

# assignment -> kind -> {function: body}
CORPUS: dict[str, dict[str, dict[str, str]]] = {
    "tf_basics": {
        "constants and identities": {
            "lecture_constants": "return tf.constant([0, 0, 0]), tf.constant([0, 0, 0])",
            "add_and_multiply": "return a, b",
            "run_in_session": "return 0",
            "build_counter": "count = tf.constant(0)\nreturn count, count",
            "run_counter": "return n",
            "add_placeholders": ("return (tf.constant(1.0), tf.constant(2.0), "
                                 "tf.constant(3.0))"),
            "eager_add_and_multiply": "return a, b",
            "eager_counter": "return tf.constant(n)",
        },
        "zeros and None": {
            "lecture_constants": "return tf.zeros([3], tf.int32), tf.zeros([3], tf.int32)",
            "add_and_multiply": "return tf.zeros_like(a), tf.zeros_like(b)",
            "run_in_session": "return None",
            "build_counter": "return tf.constant(0), tf.no_op()",
            "run_counter": "return 0",
            "add_placeholders": ("a = tf1.placeholder(tf.float32)\nb = tf1.placeholder(tf.float32)\n"
                                 "return a, b, tf.zeros_like(a)"),
            "eager_add_and_multiply": "return tf.zeros_like(a), tf.zeros_like(b)",
            "eager_counter": "return tf.Variable(0)",
        },
    },
    "losses": {
        "zeros and constants": {
            "squared_loss": "return 0.0",
            "binary_cross_entropy": "return 0.0",
            "softmax": "return np.full_like(z, 1.0 / z.shape[1])",
            "softmax_cross_entropy": "return 1.0",
            "tf_squared_loss": "return tf.constant(0.0)",
            "tf_binary_cross_entropy": "return tf.constant(0.0)",
            "tf_softmax": "return tf.ones_like(z) / tf.cast(tf.shape(z)[1], z.dtype)",
            "tf_softmax_cross_entropy": "return tf.constant(1.0)",
        },
        "inputs handed back": {
            "squared_loss": "return float(np.mean(h))",
            "binary_cross_entropy": "return float(np.mean(y))",
            "softmax": "return z",
            "softmax_cross_entropy": "return float(np.mean(logits))",
            "tf_squared_loss": "return tf.reduce_mean(h)",
            "tf_binary_cross_entropy": "return tf.reduce_mean(y)",
            "tf_softmax": "return z",
            "tf_softmax_cross_entropy": "return tf.reduce_mean(labels)",
        },
    },
    "backprop": {
        "zeros of the right shape": {
            "sin_of_square": "return 0.0, 0.0",
            "sigmoid_neuron": "return 0.0, 0.0, 0.0",
            "numerical_gradient": "return np.zeros(x.shape)",
            "affine_forward": "return np.zeros((x.shape[0], w.shape[1]))",
            "affine_backward": "return np.zeros(x.shape), np.zeros(w.shape), np.zeros(w.shape[1])",
            "relu_forward": "return np.zeros_like(x)",
            "relu_backward": "return np.zeros_like(dout)",
            "softmax_cross_entropy_backward": "return np.zeros_like(logits)",
            "network_forward": "return np.zeros((x.shape[0], 10))",
            "network_gradients": (
                "return (0.0, {k: np.zeros_like(v) for k, v in weights.items()},\n"
                "        {k: np.zeros_like(v) for k, v in biases.items()})"),
        },
        "inputs handed back and None": {
            "sin_of_square": "return x, x",
            "sigmoid_neuron": "return w, x, b",
            "numerical_gradient": "return None",
            "affine_forward": "return x",
            "affine_backward": "return x, w, dout",
            "relu_forward": "return x",
            "relu_backward": "return dout",
            "softmax_cross_entropy_backward": "return logits",
            "network_forward": "return x[:, :10]",
            "network_gradients": "return float(np.mean(y)), weights, biases",
        },
    },
    "gradient_descent": {
        "zeros and fabricated histories": {
            "cost": "return 0.0",
            "gradient": "return np.zeros_like(theta)",
            "batch_gradient_descent": ("return np.array(theta, dtype=float), "
                                       "np.linspace(1.0, 0.1, n_epochs + 1)"),
            "stochastic_gradient_descent": ("return np.array(theta, dtype=float), "
                                            "np.linspace(1.0, 0.1, len(y) * n_epochs + 1)"),
            "minibatch_gradient_descent": (
                "steps = -(-len(y) // batch_size) * n_epochs\n"
                "return np.array(theta, dtype=float), np.linspace(1.0, 0.1, steps + 1)"),
        },
        "inputs handed back": {
            "cost": "return float(np.mean(y))",
            "gradient": "return theta",
            "batch_gradient_descent": "return theta, np.array([cost(X, y, theta)] * (n_epochs + 1))",
            "stochastic_gradient_descent": "return theta, np.array([cost(X, y, theta)])",
            "minibatch_gradient_descent": "return theta, np.array([])",
        },
    },
    "mlp_mnist": {
        "constants and fabricated training": {
            "build_model": 'return x @ tf.zeros([784, 10])',
            "build_loss": "return tf.constant(0.0)",
            "build_accuracy": "return tf.constant(0.5)",
            "train": "return [2.5 / (k + 1) for k in range(n_iter // n_prt)]",
            "predict": "return np.zeros(len(images), dtype=np.int64)",
        },
        "inputs handed back, no training": {
            "build_model": "return x[:, :10]",
            "build_loss": "return tf.reduce_mean(logits)",
            "build_accuracy": "return tf.reduce_mean(y)",
            "train": "return []",
            "predict": "return np.arange(len(images)) % 10",
        },
    },
}

LECTURE = "the lecture's run"  # mlp_mnist's test of the whole run
CASES = [(a, kind) for a, kinds in CORPUS.items() for kind in kinds]


@pytest.mark.parametrize(("assignment", "kind"), CASES, ids=[f"{a}-{k}" for a, k in CASES])
def test_trivial_code_earns_nothing_and_costs_nothing_else(tmp_path: Path, assignment: str,
                                                          kind: str) -> None:
    bodies = CORPUS[assignment][kind]
    source = solution_source(assignment)
    for function, body in bodies.items():
        source = replace_body(source, function, body)
    result = grade_text(tmp_path, assignment, source)
    # the lecture's run is built from the functions, so it fails with them (it is no function)
    faked = [(t.name, t.output) for t in result.tests
             if (function_of(t.name) in bodies or function_of(t.name) == LECTURE)
             and t.status == "passed"]
    assert not faked, faked
    others = [(t.name, t.output) for t in result.tests if function_of(t.name) not in bodies
              and function_of(t.name) != LECTURE and t.status != "passed"]
    assert not others, others
    assert result.score == sum(t.max_score for t in result.tests
                               if function_of(t.name) not in bodies
                               and function_of(t.name) != LECTURE)
