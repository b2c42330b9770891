"""mlp_mnist graded the way it is used: reference, stub, plausible bugs, a different correct one.

A bug costs the tests of its function and, where it changes what the network learns, the
lecture's run (``test_lecture_run``), which is graded on top of each function's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from util import ROOT, failed, grade_text, mutate, solution_source

from autograder.grading.run import grade

A = "mlp_mnist"

# (old, new) replacements in the reference solution, and the tests each bug must fail.
BUGS = {
    "no ReLU": (
        'hidden1 = tf.nn.relu(tf.add(tf.matmul(x, weights["hidden1"]), biases["hidden1"]))',
        'hidden1 = tf.add(tf.matmul(x, weights["hidden1"]), biases["hidden1"])',
        {"test_build_model_values", "test_lecture_run"},
    ),
    "output bias left out": (
        'return tf.add(tf.matmul(hidden1, weights["output"]), biases["output"])',
        'return tf.matmul(hidden1, weights["output"])',
        {"test_build_model_values", "test_lecture_run"},
    ),
    "loss summed instead of averaged": (
        "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))",
        "return tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))",
        {"test_build_loss_values", "test_lecture_run"},
    ),
    "no optimizer step": (
        "sess.run(train_op, feed_dict={x: batch_x, y: batch_y})",
        "sess.run(loss, feed_dict={x: batch_x, y: batch_y})",
        {"test_train_steps", "test_train_costs", "test_lecture_run"},
    ),
    "train initialises the variables again": (
        "    costs = []\n",
        "    costs = []\n    sess.run(tf1.global_variables_initializer())\n",
        {"test_train_steps", "test_train_costs"},  # harmless in one run, not in a second call
    ),
    "weights start at zero": (
        "return tf.Variable(tf1.random_normal(shape, stddev=0.1, seed=s))",
        "return tf.Variable(tf.zeros(shape))",
        {"test_lecture_run"},
    ),
    "loss as the log of the softmax": (
        "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))",
        "return -tf.reduce_mean(tf.reduce_sum(y * tf.math.log(tf.nn.softmax(logits)), axis=1))",
        {"test_build_loss_values"},
    ),
    "loss cut from the network (no gradient reaches the weights)": (
        "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))",
        "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(\n"
        "        labels=y, logits=tf.stop_gradient(logits)))",
        {"test_lecture_run"},  # its values are right: only training on it shows
    ),
    "logging from step n_prt instead of 0": (
        "if step % n_prt == 0:",
        "if (step + 1) % n_prt == 0:",
        {"test_train_costs"},
    ),
    "predict takes the argmax over the batch": (
        "return np.argmax(sess.run(logits, feed_dict={x: images}), axis=1)",
        "return np.argmax(sess.run(logits, feed_dict={x: images}), axis=0)",
        {"test_predict"},
    ),
    "accuracy compares the wrong axis": (
        "correct = tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1))",
        "correct = tf.equal(tf.argmax(logits, 0), tf.argmax(y, 0))",
        {"test_build_accuracy"},
    ),
}


@pytest.fixture(scope="module")
def reference_result():
    return grade(assignment=A, submission=ROOT / "solutions" / A / f"{A}.ipynb")


def test_reference_earns_full_marks(reference_result):
    assert reference_result.max_score == 20
    assert reference_result.score == 20, [(t.id, t.output) for t in reference_result.tests]
    assert not reference_result.notes


def test_stub_earns_nothing_and_says_not_implemented():
    result = grade(assignment=A, submission=ROOT / "assignments" / A / f"{A}.ipynb")
    assert result.score == 0
    assert len(result.tests) == 9
    for test in result.tests:
        assert test.output.startswith("not implemented:"), (test.id, test.output)
        assert "Traceback" not in test.output


@pytest.mark.parametrize("bug", list(BUGS))
def test_bug_loses_exactly_its_points(tmp_path: Path, bug: str, reference_result):
    old, new, expected = BUGS[bug]
    result = grade_text(tmp_path, A, mutate(solution_source(A), old, new))
    assert failed(result) == expected, [(t.id, t.output) for t in result.tests]
    lost = sum(t.max_score for t in result.tests if t.id in expected)
    assert result.score == reference_result.max_score - lost


def test_differently_written_solution_keeps_full_marks(tmp_path: Path):
    source = solution_source(A)
    source = mutate(source,
                    'hidden1 = tf.nn.relu(tf.add(tf.matmul(x, weights["hidden1"]), biases["hidden1"]))',
                    'hidden1 = tf.maximum(x @ weights["hidden1"] + biases["hidden1"], 0.0)')
    source = mutate(source,
                    "return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))",
                    "log_p = tf.nn.log_softmax(logits)\n"
                    "    return -tf.reduce_sum(y * log_p) / tf.cast(tf.shape(y)[0], tf.float32)")
    result = grade_text(tmp_path, A, source)
    assert result.score == result.max_score == 20, [(t.id, t.output) for t in result.tests]


def test_grading_is_deterministic(tmp_path: Path):
    """The same submission graded twice gets the same grade, test by test."""
    source = mutate(solution_source(A), *BUGS["loss summed instead of averaged"][:2])
    first = grade_text(tmp_path, A, source)
    second = grade_text(tmp_path, A, source)
    assert [(t.id, t.score, t.output) for t in first.tests] == \
        [(t.id, t.score, t.output) for t in second.tests]


def test_sample_submission_gets_partial_credit():
    sample = ROOT / "samples" / A / "student_with_bugs.ipynb"
    result = grade(assignment=A, submission=sample)
    assert 0 < result.score < result.max_score
    assert failed(result) == {"test_build_loss_values", "test_predict", "test_lecture_run"}
    assert result.score == 12


def test_the_grader_knows_the_batches_the_worker_gives_and_nothing_else():
    """The lecture run's fast check of a training step's feed (``lecture.Expected``): the worker's
    batches, drawn in the grader's order, are known at once; anything else is not (and is then
    checked row by row)."""
    import numpy as np

    from autograder.suites.mlp_mnist import lecture
    from autograder.tasks.mlp_mnist import Batches
    from coursekit.data import mnist

    raw, labels = lecture.training_set()
    order = np.random.default_rng(5).permutation(len(raw))
    data = Batches(raw[order], mnist.one_hot(labels[order]), pixels=mnist.pixels)
    expected = lecture.Expected(5)
    assert all(expected.next(*data.next_batch(50)) for _ in range(30))
    x, y = data.next_batch(50)
    assert not lecture.Expected(6).next(x, y)  # another order
    for changed in ((x + np.float32(0.001), y), (x, y[::-1]), (x[1:], y[1:]),
                    (x.astype(np.float64), y)):
        fresh = lecture.Expected(5)
        fresh.position = expected.position
        assert not fresh.next(*changed)
    assert expected.next(x, y) and not expected.next(x, y)  # the same batch twice: not the next


def test_a_batch_fed_unchanged_is_named_and_a_name_stands_for_the_graders_own_rows():
    """The lecture run's feeds by name (``Batches.name_of``, ``grading.evaluator.Sequence``, the
    evaluator's staged rows): a batch ``data`` gave, fed as it was, crosses as its positions and
    is fed the very same values; a changed batch crosses as its bytes; a bad name is refused."""
    import numpy as np
    import tensorflow as tf

    from autograder.evaluator.engine import Engine
    from autograder.grading.evaluator import Remote, Rows
    from autograder.grading.proxy import StudentError
    from autograder.suites.mlp_mnist import lecture
    from autograder.tasks.mlp_mnist import Batches
    from autograder.worker.harness import CallFailed
    from coursekit.data import mnist

    raw, labels = lecture.training_set()
    order = np.random.default_rng(5).permutation(len(raw))
    data = Batches(raw[order], mnist.one_hot(labels[order]), pixels=mnist.pixels)
    expected = lecture.Expected(5)
    sequence = expected.sequence(staged=120)
    lazy = Batches(raw, mnist.one_hot(labels[order]), pixels=mnist.pixels, order=order)
    for a, b in zip(data.next_batch(50), lazy.next_batch(50), strict=True):
        assert np.array_equal(a, b)  # the rows in order, picked a batch at a time
    x, y = data.next_batch(50)
    assert np.array_equal(lazy.images[50:100], x)
    assert data.name_of(x) == {"rows": [50, 50], "part": "images"}
    assert data.name_of(y.copy()) == {"rows": [50, 50], "part": "labels"}
    for other in (x.astype(np.float64), x[1:], x[::-1], np.zeros_like(x)):
        assert data.name_of(other) is None
    named = {part: sequence.named(data.name_of(v)) for part, v in (("x", x), ("y", y))}
    assert np.array_equal(named["x"].array(), x) and np.array_equal(named["y"].array(), y)
    x *= 0.5  # changed in place, after data gave it: its bytes cross, not its name
    assert data.name_of(x) is None
    for bad in ({"rows": [0, 0], "part": "images"}, {"rows": [-1, 5], "part": "labels"},
                {"rows": [0, 10**9], "part": "images"}, {"rows": [0, 30_000], "part": "images"},
                {"rows": [0.0, 5], "part": "images"},
                {"rows": [0, 5], "part": "weights"}, {"rows": [0, 5]}, "images"):
        with pytest.raises(StudentError):
            sequence.named(bad)
    # The grader's record: the named batch moves the expected position on; a mismatched pair
    # (images of one batch, labels of another) is not known to be training rows with labels.
    expected.position = 50
    assert expected.named(named["x"], named["y"]) and expected.position == 100
    assert not expected.named(named["x"], Rows("labels", 0, 50, sequence))
    # The evaluator feeds the staged rows a name stands for, and the sent ones beyond them.
    graph = tf.Graph()
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [None, 784], name="x")
        tf.identity(images, name="seen")
    engine = Engine()
    session = engine.handle({"op": "open", "graph": np.frombuffer(
        graph.as_graph_def().SerializeToString(), np.uint8).copy(), "meta": False})["session"]

    class Direct:  # the grader's side of the evaluator, without the process
        def stage(self, sid, part, **kwargs):
            engine.handle({"op": "stage", "session": sid, "part": part, **kwargs})

    sequence.stage(Direct(), session)
    for rows in (named["x"], Rows("images", 100, 50, sequence)):  # staged, then partly beyond
        wire = rows.wire()
        assert isinstance(wire, dict) == (rows.start + rows.size <= 120)
        seen, = engine.handle({"op": "run", "session": session, "fetches": ["seen:0"],
                               "feeds": {"x:0": wire}})
        assert np.array_equal(seen, rows.array())
    with pytest.raises(CallFailed, match="not staged"):
        engine.handle({"op": "run", "session": session, "fetches": ["seen:0"],
                       "feeds": {"x:0": {"staged": "images", "start": 100, "size": 50}}})
    # It stages rows of MNIST's training files only, and rows that are there.
    table = np.zeros(256, np.float32)
    for file, rows in ((mnist.TEST_IMAGES, [0]), ("../../etc/passwd", [0]),
                       (mnist.TRAIN_IMAGES, [60_000]), (mnist.TRAIN_IMAGES, [-1])):
        with pytest.raises(CallFailed):
            Direct().stage(session, "images", file=file, rows=np.array(rows), table=table)
    # A remote without a sequence takes no names.
    remote = Remote(evaluator=None, session=session)  # type: ignore[arg-type]
    with pytest.raises(StudentError, match="unusable"):
        remote({"kind": "run", "session": session, "fetches": ["seen:0"],
                "feeds": {"x:0": {"rows": [0, 50], "part": "images"}}})


def test_one_grade_runs_the_lecture_on_a_second_worker_beside_the_other_tests(tmp_path: Path):
    """``autograder grade`` starts a twin of the worker (``StudentProxy.twin``) with an evaluator
    of its own: the lecture's run is made there while the function tests go on, and its output
    joins the submission's; a batch, whose cores are busy anyway, makes the run on the one
    worker. Both give the same grade."""
    from autograder.grading.proxy import StudentError
    from autograder.grading.run import grade_student, start_student
    from autograder.submission.load import load
    from autograder.suites.mlp_mnist import lecture
    from autograder.worker.limits import Limits

    marker = "lecture-run-was-here"
    source = mutate(solution_source(A), "    costs = []\n",
                    f"    costs = []\n    print('{marker}', n_iter)\n")
    path = tmp_path / "submission.py"
    path.write_text(source, encoding="utf-8")
    scores = {}
    for twin in (True, False):
        started = start_student(assignment=A, cells=load(path, A)[1], limits=Limits(),
                                scratch=tmp_path / f"scratch-{twin}", twin=twin)
        try:
            result = grade_student(assignment=A, started=started, submission=str(path))
            student = started.student
            assert student.twinned == twin
            lecture_lines = [line for w in student._all() for line in w.log.text().splitlines()
                             if line == f"{marker} {lecture.SETTINGS['n_iter']}"]
            assert len(lecture_lines) == 1, student.output  # the run was made once
            if twin:
                assert f"{marker} {lecture.SETTINGS['n_iter']}" in student.twin().workers[0].log.text()
                assert student.twin().evaluator is not student.evaluator
            scores[twin] = {t.id: t.score for t in result.tests}
        finally:
            started.close()
        with pytest.raises(StudentError, match="grade ended"):  # none starts again once closed
            started.student.twin().load_report  # noqa: B018
    assert scores[True] == scores[False] and sum(scores[True].values()) == 20
