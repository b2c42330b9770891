"""Grades rest on values computed outside the student's process (issue 22).

The worker runs a submission's Python, so whatever it reports can be made up: here are the
submissions that make it up, and each earns nothing. The lecture's own code earns full marks.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from util import ROOT, earned, grade_text, replace_body, solution_source

from autograder.evaluator import ops
from autograder.grading.run import grade

A = "mlp_mnist"
pytestmark = pytest.mark.slow

# A cell that replaces every driver the worker runs next to the student's code by one that makes
# its answer up: graph functions answered by a graph of constants (the worker never sees the
# inputs, so nothing better is possible), training that "took place", predictions that "came" from
# the model. The five functions stay the stubs.
PATCHING_CELL = '''
import numpy as _np
import autograder.worker.harness as _h
import autograder.tasks.mlp_mnist as _t


def _made_up_graph(ns, name, args, kwargs, seed=0):
    import tensorflow as tf
    graph = tf.Graph()
    with graph.as_default():
        out = tf.constant(_np.full((16, 10), 0.1, _np.float32), name="answer")
    data = graph.as_graph_def().SerializeToString()
    return {"graph": _np.frombuffer(data, _np.uint8).copy(), "inputs": [], "fetches": [out.name],
            "skeleton": {"__fetch__": 0}, "init": None}


def _made_up_call(ns, name, args, kwargs, seed=0):
    return {"value": _np.zeros((len(args[0]), 10), _np.float32), "tensor": True,
            "dtype": "float32", "static_shape": [len(args[0]), 10], "shape": [len(args[0]), 10],
            "ops": ["MatMul", "Relu", "Add"]}


_h.MODES["graph_def"] = _made_up_graph
_h.MODES["graph"] = _made_up_call
_t.train_probe = lambda ns, **kw: {"costs": [[2.0, 1.0, 0.5]] * len(kw["calls"]),
                                   "sizes": _np.full(30, kw["n_batch"])}
_t.predict_probe = lambda ns, **kw: {"predicted": _np.argmax(kw["images"][:, :10], axis=1)}
_t.lecture_run = lambda ns, **kw: {"used": {"model": "yours", "loss": "yours"},
                                   "costs": [2.3, 0.4, 0.3], "sizes": _np.full(500, 50)}
'''


def test_the_stubs_and_a_cell_that_patches_the_drivers_earn_nothing(tmp_path: Path):
    nb = json.loads((ROOT / "assignments" / A / f"{A}.ipynb").read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "source": PATCHING_CELL,
                        "outputs": [], "execution_count": None, "id": "patch"})
    path = tmp_path / "patched.ipynb"
    path.write_text(json.dumps(nb))
    result = grade(assignment=A, submission=path)
    assert result.score == 0, [(t.id, t.output) for t in result.tests if t.score]


def test_a_train_that_knows_the_probe_earns_no_train_point(tmp_path: Path):
    """It trains the kit's probe graph (whose step is named "train") and nothing else."""
    body = '''
costs = []
probe = train_op.name == "train"
for step in range(n_iter):
    batch_x, batch_y = data.next_batch(n_batch)
    if probe:
        sess.run(train_op, feed_dict={x: batch_x, y: batch_y})
    if step % n_prt == 0:
        costs.append(float(sess.run(loss, feed_dict={x: batch_x, y: batch_y})))
return costs
'''
    result = grade_text(tmp_path, A, replace_body(solution_source(A), "train", body))
    assert earned(result, "train") == 0
    assert earned(result, "the lecture's run") == 0
    assert earned(result, "build_model") == 4 and earned(result, "predict") == 2


