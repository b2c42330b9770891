"""Tasks for ``mlp_mnist``: train with the student's functions, predict the test images."""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.data import input_data
from autograder.worker.harness import _tf, invoke, resolve, session_config

TASKS = ("train_and_predict",)


def train_and_predict(
    ns: dict[str, Any],
    *,
    seed: int = 0,
    learning_rate: float = 1e-4,
    n_batch: int = 50,
    n_iter: int = 2500,
    n_prt: int = 250,
    predict_test: bool = True,
) -> dict[str, Any]:
    """The lecture's graph and training run, with the student's model, loss, loop and predict.

    Returns the logged costs, the parameter shapes after training and, if asked, the predicted
    class of each of the 10,000 test images (the grader scores them; labels stay out of here).
    """
    tf = _tf()
    tf1 = tf.compat.v1
    data = input_data.read_data_sets(one_hot=True, seed=seed)
    init_params = resolve(ns, "init_params")
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(seed)
        x = tf1.placeholder(tf.float32, [None, 28 * 28])
        y = tf1.placeholder(tf.float32, [None, 10])
        weights, biases = invoke(init_params, "init_params", seed=seed)
        logits = invoke(resolve(ns, "build_model"), "build_model", x, weights, biases)
        loss = invoke(resolve(ns, "build_loss"), "build_loss", logits, y)
        try:
            train_op = tf1.train.AdamOptimizer(learning_rate).minimize(loss)
        except Exception as exc:  # e.g. a loss that does not depend on the weights
            from autograder.worker.harness import CallFailed, describe

            raise CallFailed("exception", f"the optimizer cannot minimise build_loss's result: "
                             f"{describe(exc)}") from None
        with tf1.Session(graph=graph, config=session_config()) as sess:
            sess.run(tf1.global_variables_initializer())
            costs = invoke(resolve(ns, "train"), "train", sess, x, y, train_op, loss, data.train,
                           n_batch, n_iter, n_prt)
            shapes = {f"{group}/{key}": list(sess.run(tf.shape(var)))
                      for group, params in (("weights", weights), ("biases", biases))
                      for key, var in params.items()}
            result: dict[str, Any] = {"costs": costs, "param_shapes": shapes}
            if predict_test:
                predicted = invoke(resolve(ns, "predict"), "predict", sess, x, logits,
                                   data.test.images)
                result["predictions"] = np.asarray(predicted)
    return result
