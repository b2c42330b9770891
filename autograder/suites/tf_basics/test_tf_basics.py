"""Hidden suite of ``tf_basics``: graphs, sessions, variables, placeholders and eager mode.

TensorFlow objects cannot leave the worker, so most tests ask a task of
``autograder.tasks.tf_basics`` for plain facts about what the student's function built (op types,
dtype, static shape, which inputs a result depends on, values after running) and judge them here.
Expected values are the lecture's (given in the notebook) or computed with NumPy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError

ADD_OPS = {"Add", "AddV2", "AddN"}
MUL_OPS = {"Mul"}


def random_pair(rng: np.random.Generator, dtype: str,
                shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    if dtype == "int32":
        return (rng.integers(-50, 50, shape).astype(np.int32),
                rng.integers(-50, 50, shape).astype(np.int32))
    return rng.normal(0, 3, shape).astype(np.float32), rng.normal(0, 3, shape).astype(np.float32)


def kind_of(facts: dict[str, Any]) -> str:
    """What a non-tensor result is, in words: "a NumPy array", "None", "a list"."""
    return {"ndarray": "a NumPy array", "NoneType": "None"}.get(facts["kind"],
                                                                 f"a {facts['kind']}")


def graph_tensor(facts: dict[str, Any], what: str) -> dict[str, Any]:
    """``facts`` of a tensor of the graph, or a failure naming what came back instead."""
    if not facts["graph_tensor"]:
        if facts["dtype"] is not None:
            raise GradingFailure(f"{what} is a tensor of another graph (or an eager tensor): "
                                 "build it in the current default graph")
        raise GradingFailure(f"{what} should be a TensorFlow tensor of the graph, but is "
                             f"{kind_of(facts)}")
    return facts


def dtype_and_shape(facts: dict[str, Any], what: str, dtype: str, shape: list[int]) -> None:
    if facts["dtype"] != dtype:
        raise GradingFailure(f"{what} has dtype {facts['dtype']}, expected {dtype}")
    if facts["shape"] != shape:
        raise GradingFailure(f"{what} has static shape {facts['shape']}, expected {shape}")


@contextlib.contextmanager
def hint(error: str, text: str) -> Iterator[None]:
    """Add ``text`` to the report of a student error of type ``error`` (TensorFlow's own message
    for it is mostly a stack trace)."""
    try:
        yield
    except StudentError as exc:
        if exc.kind == "exception" and f"raised {error}" in str(exc):
            raise GradingFailure(f"{exc}; {text}") from None
        raise


# --- lecture_constants ------------------------------------------------------------------------

@pytest.mark.points(1)
def test_lecture_constants_are_graph_constants(student: Any) -> None:
    """lecture_constants: two int32 tf.constant tensors of shape (3,) in the graph"""
    facts = student.task("constants_facts")
    for key in "ab":
        what = f"lecture_constants's {key}"
        graph_tensor(facts[key], what)
        if facts[key]["op"] != "Const":
            raise GradingFailure(f"{what} is made by a {facts[key]['op']} operation; make it with "
                                 "tf.constant")
        dtype_and_shape(facts[key], what, "int32", [3])


@pytest.mark.points(1)
def test_lecture_constants_values(student: Any) -> None:
    """lecture_constants: a and b hold the lecture's values when run"""
    facts = student.task("constants_facts")
    for key, want in (("a", [1, 2, 3]), ("b", [4, 5, 6])):
        what = f"lecture_constants's {key}"
        got = checks.array(graph_tensor(facts[key], what)["value"], what)
        if got.shape != (3,) or not np.array_equal(got, want):
            raise GradingFailure(f"{what} does not hold the lecture's values")


# --- add_and_multiply -------------------------------------------------------------------------

@pytest.mark.points(1)
def test_add_and_multiply_graph_tensors(student: Any) -> None:
    """add_and_multiply: graph tensors whose dtype and shape follow the inputs"""
    rng = np.random.default_rng(10)
    for dtype, shape in (("int32", (3,)), ("float32", (2, 5))):
        a, b = random_pair(rng, dtype, shape)
        facts = student.task("operations_facts", a=a, b=b)
        for key in ("total", "product"):
            what = f"add_and_multiply's {key} (for {dtype} inputs)"
            dtype_and_shape(graph_tensor(facts[key], what), what, dtype, list(shape))


@pytest.mark.points(1)
def test_add_and_multiply_ops(student: Any) -> None:
    """add_and_multiply: built by addition and multiplication ops on a and b, not constant results"""
    a, b = random_pair(np.random.default_rng(11), "int32", (3,))
    facts = student.task("operations_facts", a=a, b=b, inputs="constant")
    for key, ops, how in (("total", ADD_OPS, "a + b or tf.add"),
                           ("product", MUL_OPS, "a * b or tf.multiply")):
        what = f"add_and_multiply's {key}"
        found = graph_tensor(facts[key], what)["ops"]
        if not all(facts[key]["uses"]):
            raise GradingFailure(f"{what} is not computed from both a and b (the graph below it "
                                 f"holds only {', '.join(found)}): build it with {how}")
        if not ops & set(found):
            kind = "addition" if key == "total" else "element-wise multiplication"
            raise GradingFailure(f"{what} is computed without an {kind} op: build it with {how}")