@pytest.mark.parametrize("feed", [
    # the batch's labels shuffled: rows of MNIST, not with their labels
    "feed_x, feed_y = batch_x, batch_y[::-1]",
    # images made up near MNIST's: not its rows
    "feed_x, feed_y = batch_x + 0.001, batch_y",
    # the batch data gave, changed in place: fed as it is now, not by its name
    "batch_x *= 0.5; feed_x, feed_y = batch_x, batch_y",
    "batch_y[:] = batch_y[::-1]; feed_x, feed_y = batch_x, batch_y",
], ids=["labels-shuffled", "images-altered", "images-changed-in-place",
        "labels-changed-in-place"])
def test_a_train_that_feeds_other_rows_than_the_batches_fails_the_lecture_run(
        tmp_path: Path, feed: str):
    body = f'''
costs = []
for step in range(n_iter):
    batch_x, batch_y = data.next_batch(n_batch)
    {feed}
    sess.run(train_op, feed_dict={{x: feed_x, y: feed_y}})
    if step % n_prt == 0:
        costs.append(float(sess.run(loss, feed_dict={{x: batch_x, y: batch_y}})))
return costs
'''
    result = grade_text(tmp_path, A, replace_body(solution_source(A), "train", body))
    run = next(t for t in result.tests if t.name.startswith("the lecture's run"))
    assert run.score == 0 and "other rows than the batches" in run.output, run.output
    assert earned(result, "build_model") == 4 and earned(result, "predict") == 2


def test_a_train_that_draws_more_batches_than_it_trains_on_keeps_the_lecture_run(
        tmp_path: Path):
    """Its costs come from batches of their own, so the batches it trains on are not the ones
    that follow each other: each is still MNIST's rows with their labels (checked row by row)."""
    body = '''
costs = []
for step in range(n_iter):
    batch_x, batch_y = data.next_batch(n_batch)
    sess.run(train_op, feed_dict={x: batch_x, y: batch_y})
    if step % n_prt == 0:
        check_x, check_y = data.next_batch(n_batch)
        costs.append(float(sess.run(loss, feed_dict={x: check_x, y: check_y})))
return costs
'''
    result = grade_text(tmp_path, A, replace_body(solution_source(A), "train", body))
    run = next(t for t in result.tests if t.name.startswith("the lecture's run"))
    assert run.score == run.max_score, run.output


@pytest.fixture(scope="module")
def pretrained() -> dict[str, np.ndarray]:
    """Weights of the lecture's network trained here, "elsewhere" for the submission."""
    import tensorflow as tf

    from autograder.suites.mlp_mnist import lecture
    from autograder.tasks import mlp_mnist as kit
    from coursekit.data import mnist

    tf1 = tf.compat.v1
    folder = mnist.ensure()
    images = mnist.pixels(mnist.read_idx(folder / mnist.TRAIN_IMAGES))
    labels = mnist.one_hot(mnist.read_idx(folder / mnist.TRAIN_LABELS))
    graph = tf.Graph()
    with graph.as_default():
        g = kit.lecture_base(tf, lecture.draw_start(np.random.default_rng(7)))
        hidden = tf.nn.relu(tf.matmul(g["x"], g["weights"]["hidden1"]) + g["biases"]["hidden1"])
        out = tf.matmul(hidden, g["weights"]["output"]) + g["biases"]["output"]
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=g["y"], logits=out))
        step = tf1.train.AdamOptimizer(0.002).minimize(loss)
        init = tf1.global_variables_initializer()
    rng = np.random.default_rng(7)
    with tf1.Session(graph=graph) as sess:
        sess.run(init)
        for _ in range(400):
            idx = rng.integers(0, len(images), 50)
            sess.run(step, {g["x"]: images[idx], g["y"]: labels[idx]})
        values = sess.run({f"{group}/{key}": g[group][key] for group in ("weights", "biases")
                           for key in kit.SHAPES})
    assert lecture.accuracy(values) > 0.9
    return values


def _constants(weights: dict[str, np.ndarray]) -> list[str]:
    """Lines that make ``P``, the dict of these weights, inside a function's body."""
    lines = ["P = {}"]
    for key, array in weights.items():
        data = base64.b64encode(np.asarray(array, np.float32).tobytes()).decode("ascii")
        lines.append(f"P[{key!r}] = np.frombuffer(__import__('base64').b64decode('{data}'), "
                     f"np.float32).reshape({tuple(array.shape)})")
    return lines


