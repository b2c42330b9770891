"""gradient_descent graded the way it is used: reference, stub, plausible bugs, other solutions."""

from __future__ import annotations

from pathlib import Path

import pytest
from util import ROOT, failed, grade_text, mutate, mutate_all, run_notebook, solution_source

from autograder import manifest
from autograder.grading.run import grade

A = "gradient_descent"
REFERENCE_GRADIENT = "return X.T @ (predict(X, theta) - y) / len(y)"
SGD_STEP = "theta = theta - learning_rate * gradient(X[i:i + 1], y[i:i + 1], theta)"

# (old, new) replacements in the reference solution, and the tests each bug must fail. The
# optimizers are judged on probe runs apart from the student's gradient and cost, so a wrong
# gradient or cost costs only its own tests.
BUGS = {
    "gradient with its sign flipped": (
        REFERENCE_GRADIENT,
        "return X.T @ (y - predict(X, theta)) / len(y)",
        {"test_gradient_shape", "test_gradient_centred_differences"},
    ),
    # Off by a positive factor: it still points uphill, so only its values are wrong.
    "gradient without the 1/m": (
        REFERENCE_GRADIENT,
        "return X.T @ (predict(X, theta) - y)",
        {"test_gradient_centred_differences"},
    ),
    "cost left unfinished": (
        "    residual = predict(X, theta) - y\n    return float(residual @ residual) / (2 * len(y))",
        '    raise NotImplementedError("cost is not implemented yet")',
        {"test_cost_values", "test_cost_perfect_fit"},
    ),
    "cost with 1/m instead of 1/(2m)": (
        "return float(residual @ residual) / (2 * len(y))",
        "return float(residual @ residual) / len(y)",
        {"test_cost_values"},
    ),
    # Every step on the whole set: no step takes one example, and no shuffled order is walked.
    "SGD that uses the whole training set in every step": (
        "gradient(X[i:i + 1], y[i:i + 1], theta)",
        "gradient(X, y, theta)",
        {"test_sgd_one_example_per_step", "test_sgd_shuffles"},
    ),
    "SGD that records the cost of the step's example": (
        f"{SGD_STEP}\n            costs.append(cost(X, y, theta))",
        f"{SGD_STEP}\n            costs.append(cost(X[i:i + 1], y[i:i + 1], theta))",
        {"test_sgd_steps_and_history"},
    ),
    "mini-batch that drops the last, smaller batch": (
        "for start in range(0, len(y), batch_size):",
        "for start in range(0, len(y) - batch_size + 1, batch_size):",
        {"test_minibatch_batch_sizes"},
    ),
    "mini-batch that never shuffles": (
        "order = rng.permutation(len(y))",
        "order = np.arange(len(y))",
        {"test_minibatch_shuffles"},
    ),
    "mini-batch that shuffles once, not every epoch": (
        "    for _ in range(n_epochs):\n        order = rng.permutation(len(y))\n",
        "    order = rng.permutation(len(y))\n    for _ in range(n_epochs):\n",
        {"test_minibatch_shuffles"},
    ),
    "batch gradient descent that goes on after the cost overflowed": (
        "        if not np.isfinite(costs[-1]):\n            break\n",
        "",
        {"test_batch_divergence"},
    ),
}

# Correct, but written differently from the reference: loops instead of matrix products, a copy
# changed in place, costs as a list, SGD as mini-batch with batches of one, rng.shuffle.
DIFFERENT = (
    ("    residual = predict(X, theta) - y\n"
     "    return float(residual @ residual) / (2 * len(y))",
     "    total = 0.0\n"
     "    for i in range(len(y)):\n"
     "        total += (X[i] @ theta - y[i]) ** 2\n"
     "    return total / (2 * len(y))"),
    (f"    {REFERENCE_GRADIENT}",
     "    m, d = X.shape\n"
     "    grad = np.zeros(d)\n"
     "    for j in range(d):\n"
     "        for i in range(m):\n"
     "            grad[j] += (sum(X[i, k] * theta[k] for k in range(d)) - y[i]) * X[i, j]\n"
     "    return grad / m"),
    ("    theta = np.array(theta, dtype=float)\n"
     "    costs = [cost(X, y, theta)]\n"
     "    for _ in range(n_epochs):\n"
     "        theta = theta - learning_rate * gradient(X, y, theta)\n"
     "        costs.append(cost(X, y, theta))\n"
     "        if not np.isfinite(costs[-1]):\n"
     "            break\n"
     "    return theta, np.array(costs)",
     "    theta = theta.copy()\n"
     "    costs = [cost(X, y, theta)]\n"
     "    for epoch in range(n_epochs):\n"
     "        theta -= learning_rate * gradient(X, y, theta)\n"
     "        costs.append(cost(X, y, theta))\n"
     "        if np.isnan(costs[-1]) or np.isinf(costs[-1]):\n"
     "            return theta, costs\n"
     "    return theta, costs"),
    ("    rng = np.random.default_rng(seed)\n"
     "    theta = np.array(theta, dtype=float)\n"
     "    costs = [cost(X, y, theta)]\n"
     "    for _ in range(n_epochs):\n"
     "        for i in rng.permutation(len(y)):\n"
     f"            {SGD_STEP}\n"
     "            costs.append(cost(X, y, theta))\n"
     "            if not np.isfinite(costs[-1]):\n"
     "                return theta, np.array(costs)\n"
     "    return theta, np.array(costs)",
     "    return minibatch_gradient_descent(X, y, theta, learning_rate, n_epochs, 1, seed)"),
    ("    for _ in range(n_epochs):\n"
     "        order = rng.permutation(len(y))\n"
     "        for start in range(0, len(y), batch_size):\n"
     "            batch = order[start:start + batch_size]\n"
     "            theta = theta - learning_rate * gradient(X[batch], y[batch], theta)",
     "    indices = np.arange(len(y))\n"
     "    n_batches = -(-len(y) // batch_size)\n"
     "    for _ in range(n_epochs):\n"
     "        rng.shuffle(indices)\n"
     "        X_shuffled, y_shuffled = X[indices], y[indices]\n"
     "        for k in range(n_batches):\n"
     "            X_batch = X_shuffled[k * batch_size:(k + 1) * batch_size]\n"
     "            y_batch = y_shuffled[k * batch_size:(k + 1) * batch_size]\n"
     "            theta = theta - learning_rate * gradient(X_batch, y_batch, theta)"),
)