@pytest.mark.points(2)
def test_add_and_multiply_values(student: Any) -> None:
    """add_and_multiply: element-wise sum and product after running, on fed int and float inputs"""
    rng = np.random.default_rng(12)
    for dtype, shape in (("int32", (3,)), ("int32", (7,)), ("float32", (4, 3))):
        a, b = random_pair(rng, dtype, shape)
        facts = student.task("operations_facts", a=a, b=b)
        for key, want in (("total", a + b), ("product", a * b)):
            what = f"add_and_multiply's {key}"
            checks.close(graph_tensor(facts[key], what)["value"], want, what, tol=1e-6,
                         on=f"{dtype} inputs")


# --- run_in_session ---------------------------------------------------------------------------

@pytest.mark.points(2)
def test_run_in_session_fetches(student: Any) -> None:
    """run_in_session: returns the value of one tensor, and the values of a list of tensors"""
    rng = np.random.default_rng(20)
    a, b = random_pair(rng, "int32", (4,))
    one = student.task("session_result", a=a, b=b, fetch="one")["value"]
    checks.close(one, a + b, "run_in_session's result for one tensor", tol=0)
    a, b = random_pair(rng, "float32", (2, 3))
    many = student.task("session_result", a=a, b=b, fetch="list")["value"]
    if not isinstance(many, (list, tuple)) or len(many) != 3:
        raise GradingFailure("run_in_session should return a list of three values for a list of "
                             "three tensors")
    for i, want in enumerate((a + b, a * b, a)):
        checks.close(many[i], want, f"value {i} of run_in_session's list", tol=1e-6,
                     on="a list of tensors")


@pytest.mark.points(1)
def test_run_in_session_feed_dict(student: Any) -> None:
    """run_in_session: passes feed_dict to the session, so placeholders get their values"""
    a, b = random_pair(np.random.default_rng(21), "float32", (5,))
    with hint("InvalidArgumentError", "a placeholder got no value: does run_in_session pass "
              "feed_dict on to sess.run?"):
        value = student.task("session_result", a=a, b=b, fetch="feed")["value"]
    checks.close(value, a * b, "run_in_session's result", tol=1e-6, on="fed placeholders")


# --- build_counter and run_counter -------------------------------------------------------------

@pytest.mark.points(1)
def test_build_counter_variable(student: Any) -> None:
    """build_counter: count is an int32 scalar variable; unreadable before initialising, 0 after"""
    facts = graph_tensor(student.task("counter_facts", steps=0), "build_counter's count")
    if not facts["variable"]:
        raise GradingFailure(f"build_counter's count should be a tf.Variable, but is made by a "
                             f"{facts['op']} operation")
    dtype_and_shape(facts, "build_counter's count", "int32", [])
    if facts["read_before_init"] == "no error":
        raise GradingFailure("build_counter's count can be read before the variables are "
                             "initialised, which a tf.Variable cannot")
    if facts["read_before_init"] != "FailedPreconditionError":
        raise GradingFailure(f"reading build_counter's count before initialising raised "
                             f"{facts['read_before_init']}, not FailedPreconditionError")
    if checks.scalar(facts["after_init"], "count after initialising") != 0:
        raise GradingFailure("build_counter's count does not start at 0")


@pytest.mark.points(1)
def test_build_counter_increment(student: Any) -> None:
    """build_counter: each run of increment adds 1 to count, and the count persists between runs"""
    steps = 4
    facts = graph_tensor(student.task("counter_facts", steps=steps), "build_counter's count")
    if "increment_error" in facts:
        raise GradingFailure(f"running build_counter's increment raised {facts['increment_error']}")
    start = checks.scalar(facts["after_init"], "count after initialising")
    values = checks.array(facts["after_increments"], "count after increments")
    if not np.array_equal(values, start + np.arange(1, steps + 1)):
        if values.size and np.all(values == start):
            raise GradingFailure("running increment does not change count: store the new value "
                                 "with tf.compat.v1.assign_add (count + 1 alone stores nothing)")
        raise GradingFailure("count does not grow by exactly 1 each time increment runs")


@pytest.mark.points(2)
def test_run_counter(student: Any) -> None:
    """run_counter: initialises the variables, runs increment n times, returns count's value"""
    rng = np.random.default_rng(30)
    for n in (0, 1, 6):
        start = int(rng.integers(-20, 20))
        with hint("FailedPreconditionError", "a variable was read before it was initialised: "
                  "run tf.compat.v1.global_variables_initializer() in the session first"):
            value = student.task("run_counter_result", start=start, n=n)["value"]
        got = checks.scalar(value, "run_counter's result")
        if got != start + n:
            raise GradingFailure("run_counter's result is not count's initial value plus n "
                                 "(on a counter whose initial value is not 0): does it read "
                                 "count after running increment n times?")


# --- add_placeholders -------------------------------------------------------------------------