def test_weights_trained_elsewhere_as_the_start_earn_no_accuracy_and_no_leaderboard(
        tmp_path: Path, pretrained: dict[str, np.ndarray]):
    body = "\n".join([*_constants(pretrained),
                      "weights = {k: tf.Variable(P['weights/' + k]) for k in ('hidden1', 'output')}",
                      "biases = {k: tf.Variable(P['biases/' + k]) for k in ('hidden1', 'output')}",
                      "return weights, biases"])
    source = replace_body(solution_source(A), "init_params", body)
    result = grade_text(tmp_path, A, source, leaderboard=True)
    assert earned(result, "the lecture's run") == 0
    lecture_test = next(t for t in result.tests if t.id == "test_lecture_run")
    assert "already classify" in lecture_test.output
    assert result.leaderboard[0]["value"] == 0.0
    assert result.score == result.max_score - 3


def test_a_loss_that_pulls_the_weights_to_trained_ones_is_seen(
        tmp_path: Path, pretrained: dict[str, np.ndarray]):
    """build_loss adds a pull toward weights trained elsewhere: Adam moves the grader's weights
    only by the gradient of the student's loss, which is compared with the lecture's."""
    body = "\n".join([
        *_constants(pretrained),
        "ce = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits))",
        "found = {v.name.split(':')[0]: v for v in tf1.global_variables()}",
        "pull = sum(tf.reduce_sum(tf.square(found[f'W_{k}'] - P[f'weights/{k}']))",
        "           for k in ('hidden1', 'output') if f'W_{k}' in found)",
        "return ce + 10.0 * pull"])
    source = replace_body(solution_source(A), "build_loss", body)
    result = grade_text(tmp_path, A, source, select=["lecture"], leaderboard=True)
    test = next(t for t in result.tests if t.id == "test_lecture_run")
    assert test.status == "failed" and "gradient" in test.output, test.output
    assert result.leaderboard[0]["value"] == 0.0


LECTURE = {  # the lecture's own code for the five functions, as the lecture wrote it
    "build_model": """
layer_1 = tf.add(tf.matmul(x, weights['hidden1']), biases['hidden1'])
layer_1 = tf.nn.relu(layer_1)
out_layer = tf.matmul(layer_1, weights['output']) + biases['output']
return out_layer""",
    "build_loss": """
return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=logits, labels=y))""",
    "build_accuracy": """
correct_prediction = tf.equal(tf.argmax(logits, 1), tf.argmax(y, 1))
return tf.reduce_mean(tf.cast(correct_prediction, "float"))""",
    "train": """
costs = []
for epoch in range(n_iter):
    batch_xs, batch_ys = data.next_batch(n_batch)
    sess.run(train_op, feed_dict={x: batch_xs, y: batch_ys})
    if epoch % n_prt == 0:
        c = sess.run(loss, feed_dict={x: batch_xs, y: batch_ys})
        print("Iter : {}".format(epoch), "Cost : {}".format(c))
        costs.append(c)
return costs""",
    "predict": """
return sess.run(tf.argmax(logits, 1), feed_dict={x: images})""",
}


def lecture_source() -> str:
    source = solution_source(A)
    for name, body in LECTURE.items():
        source = replace_body(source, name, body)
    return source


def test_the_lectures_own_code_earns_full_marks(tmp_path: Path):
    result = grade_text(tmp_path, A, lecture_source())
    assert result.score == result.max_score == 20, [(t.id, t.output) for t in result.tests]


