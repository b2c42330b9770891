"""losses graded the way it is used: reference, stub, plausible bugs, differently written ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from util import ROOT, failed, grade_text, mutate, mutate_all, run_notebook, solution_source

from autograder.grading.run import grade

A = "losses"

# (old, new) replacements in the reference solution, the tests each bug must fail, and words the
# feedback of each must use (what is wrong, on which kind of input).
BUGS = {
    "squared loss summed instead of averaged": (
        "return float(np.mean((h - y) ** 2))",
        "return float(np.sum((h - y) ** 2))",
        {"test_squared_loss_mean": "differ from the correct result on random predictions"},
    ),
    "binary cross-entropy without the minus sign": (
        "return float(-np.mean(y * np.log(h) + (1 - y) * np.log(1 - h)))",
        "return float(np.mean(y * np.log(h) + (1 - y) * np.log(1 - h)))",
        {"test_binary_cross_entropy_values": "is negative on random probabilities",
         "test_binary_cross_entropy_certain": "is negative on predictions of exactly 0 and 1"},
    ),
    "naive softmax (max not subtracted)": (
        "shifted = z - np.max(z, axis=-1, keepdims=True)",
        "shifted = z",
        {"test_softmax_large_logits": "NaN or infinity on logits"},
    ),
    "tf cross-entropy summed over the batch axis": (
        "return -tf.reduce_mean(tf.reduce_sum(labels * log_p, axis=-1))",
        "return -tf.reduce_mean(tf.reduce_sum(labels * log_p, axis=0))",
        {"test_tf_softmax_cross_entropy_values": "differ from the correct result on random logits",
         "test_tf_softmax_cross_entropy_large_logits": "differ from the correct result on logits"},
    ),
}

# More bugs, graded together in one submission to save time: each touches a different function.
MORE_BUGS = {
    "binary cross-entropy without clipping": (
        "    h = np.clip(h, eps, 1 - eps)\n",
        "",
        {"test_binary_cross_entropy_certain": "NaN or infinity on predictions of exactly 0 and 1"},
    ),
    "cross-entropy as the log of the softmax": (
        "log_p = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))",
        "log_p = np.log(softmax(logits))",
        {"test_softmax_cross_entropy_large_logits": "NaN or infinity on logits"},
    ),
    "tf squared loss without the mean (per-example losses)": (
        "return tf.reduce_mean(tf.square(h - y))",
        "return tf.square(h - y)",
        {"test_tf_squared_loss_mean": "should be a scalar"},
    ),
    "tf softmax normalised over the wrong axis": (
        "return e / tf.reduce_sum(e, axis=-1, keepdims=True)",
        "return e / tf.reduce_sum(e, axis=0, keepdims=True)",
        {"test_tf_softmax_values": "rows do not sum to 1 on random logits",
         # a column of underflowed logits makes NaN on some inputs: either reason is right
         "test_tf_softmax_large_logits": "on logits"},
    ),
    "tf binary cross-entropy with NumPy's log": (
        "return -tf.reduce_mean(y * tf.math.log(h) + (1 - y) * tf.math.log(1 - h))",
        "return -tf.reduce_mean(y * np.log(h) + (1 - y) * np.log(1 - h))",
        {"test_tf_binary_cross_entropy_values": "works eagerly but not inside a graph",
         "test_tf_binary_cross_entropy_certain": "works eagerly but not inside a graph"},
    ),
}

# Correct, but written differently from the reference: loops, eps inside the logarithm, the
# log-sum-exp form, other TensorFlow operations.
DIFFERENT = (
    ("return float(np.mean((h - y) ** 2))",
     "total = 0.0\n"
     "    for hi, yi in zip(h, y):\n"
     "        total += (hi - yi) ** 2\n"
     "    return total / len(h)"),
    ("    h = np.clip(h, eps, 1 - eps)\n"
     "    return float(-np.mean(y * np.log(h) + (1 - y) * np.log(1 - h)))",
     "    return -np.mean(y * np.log(h + eps) + (1 - y) * np.log(1 - h + eps))"),
    ("    shifted = z - np.max(z, axis=-1, keepdims=True)\n"
     "    e = np.exp(shifted)\n"
     "    return e / np.sum(e, axis=-1, keepdims=True)",
     "    out = np.empty_like(z)\n"
     "    for i, row in enumerate(z):\n"
     "        lse = row.max() + np.log(np.sum(np.exp(row - row.max())))\n"
     "        out[i] = np.exp(row - lse)\n"
     "    return out"),
    ("    shifted = logits - np.max(logits, axis=-1, keepdims=True)\n"
     "    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))\n"
     "    return float(-np.mean(np.sum(labels * log_p, axis=-1)))",
     "    total = 0.0\n"
     "    for row, label in zip(logits, labels):\n"
     "        m = np.max(row)\n"
     "        total += m + np.log(np.sum(np.exp(row - m))) - row[np.argmax(label)]\n"
     "    return np.array(total / logits.shape[0])"),
    ("return tf.reduce_mean(tf.square(h - y))",
     "return tf.reduce_sum(tf.math.squared_difference(h, y)) / tf.cast(tf.size(h), h.dtype)"),
    ("    h = tf.clip_by_value(h, eps, 1 - eps)\n"
     "    return -tf.reduce_mean(y * tf.math.log(h) + (1 - y) * tf.math.log(1 - h))",
     "    return -tf.reduce_mean(y * tf.math.log(h + eps) + (1 - y) * tf.math.log(1 - h + eps))"),
    ("    e = tf.exp(z - tf.reduce_max(z, axis=-1, keepdims=True))\n"
     "    return e / tf.reduce_sum(e, axis=-1, keepdims=True)",
     "    return tf.exp(z - tf.reduce_logsumexp(z, axis=1, keepdims=True))"),
    ("    shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)\n"
     "    log_p = shifted - tf.math.log(tf.reduce_sum(tf.exp(shifted), axis=-1, keepdims=True))\n"
     "    return -tf.reduce_mean(tf.reduce_sum(labels * log_p, axis=-1))",
     "    per_example = tf.reduce_logsumexp(logits, axis=1) - tf.reduce_sum(labels * logits, 1)\n"
     "    return tf.reduce_mean(per_example)"),
)


def test_reference_earns_full_marks_quickly():
    result = grade(assignment=A, submission=ROOT / "solutions" / A / f"{A}.ipynb")
    assert result.max_score == 20
    assert result.score == 20, [(t.id, t.output) for t in result.tests]
    assert not result.notes
    assert result.execution_time < 60


def test_stub_earns_nothing_and_says_not_implemented():
    result = grade(assignment=A, submission=ROOT / "assignments" / A / f"{A}.ipynb")
    assert result.score == 0
    assert len(result.tests) == 15
    for test in result.tests:
        assert test.output.startswith("not implemented:"), (test.id, test.output)


def assert_fails_exactly(result, expected: dict[str, str]) -> None:
    """Exactly the tests in ``expected`` fail, each with its phrase; the rest keep their points."""
    assert failed(result) == set(expected), [(t.id, t.output) for t in result.tests]
    lost = sum(t.max_score for t in result.tests if t.id in expected)
    assert result.score == result.max_score - lost == 20 - lost
    outputs = {t.id: t.output for t in result.tests}
    for test_id, phrase in expected.items():
        assert phrase in outputs[test_id], (test_id, outputs[test_id])
        assert "Traceback" not in outputs[test_id]


@pytest.mark.parametrize("bug", list(BUGS))
def test_bug_loses_exactly_its_points(tmp_path: Path, bug: str):
    old, new, expected = BUGS[bug]
    assert_fails_exactly(grade_text(tmp_path, A, mutate(solution_source(A), old, new)), expected)


def test_more_bugs_lose_exactly_their_points(tmp_path: Path):
    source = solution_source(A)
    expected: dict[str, str] = {}
    for old, new, phrases in MORE_BUGS.values():
        source = mutate(source, old, new)
        expected.update(phrases)
    assert_fails_exactly(grade_text(tmp_path, A, source), expected)


def test_differently_written_solution_keeps_full_marks(tmp_path: Path):
    source = solution_source(A)
    source = mutate_all(source, DIFFERENT)
    result = grade_text(tmp_path, A, source)
    assert result.score == result.max_score == 20, [(t.id, t.output) for t in result.tests]


@pytest.mark.slow
def test_reference_notebook_runs_top_to_bottom(tmp_path: Path):
    """The reference notebook runs as a student runs it: every cell, self-checks, pictures."""
    nb = run_notebook(ROOT / "solutions" / A / f"{A}.ipynb", tmp_path)
    kinds = {o.get("output_type") for c in nb.cells for o in c.get("outputs", [])}
    assert "display_data" in kinds  # the plots
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "tf_softmax_cross_entropy agrees with tf.nn" in text