FEEDS = (
    (np.float32(1.5), np.float32(-2.25)),
    (np.arange(4, dtype=np.float32), np.full(4, 0.5, dtype=np.float32)),
    (np.random.default_rng(40).normal(size=(2, 3)).astype(np.float32),
     np.random.default_rng(41).normal(size=(2, 3)).astype(np.float32)),
)


@pytest.mark.points(1)
def test_add_placeholders_tensors(student: Any) -> None:
    """add_placeholders: a, b and total are float32 tensors of the graph"""
    facts = student.task("placeholder_facts", feeds=[FEEDS[0]])
    for key in ("a", "b", "total"):
        what = f"add_placeholders's {key}"
        if graph_tensor(facts[key], what)["dtype"] != "float32":
            raise GradingFailure(f"{what} has dtype {facts[key]['dtype']}, expected float32")


@pytest.mark.points(2)
def test_add_placeholders_fed(student: Any) -> None:
    """add_placeholders: a and b are placeholders; total follows what is fed, for several feeds"""
    facts = student.task("placeholder_facts", feeds=list(FEEDS))
    for key in ("a", "b"):
        what = f"add_placeholders's {key}"
        if graph_tensor(facts[key], what)["op"] != "Placeholder":
            raise GradingFailure(f"{what} is made by a {facts[key]['op']} operation; make it with "
                                 "tf.compat.v1.placeholder")
    graph_tensor(facts["total"], "add_placeholders's total")
    for key, used in zip("ab", facts["uses"], strict=True):
        if not used:
            raise GradingFailure(f"add_placeholders's total does not depend on {key}: what is fed "
                                 f"to {key} is ignored")
    if "feed_error" in facts:
        raise GradingFailure(f"feeding a and b raised {facts['feed_error']}: leave the "
                             "placeholders' shape open (shape=None) so any shape can be fed")
    kinds = ("scalars", "vectors", "matrices")
    for value, (fa, fb), kind in zip(facts["values"], FEEDS, kinds, strict=True):
        checks.close(value, fa + fb, "add_placeholders's total", tol=1e-6, on=f"fed {kind}")


# --- TensorFlow 2, eager ----------------------------------------------------------------------

def eager_outputs(result: dict[str, Any], name: str, count: int,
                  values_only: bool = False) -> list[dict[str, Any]]:
    """The facts of each result; a failure unless they are eager tensors (with ``values_only``:
    anything holding numbers, so that a NumPy result loses only the tensor test)."""
    outputs = result["outputs"]
    if count == 1 and result["sequence"]:
        raise GradingFailure(f"{name} should return one tensor, not a {len(outputs)}-tuple")
    if count > 1 and (not result["sequence"] or len(outputs) != count):
        raise GradingFailure(f"{name} should return {count} tensors")
    for facts in outputs:
        if values_only and facts["value"] is not None:
            continue
        if not facts["eager"]:
            kind = "a graph tensor" if facts["dtype"] is not None else kind_of(facts)
            raise GradingFailure(f"{name} should return eager tensors with values, but returned "
                                 f"{kind}")
    return outputs


@pytest.mark.points(1)
def test_eager_add_and_multiply_tensors(student: Any) -> None:
    """eager_add_and_multiply: eager tensors whose dtype and shape follow the inputs"""
    rng = np.random.default_rng(50)
    for dtype, shape in (("int32", (3,)), ("float32", (2, 4))):
        a, b = random_pair(rng, dtype, shape)
        result = student.task("eager_facts", function="eager_add_and_multiply", args=[a, b])
        for facts, key in zip(eager_outputs(result, "eager_add_and_multiply", 2),
                              ("total", "product"), strict=True):
            dtype_and_shape(facts, f"eager_add_and_multiply's {key}", dtype, list(shape))


@pytest.mark.points(1)
def test_eager_add_and_multiply_values(student: Any) -> None:
    """eager_add_and_multiply: computes the element-wise sum and product at once"""
    rng = np.random.default_rng(51)
    for dtype, shape in (("int32", (6,)), ("float32", (3, 2))):
        a, b = random_pair(rng, dtype, shape)
        result = student.task("eager_facts", function="eager_add_and_multiply", args=[a, b])
        outputs = eager_outputs(result, "eager_add_and_multiply", 2, values_only=True)
        for facts, key, want in zip(outputs, ("total", "product"), (a + b, a * b), strict=True):
            checks.close(facts["value"], want, f"eager_add_and_multiply's {key}", tol=1e-6,
                         on=f"{dtype} inputs")


@pytest.mark.points(2)
def test_eager_counter(student: Any) -> None:
    """eager_counter: returns an int32 scalar tf.Variable holding n, with no session"""
    for n in (0, 2, 9):
        result = student.task("eager_facts", function="eager_counter", args=[n])
        (facts,) = eager_outputs(result, "eager_counter", 1)
        if not facts["variable"]:
            raise GradingFailure("eager_counter should return the tf.Variable itself (a tensor "
                                 "computed from it is not the variable)")
        dtype_and_shape(facts, "eager_counter's variable", "int32", [])
        if checks.scalar(facts["value"], "eager_counter's variable") != n:
            raise GradingFailure("eager_counter's variable does not hold n for some n: is "
                                 "assign_add run n times on a variable that starts at 0?")