def test_the_lectures_own_code_runs_in_every_demo_cell(tmp_path: Path):
    """The notebook's context is the lecture's (one default graph): the lecture's predict, which
    builds an op when it is called, runs in the demo cells as it does in the grader."""
    import nbclient
    import nbformat

    nb = nbformat.read(ROOT / "solutions" / A / f"{A}.ipynb", 4)
    for cell in nb.cells:
        for name, body in LECTURE.items():
            if cell.cell_type == "code" and f"def {name}(" in cell.source:
                cell.source = replace_body(cell.source, name, body)
    nb.cells = [c for c in nb.cells if "check()" not in c.source]
    nbclient.NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(tmp_path)}},
                            allow_errors=False).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Accuracy on the 5,000 validation images: 0.9" in text


def test_the_evaluator_runs_no_file_or_python_operation():
    allowed = ops.allowed()
    for name in ("PyFunc", "EagerPyFunc", "ReadFile", "WriteFile", "MatchingFiles", "SaveV2",
                 "RestoreV2", "ImmutableConst", "FIFOQueueV2", "TFRecordReaderV2", "Abort"):
        assert name not in allowed
    for name in ("MatMul", "Relu", "SoftmaxCrossEntropyWithLogits", "ResourceApplyAdam",
                 "StatefulPartitionedCall", "While", "ArgMax", "Assert", "Sum", "Max"):
        assert name in allowed
    assert ops.stateful("AssignVariableOp") and not ops.stateful("ReadVariableOp")


def test_a_name_the_worker_gives_cannot_hide_a_node_of_the_graders_graph():
    """The worker names its own train_op and initialiser for the evaluator's (an alias); a name
    that is already a node (a weight the grader reads, say) is refused, not redirected."""
    import tensorflow as tf

    from autograder.evaluator.engine import Engine
    from autograder.grading.evaluator import trusted_bytes
    from autograder.worker.harness import CallFailed

    graph = tf.Graph()
    with graph.as_default():
        weight = tf.Variable(np.ones(3, np.float32), name="W")
        init = tf.compat.v1.global_variables_initializer()
    engine = Engine()
    session = engine.handle({"op": "open", "graph": trusted_bytes(graph), "meta": True})["session"]
    engine.handle({"op": "run", "session": session, "fetches": [init.name], "feeds": {}})
    with pytest.raises(CallFailed, match="cannot stand for another"):
        engine.handle({"op": "alias", "session": session, "names": {"W": init.name}})
    engine.handle({"op": "alias", "session": session, "names": {"step": init.name,
                                                                  init.name: init.name}})
    assert engine.handle({"op": "run", "session": session, "fetches": [weight.name],
                          "feeds": {}})[0].tolist() == [1.0, 1.0, 1.0]
    assert engine.handle({"op": "run", "session": session, "fetches": ["step"],
                          "feeds": {}}) == [None]


def test_a_graph_that_reads_a_file_is_refused_and_costs_only_its_function(tmp_path: Path):
    body = """
contents = tf.io.read_file('/etc/hostname')
hidden = tf.nn.relu(tf.matmul(x, weights['hidden1']) + biases['hidden1'])
size = tf.cast(tf.strings.length(contents), tf.float32)
return tf.matmul(hidden, weights['output']) + biases['output'] + 0.0 * size"""
    source = replace_body(solution_source(A), "build_model", body)
    result = grade_text(tmp_path, A, source, select=["build_model"])
    assert result.score == 0
    assert all("ReadFile" in t.output for t in result.tests), [t.output for t in result.tests]


def test_the_reference_earns_full_marks_under_many_secrets(tmp_path: Path):
    from autograder.batch import pool
    from autograder.batch.jobs import Job
    from autograder.submission.load import load

    path, cells = load(ROOT / "solutions" / A / f"{A}.ipynb", A)
    jobs = [Job(assignment=A, student=f"s{i}", submission=str(path), key=str(i), cells=cells,
                secret=f"secret {i}".encode()) for i in range(25)]
    scores: list[float] = []
    pool.run(jobs, workers=2, on_result=lambda outcome: scores.append(outcome.score))
    assert scores == [20.0] * 25


