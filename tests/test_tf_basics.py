"""tf_basics graded the way it is used: reference, stub, plausible bugs, differently written ones.

Every grade starts a worker that imports TensorFlow, so bugs in different functions share a
submission: the suite's tests of one function never call another student function, so each bug
still loses exactly its own tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from util import ROOT, failed, grade_text, mutate_all, solution_source

from autograder import manifest
from autograder.grading.run import grade

A = "tf_basics"

# name -> (old, new) replacement in the reference solution, the tests it must fail, and a phrase
# the feedback of the first of them must use. Each group is graded as one submission.
GROUPS = {
    "graph ops, feeds, eager variables, dtypes": {
        "float constants": (
            "    a = tf.constant([1, 2, 3])\n    b = tf.constant([4, 5, 6])\n",
            "    a = tf.constant([1.0, 2.0, 3.0])\n    b = tf.constant([4.0, 5.0, 6.0])\n",
            {"test_lecture_constants_a", "test_lecture_constants_b"},
            "dtype float32, expected int32",
        ),
        "product as a dot product": (
            "    product = a * b\n",
            "    product = tf.reduce_sum(a * b)\n",
            {"test_add_and_multiply_graph_tensors", "test_add_and_multiply_ops",
             "test_add_and_multiply_values"},
            "has shape",
        ),
        "run_in_session ignores feed_dict": (
            "return sess.run(fetches, feed_dict=feed_dict)",
            "return sess.run(fetches)",
            {"test_run_in_session_feed_dict"},
            "pass feed_dict on to sess.run",
        ),
        "eager counter rebinds instead of assigning": (
            "        count.assign_add(1)\n",
            "        count = count + 1\n",
            {"test_eager_counter"},
            "the tf.Variable itself",
        ),
    },
    "variables, initialiser, placeholders, NumPy results": {
        "increment computes count + 1 but stores nothing": (
            "    increment = tf1.assign_add(count, 1)\n",
            "    increment = count + 1\n",
            {"test_build_counter_increment"},
            "(count + 1 alone stores nothing)",
        ),
        "total ignores b": (
            "    return a, b, a + b\n",
            "    return a, b, a + a\n",
            {"test_add_placeholders_tensors", "test_add_placeholders_fed"},
            "does not depend on b",
        ),
        "eager results turned into NumPy arrays": (
            "    return tf.add(a, b), tf.multiply(a, b)\n",
            "    return tf.add(a, b).numpy(), tf.multiply(a, b).numpy()\n",
            # .numpy() cannot be traced into a graph: no value of it is computed outside the
            # student's process, so none earns a point
            {"test_eager_add_and_multiply_tensors", "test_eager_add_and_multiply_values"},
            "returned a NumPy array",
        ),
        "run_counter never initialises": (
            "        sess.run(tf1.global_variables_initializer())\n        for _ in range(n):\n",
            "        for _ in range(n):\n",
            {"test_run_counter"},
            "global_variables_initializer() in the session first",
        ),
    },
}

# Correct, but written differently from the reference.
DIFFERENT = (
    ("    a = tf.constant([1, 2, 3])\n",
     "    a = tf.constant(np.array([1, 2, 3]), dtype=tf.int32)\n"),
    ("    total = a + b\n    product = a * b\n",
     "    total = tf.add(a, b)\n    product = tf.multiply(a, b)\n"),
    ("    with tf1.Session() as sess:\n        return sess.run(fetches, feed_dict=feed_dict)\n",
     "    sess = tf1.Session(graph=tf1.get_default_graph())\n"
     "    values = sess.run(fetches, feed_dict)\n    sess.close()\n    return values\n"),
    ("    count = tf.Variable(0)\n    increment = tf1.assign_add(count, 1)\n",
     "    count = tf1.Variable(0, dtype=tf.int32, name='counter')\n"
     "    increment = tf1.assign(count, count + 1)\n"),
    ("        for _ in range(n):\n            sess.run(increment)\n        return int(sess.run(count))\n",
     "        value = sess.run(count)\n        for _ in range(n):\n"
     "            value = sess.run(increment)\n        return sess.run(count).item()\n"),
    ("    return a, b, a + b\n",
     "    total = tf.add(a, b, name='total')\n    return a, b, total\n"),
    ("    return tf.add(a, b), tf.multiply(a, b)\n", "    return a + b, a * b\n"),
    ("    count = tf.Variable(0)\n    for _ in range(n):\n        count.assign_add(1)\n",
     "    count = tf.Variable(0, dtype=tf.int32)\n    for _ in range(n):\n"
     "        count.assign(count + 1)\n"),
)


@pytest.fixture(scope="module")
def reference_source() -> str:
    return solution_source(A)


def apply(source: str, replacements: list[tuple[str, str]]) -> str:
    source = mutate_all(source, replacements)
    return source


def test_reference_earns_full_marks(tmp_path: Path, reference_source: str) -> None:
    result = grade_text(tmp_path, A, reference_source)
    assert result.max_score == manifest.get(A).points == 20
    assert result.score == 20, [(t.id, t.output) for t in result.tests if t.status != "passed"]
    assert result.execution_time < 60


def test_stub_earns_zero_and_says_not_implemented() -> None:
    result = grade(assignment=A, submission=ROOT / "assignments" / A / f"{A}.ipynb")
    assert result.score == 0 and result.max_score == 20
    assert all(t.output.startswith("not implemented") for t in result.tests), \
        [t.output for t in result.tests]


@pytest.mark.parametrize("group", list(GROUPS))
def test_bugs_lose_exactly_their_points(tmp_path: Path, reference_source: str, group: str) -> None:
    bugs = GROUPS[group]
    source = apply(reference_source, [(old, new) for old, new, _, _ in bugs.values()])
    result = grade_text(tmp_path, A, source)
    expected = set().union(*(tests for _, _, tests, _ in bugs.values()))
    assert failed(result) == expected, {t.id: t.output for t in result.tests}
    by_id = {t.id: t for t in result.tests}
    assert result.score == 20 - sum(by_id[name].max_score for name in expected)
    for name, (_, _, tests, phrase) in bugs.items():
        first = by_id[sorted(tests)[0]]
        assert phrase in first.output, (name, first.output)


def test_written_differently_earns_full_marks(tmp_path: Path, reference_source: str) -> None:
    result = grade_text(tmp_path, A, apply(reference_source, list(DIFFERENT)))
    assert result.score == 20, [(t.id, t.output) for t in result.tests if t.status != "passed"]