# Also correct: the gradient by centred differences of the student's own cost, with the
# notebook's helper.
NUMERICAL_GRADIENT = (
    f"    {REFERENCE_GRADIENT}",
    "    return numerical_gradient(lambda t: cost(X, y, t), theta)",
)


@pytest.fixture(scope="module")
def reference_result():
    return grade(assignment=A, submission=ROOT / "solutions" / A / f"{A}.ipynb")


def test_reference_earns_full_marks_quickly(reference_result):
    assert reference_result.max_score == manifest.get(A).points == 20
    assert reference_result.score == 20, [(t.id, t.output) for t in reference_result.tests]
    assert not reference_result.notes
    assert reference_result.execution_time < 30


def test_stub_earns_nothing_and_says_not_implemented():
    result = grade(assignment=A, submission=ROOT / "assignments" / A / f"{A}.ipynb")
    assert result.score == 0
    assert len(result.tests) == 15
    for test in result.tests:
        assert test.output.startswith("not implemented:"), (test.id, test.output)


@pytest.mark.parametrize("bug", list(BUGS))
def test_bug_loses_exactly_its_points(tmp_path: Path, bug: str, reference_result):
    old, new, expected = BUGS[bug]
    result = grade_text(tmp_path, A, mutate(solution_source(A), old, new))
    assert failed(result) == expected, [(t.id, t.output) for t in result.tests]
    lost = sum(t.max_score for t in result.tests if t.id in expected)
    assert result.score == reference_result.max_score - lost
    for test in result.tests:
        assert "Traceback" not in test.output


def test_feedback_says_what_is_wrong_without_the_answer(tmp_path: Path):
    """Three bugs in one submission: each message names the problem, none holds a number of ours."""
    source = solution_source(A)
    for bug in ("SGD that uses the whole training set in every step",
                "mini-batch that drops the last, smaller batch",
                "batch gradient descent that goes on after the cost overflowed"):
        old, new, _ = BUGS[bug]
        source = mutate(source, old, new)
    outputs = {t.id: t.output for t in grade_text(tmp_path, A, source).tests
               if t.status != "passed"}
    assert "exactly one" in outputs["test_sgd_one_example_per_step"]
    assert "last batch" in outputs["test_minibatch_batch_sizes"]
    assert "stop and return" in outputs["test_batch_divergence"]
    for text in outputs.values():  # the hidden sizes (11 to 13 examples) stay hidden
        assert not any(str(m) in text for m in (11, 12, 13)), text


@pytest.mark.parametrize("changes", [DIFFERENT, [NUMERICAL_GRADIENT]],
                         ids=["loops-copies-shuffle", "numerical-gradient"])
def test_differently_written_solution_keeps_full_marks(tmp_path: Path, changes):
    source = solution_source(A)
    source = mutate_all(source, changes)
    result = grade_text(tmp_path, A, source)
    assert result.score == result.max_score == 20, [(t.id, t.output) for t in result.tests]


@pytest.mark.slow
def test_reference_notebook_runs_top_to_bottom(tmp_path: Path):
    """The reference notebook runs as a student runs it: every cell, self-checks, pictures."""
    nb = run_notebook(ROOT / "solutions" / A / f"{A}.ipynb", tmp_path)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images == 4  # the data, the cost curves, the fitted lines, the diverging run
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "all three optimizers report divergence" in text