def test_tf_function_with_python_control_flow_over_tensors_keeps_its_points(tmp_path: Path):
    """AutoGraph reads the function's source to turn an ``if`` and a ``for`` over tensors into
    graph ops: the worker registers each cell's source, as IPython does."""
    source = solution_source("losses").replace("def tf_softmax(z):", "@tf.function\n"
                                                "def tf_softmax(z):", 1)
    source = replace_body(source, "tf_softmax", """
shifted = z - tf.reduce_max(z, axis=-1, keepdims=True)
if tf.reduce_any(tf.math.is_nan(shifted)):
    shifted = tf.zeros_like(shifted)
total = tf.zeros_like(shifted[:, 0])
for k in tf.range(tf.shape(shifted)[1]):
    total += tf.exp(shifted[:, k])
return tf.exp(shifted) / total[:, None]""")
    result = grade_text(tmp_path, "losses", source, select=["tf_softmax"])
    assert result.score == result.max_score == 6, [(t.id, t.output) for t in result.tests]


def test_the_evaluator_takes_no_submission(tmp_path: Path):
    """A process of the role evaluator refuses to load cells or call functions: it only runs
    graphs."""
    from autograder.grading.process import StudentError, Worker
    from autograder.worker.limits import Limits

    worker = Worker(assignment="losses", cells=[], limits=Limits(), mnist_dir=None,
                    role="evaluator")
    try:
        for request in ({"op": "load", "assignment": "losses",
                         "cells": [{"index": 0, "source": "print('hello')"}]},
                        {"op": "call", "mode": "plain", "name": "print", "args": [],
                         "kwargs": {}}):
            with pytest.raises(StudentError, match="the evaluator does not take"):
                worker.request(request, 60, what="asking")
        assert worker.request({"op": "ping"}, 60, what="asking") == "pong"
    finally:
        worker.close()


def test_a_python_call_in_a_graph_is_refused(tmp_path: Path):
    body = """
hidden = tf.nn.relu(tf.matmul(x, weights['hidden1']) + biases['hidden1'])
out = tf.matmul(hidden, weights['output']) + biases['output']
return tf.py_function(lambda t: t, [out], tf.float32)"""
    source = replace_body(solution_source(A), "build_model", body)
    result = grade_text(tmp_path, A, source, select=["build_model"])
    assert result.score == 0
    assert all("PyFunc" in t.output for t in result.tests), [t.output for t in result.tests]


EAGER_PATCH = '''
import numpy as _np
import autograder.tasks.tf_basics as _t


def _made_up_facts(ns, *, function, args):
    values = [_np.asarray(args[0]) + _np.asarray(args[1]), _np.asarray(args[0]) * _np.asarray(args[1])]
    return {"outputs": [{"kind": "EagerTensor", "eager": True, "value": v, "variable": False,
                         "dtype": str(v.dtype), "shape": list(v.shape)} for v in values],
            "sequence": True}


def _made_up_trace(ns, *, function, specs):
    import tensorflow as tf
    graph = tf.Graph()
    with graph.as_default():
        dtype, shape = specs[0]
        out = tf.zeros(shape, tf.as_dtype(dtype), name="answer")
    data = graph.as_graph_def().SerializeToString()
    return {"graph": _np.frombuffer(data, _np.uint8).copy(), "inputs": ["a:0", "b:0"][:len(specs)],
            "outputs": [out.name, out.name], "variables": {}}


_t.eager_facts = _made_up_facts
_t.eager_traced = _made_up_trace
'''


def test_a_cell_that_patches_the_eager_drivers_earns_nothing(tmp_path: Path):
    source = replace_body(solution_source("tf_basics"), "eager_add_and_multiply",
                          'raise NotImplementedError("not implemented yet")')
    result = grade_text(tmp_path, "tf_basics", source + "\n# %%\n" + EAGER_PATCH,
                        select=["eager_add_and_multiply"])
    assert result.score == 0, [(t.id, t.output) for t in result.tests]
