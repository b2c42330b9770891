"""Hidden suite of ``tf_basics``: graphs, sessions, variables, placeholders and eager mode.

TensorFlow objects cannot leave the worker, so the graph tests ask a task of
``autograder.tasks.tf_basics`` for the graph the student's function built, serialized, with the
names of the tensors it returned and their values after running. The facts judged here (op types,
dtype, static shape, which inputs a result depends on, constants, what an update assigns) are read
from that graph in the grader (``autograder.grading.graphs``), not taken from the worker's word.
Every test also checks a value: the lecture's constants, or results on inputs drawn for this
submission, so that no point is earned by a constant, by returning the inputs, or by a
description of a tensor instead of the tensor. Expected values are the lecture's (given in the
notebook) or computed with NumPy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from autograder.grading import checks
from autograder.grading.evaluator import Remote, trusted_bytes
from autograder.grading.graphs import Graph
from autograder.grading.plugin import GradingFailure
from autograder.grading.proxy import StudentError
from autograder.tasks import tf_basics as kit

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


def read(result: dict[str, Any], what: str) -> tuple[Graph, dict[str, dict[str, Any]]]:
    """The graph a task sent, and the facts of each output read from it."""
    graph = Graph(result.get("graph"), what)
    outputs = result.get("outputs") if isinstance(result.get("outputs"), dict) else {}
    return graph, {key: graph.facts(described) for key, described in outputs.items()}


def graph_tensor(facts: dict[str, Any], what: str) -> dict[str, Any]:
    """``facts`` of a tensor of the graph, or a failure naming what came back instead."""
    if not facts["graph_tensor"]:
        if facts["other_graph"]:
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


def evaluated(student: Any, result: dict[str, Any], fetches: list[str],
              feeds: dict[str, Any], init: str | None = None) -> list[Any]:
    """The values of ``fetches`` of the graph a task sent, run by the evaluator on ``feeds``
    (the worker never sees them)."""
    answer = student.evaluator.evaluate(graph=result["graph"], feeds=feeds, fetches=fetches,
                                        init=init)
    return list(answer["values"])


def session(student: Any, graph_of: Any) -> tuple[int, dict[str, str]]:
    """An evaluator session on a graph the grader built with the real values (``graph_of(tf)``
    returns its tensors by name): the session and the names of those tensors."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        made = graph_of(tf)
        names = {k: [graph.as_graph_element(t).name for t in v] if isinstance(v, list)
                 else graph.as_graph_element(v).name for k, v in made.items()}
    return student.evaluator.open(trusted_bytes(graph), trusted=True), names


def ran(remote: Remote, value: Any, what: str) -> None:
    """``value``, what the student's function returned, must be what its session got from the
    evaluator: values made any other way count for nothing."""
    if not remote.log:
        raise GradingFailure(f"{what} ran nothing in the session it made: run the fetches with "
                             "sess.run")
    last = remote.log[-1].values
    got = value if isinstance(value, (list, tuple)) else [value]
    if len(got) != len(last) or not all(np.array_equal(np.asarray(g), np.asarray(v))
                                        for g, v in zip(got, last, strict=True)):
        raise GradingFailure(f"{what} returned other values than its session's run gave")


# --- lecture_constants ------------------------------------------------------------------------

def _check_constant(student: Any, key: str, want: list[int]) -> None:
    graph, facts = read(student.task("constants_graph"), "lecture_constants")
    what = f"lecture_constants's {key}"
    graph_tensor(facts[key], what)
    if facts[key]["op"] != "Const":
        raise GradingFailure(f"{what} is made by a {facts[key]['op']} operation; make it with "
                             "tf.constant")
    dtype_and_shape(facts[key], what, "int32", [3])
    value = graph.constant(facts[key]["name"])
    if value is None or value.shape != (3,) or not np.array_equal(value, want):
        raise GradingFailure(f"{what} does not hold the lecture's values")


@pytest.mark.points(1)
def test_lecture_constants_a(student: Any) -> None:
    """lecture_constants: a is an int32 tf.constant of shape (3,) in the graph holding [1, 2, 3]"""
    _check_constant(student, "a", [1, 2, 3])


@pytest.mark.points(1)
def test_lecture_constants_b(student: Any) -> None:
    """lecture_constants: b is an int32 tf.constant of shape (3,) in the graph holding [4, 5, 6]"""
    _check_constant(student, "b", [4, 5, 6])


# --- add_and_multiply -------------------------------------------------------------------------

def operations(student: Any, a: np.ndarray, b: np.ndarray,
               inputs: str = "placeholder") -> tuple[Graph, dict[str, dict[str, Any]]]:
    """``add_and_multiply`` on ``a`` and ``b``: the graph and the facts of total and product,
    each with its ``value`` after running (checked against a + b and a * b)."""
    given = {"a": a, "b": b} if inputs == "constant" else {}
    result = student.task("operations_graph", dtype=a.dtype.name, shape=list(a.shape),
                          inputs=inputs, **given)
    graph, facts = read(result, "add_and_multiply")
    for key in ("total", "product"):
        graph_tensor(facts[key], f"add_and_multiply's {key}")
    feeds = {} if given else {"a:0": a, "b:0": b}
    values = evaluated(student, result, [facts[k]["name"] for k in ("total", "product")], feeds)
    for key, value, want in zip(("total", "product"), values, (a + b, a * b), strict=True):
        checks.close(value, want, f"add_and_multiply's {key}", tol=1e-6, on=f"{a.dtype} inputs")
    return graph, facts


@pytest.mark.points(1)
def test_add_and_multiply_graph_tensors(student: Any, rng: np.random.Generator) -> None:
    """add_and_multiply: graph tensors whose dtype and shape follow the inputs"""
    for dtype, shape in (("int32", (int(rng.integers(2, 6)),)),
                         ("float32", (2, int(rng.integers(3, 7))))):
        _, facts = operations(student, *random_pair(rng, dtype, shape))
        for key in ("total", "product"):
            what = f"add_and_multiply's {key} (for {dtype} inputs)"
            dtype_and_shape(facts[key], what, dtype, list(shape))


@pytest.mark.points(1)
def test_add_and_multiply_ops(student: Any, rng: np.random.Generator) -> None:
    """add_and_multiply: built by addition and multiplication ops on a and b, not constant results"""
    a, b = random_pair(rng, "int32", (int(rng.integers(2, 6)),))
    graph, facts = operations(student, a, b, inputs="constant")
    for key, ops, how in (("total", ADD_OPS, "a + b or tf.add"),
                           ("product", MUL_OPS, "a * b or tf.multiply")):
        what = f"add_and_multiply's {key}"
        below = graph.ancestors(facts[key]["name"])
        found = sorted(set(below.values()))
        if not ("a" in below and "b" in below):
            raise GradingFailure(f"{what} is not computed from both a and b (the graph below it "
                                 f"holds only {', '.join(found)}): build it with {how}")
        if not ops & set(found):
            kind = "addition" if key == "total" else "element-wise multiplication"
            raise GradingFailure(f"{what} is computed without an {kind} op: build it with {how}")


@pytest.mark.points(2)
def test_add_and_multiply_values(student: Any, rng: np.random.Generator) -> None:
    """add_and_multiply: element-wise sum and product after running, on fed int and float inputs"""
    for dtype, shape in (("int32", (3,)), ("int32", (int(rng.integers(4, 9)),)),
                         ("float32", (int(rng.integers(2, 5)), 3))):
        operations(student, *random_pair(rng, dtype, shape))


def session_result(student: Any, a: np.ndarray, b: np.ndarray, fetch: str) -> Any:
    """What ``run_in_session`` returns for the graph of ``kit.session_graph``, whose values are
    the evaluator's (the worker's copy holds zeros; it is given ``a`` and ``b`` only to feed)."""
    sid, _ = session(student, lambda tf: kit.session_graph(tf, a, b, fetch))
    remote = Remote(student.evaluator, sid)
    given = {"a": a, "b": b} if fetch == "feed" else {}
    value = student.task("session_result", remote=remote, session=sid, dtype=a.dtype.name,
                         shape=list(a.shape), fetch=fetch, **given)["value"]
    ran(remote, value, "run_in_session")
    student.evaluator.close_session(sid)
    return value


# --- run_in_session ---------------------------------------------------------------------------

@pytest.mark.points(2)
def test_run_in_session_fetches(student: Any, rng: np.random.Generator) -> None:
    """run_in_session: returns the value of one tensor, and the values of a list of tensors"""
    a, b = random_pair(rng, "int32", (4,))
    one = session_result(student, a, b, "one")
    checks.close(one, a + b, "run_in_session's result for one tensor", tol=0)
    a, b = random_pair(rng, "float32", (2, 3))
    many = session_result(student, a, b, "list")
    if not isinstance(many, (list, tuple)) or len(many) != 3:
        raise GradingFailure("run_in_session should return a list of three values for a list of "
                             "three tensors")
    for i, want in enumerate((a + b, a * b, a)):
        checks.close(many[i], want, f"value {i} of run_in_session's list", tol=1e-6,
                     on="a list of tensors")


@pytest.mark.points(1)
def test_run_in_session_feed_dict(student: Any, rng: np.random.Generator) -> None:
    """run_in_session: passes feed_dict to the session, so placeholders get their values"""
    a, b = random_pair(rng, "float32", (int(rng.integers(3, 8)),))
    with hint("InvalidArgumentError", "a placeholder got no value: does run_in_session pass "
              "feed_dict on to sess.run?"):
        value = session_result(student, a, b, "feed")
    checks.close(value, a * b, "run_in_session's result", tol=1e-6, on="fed placeholders")


# --- build_counter and run_counter -------------------------------------------------------------

def counter(student: Any, steps: int) -> tuple[Graph, dict[str, Any], dict[str, Any]]:
    """``build_counter``'s graph, the facts of count (a variable of the graph, int32, scalar,
    0 once initialised) and what the task saw when it ran it."""
    result = student.task("counter_graph")
    graph, facts = read(result, "build_counter")
    count = graph_tensor(facts["count"], "build_counter's count")
    if not count["variable"]:
        raise GradingFailure(f"build_counter's count should be a tf.Variable, but is made by a "
                             f"{count['op']} operation")
    dtype_and_shape(count, "build_counter's count", "int32", [])
    evaluator = student.evaluator
    sid = evaluator.open(result["graph"], trusted=False)
    try:
        evaluator.run(sid, [str(result["init"])])
        result["after_init"] = evaluator.run(sid, [count["name"]])[0]
        values = []
        try:
            for _ in range(steps):
                evaluator.run(sid, [str(result.get("increment"))])
                values.append(evaluator.run(sid, [count["name"]])[0])
        except StudentError as exc:
            result["increment_error"] = str(exc)
        result["after_increments"] = np.asarray(values, dtype=np.float64)
    finally:
        evaluator.close_session(sid)
    if checks.scalar(result.get("after_init"), "count after initialising") != 0:
        raise GradingFailure("build_counter's count does not start at 0")
    return graph, count, result


@pytest.mark.points(1)
def test_build_counter_variable(student: Any) -> None:
    """build_counter: count is an int32 scalar variable of the graph that starts at 0"""
    counter(student, steps=0)


@pytest.mark.points(1)
def test_build_counter_increment(student: Any, rng: np.random.Generator) -> None:
    """build_counter: each run of increment adds 1 to count, and the count persists between runs"""
    steps = int(rng.integers(3, 7))
    graph, count, result = counter(student, steps)
    if "increment_error" in result:
        raise GradingFailure(f"running build_counter's increment raised {result['increment_error']}")
    if not graph.assigns(result.get("increment"), count["name"]):
        raise GradingFailure("running increment does not assign a new value to count: store "
                             "the new value with tf.compat.v1.assign_add (count + 1 alone "
                             "stores nothing)")
    values = checks.array(result.get("after_increments"), "count after increments")
    if not np.array_equal(values, np.arange(1, steps + 1)):
        raise GradingFailure("count does not grow by exactly 1 each time increment runs")


@pytest.mark.points(2)
def test_run_counter(student: Any, rng: np.random.Generator) -> None:
    """run_counter: initialises the variables, runs increment n times, returns count's value"""
    for n in (0, 1, int(rng.integers(3, 9))):
        start = int(rng.integers(-20, 20))
        with hint("FailedPreconditionError", "a variable was read before it was initialised: "
                  "run tf.compat.v1.global_variables_initializer() in the session first"):
            value = run_counter(student, start, n)
        got = checks.scalar(value, "run_counter's result")
        if got != start + n:
            raise GradingFailure("run_counter's result is not count's initial value plus n "
                                 "(on a counter whose initial value is not 0): does it read "
                                 "count after running increment n times?")


def run_counter(student: Any, start: int, n: int) -> Any:
    """What ``run_counter`` returns for a counter the evaluator holds at ``start`` (the worker's
    copy starts at 0); the count it leaves there must be the same."""
    sid, names = session(student, lambda tf: kit.counter_base(tf, start))
    remote = Remote(student.evaluator, sid)
    try:
        value = student.task("run_counter_result", remote=remote, session=sid, n=n)["value"]
        left = student.evaluator.run(sid, [names["count"]])[0]
    finally:
        student.evaluator.close_session(sid)
    if np.asarray(value).shape != () or int(np.asarray(left)) != np.asarray(value):
        raise GradingFailure("run_counter's result is not the count its session left: read "
                             "count with sess.run in the session that ran the increments")
    return value


# --- add_placeholders -------------------------------------------------------------------------

def feeds(rng: np.random.Generator) -> list[tuple[Any, Any]]:
    """A pair of scalars, of vectors and of matrices to feed to a and b."""
    n = int(rng.integers(2, 7))
    return [(np.float32(rng.normal(0, 3)), np.float32(rng.normal(0, 3))),
            (rng.normal(0, 3, n).astype(np.float32), rng.normal(0, 3, n).astype(np.float32)),
            (rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 3)).astype(np.float32))]


def placeholders(student: Any, fed: list[tuple[Any, Any]]) -> tuple[Graph, dict, dict]:
    result = student.task("placeholder_graph")
    graph, facts = read(result, "add_placeholders")
    for key in ("a", "b", "total"):
        what = f"add_placeholders's {key}"
        if graph_tensor(facts[key], what)["dtype"] != "float32":
            raise GradingFailure(f"{what} has dtype {facts[key]['dtype']}, expected float32")
    below = graph.ancestors(facts["total"]["name"])
    for key in ("a", "b"):
        if graph.node(facts[key]["name"]).name not in below:
            raise GradingFailure(f"add_placeholders's total does not depend on {key}: what is fed "
                                 f"to {key} is ignored")
    values = []
    for fa, fb in fed:
        try:
            values += evaluated(student, result, [facts["total"]["name"]],
                                {facts["a"]["name"]: fa, facts["b"]["name"]: fb})
        except StudentError:
            raise GradingFailure("feeding a and b failed: leave the placeholders' shape open "
                                 "(shape=None) so any shape can be fed") from None
    kinds = ("scalars", "vectors", "matrices")
    for value, (fa, fb), kind in zip(values, fed, kinds, strict=False):
        checks.close(value, fa + fb, "add_placeholders's total", tol=1e-6, on=f"fed {kind}")
    return graph, facts, result


@pytest.mark.points(1)
def test_add_placeholders_tensors(student: Any, rng: np.random.Generator) -> None:
    """add_placeholders: a, b and total are float32 tensors of the graph; total is a + b"""
    placeholders(student, feeds(rng)[:1])


@pytest.mark.points(2)
def test_add_placeholders_fed(student: Any, rng: np.random.Generator) -> None:
    """add_placeholders: a and b are placeholders; total follows what is fed, for several feeds"""
    _, facts, _ = placeholders(student, feeds(rng))
    for key in ("a", "b"):
        what = f"add_placeholders's {key}"
        if facts[key]["op"] != "Placeholder":
            raise GradingFailure(f"{what} is made by a {facts[key]['op']} operation; make it with "
                                 "tf.compat.v1.placeholder")


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


def traced(student: Any, function: str, args: list[Any]) -> list[Any]:
    """The values of an eager function on ``args``: traced into a graph by the worker, which is
    given only the arrays' dtypes and shapes, and run by the evaluator on the arrays (with the
    variables the function makes, at the values it made them with)."""
    specs = [[a.dtype.name, list(a.shape)] if isinstance(a, np.ndarray) else a for a in args]
    made = student.task("eager_traced", function=function, specs=specs)
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    ok = (isinstance(made, dict) and isinstance(made.get("inputs"), list)
          and len(made["inputs"]) == len(arrays) and isinstance(made.get("outputs"), list)
          and isinstance(made.get("variables"), dict)
          and all(isinstance(v, np.ndarray) for v in made["variables"].values()))
    if not ok:
        raise GradingFailure(f"{function} could not be traced into a graph the grader can run")
    answer = student.evaluator.evaluate(graph=made["graph"],
                                        feeds=dict(zip(made["inputs"], arrays, strict=True)),
                                        fetches=[str(o) for o in made["outputs"]], init=None,
                                        variables=made["variables"])
    return list(answer["values"])


@pytest.mark.points(1)
def test_eager_add_and_multiply_tensors(student: Any, rng: np.random.Generator) -> None:
    """eager_add_and_multiply: eager tensors whose dtype and shape follow the inputs"""
    for dtype, shape in (("int32", (int(rng.integers(2, 6)),)), ("float32", (2, 4))):
        a, b = random_pair(rng, dtype, shape)
        result = student.task("eager_facts", function="eager_add_and_multiply", args=[a, b])
        facts = eager_outputs(result, "eager_add_and_multiply", 2)
        a, b = random_pair(rng, dtype, shape)  # the values: on inputs the worker never sees
        values = traced(student, "eager_add_and_multiply", [a, b])
        for fact, value, key, want in zip(facts, values, ("total", "product"), (a + b, a * b),
                                          strict=True):
            what = f"eager_add_and_multiply's {key}"
            dtype_and_shape(fact, what, dtype, list(shape))
            checks.close(value, want, what, tol=1e-2, atol=1e-2, on=f"{dtype} inputs")


@pytest.mark.points(1)
def test_eager_add_and_multiply_values(student: Any, rng: np.random.Generator) -> None:
    """eager_add_and_multiply: computes the element-wise sum and product at once"""
    for dtype, shape in (("int32", (int(rng.integers(4, 9)),)), ("float32", (3, 2))):
        a, b = random_pair(rng, dtype, shape)
        values = traced(student, "eager_add_and_multiply", [a, b])
        if len(values) != 2:
            raise GradingFailure("eager_add_and_multiply should return 2 tensors")
        for value, key, want in zip(values, ("total", "product"), (a + b, a * b), strict=True):
            checks.close(value, want, f"eager_add_and_multiply's {key}", tol=1e-6,
                         on=f"{dtype} inputs")


@pytest.mark.points(2)
def test_eager_counter(student: Any, rng: np.random.Generator) -> None:
    """eager_counter: returns an int32 scalar tf.Variable holding n, with no session"""
    for n in (0, int(rng.integers(1, 5)), int(rng.integers(5, 13))):
        result = student.task("eager_facts", function="eager_counter", args=[n])
        (facts,) = eager_outputs(result, "eager_counter", 1)
        if not facts["variable"]:
            raise GradingFailure("eager_counter should return the tf.Variable itself (a tensor "
                                 "computed from it is not the variable)")
        dtype_and_shape(facts, "eager_counter's variable", "int32", [])
        values = traced(student, "eager_counter", [n])
        if len(values) != 1 or checks.scalar(values[0], "eager_counter's variable") != n:
            raise GradingFailure("eager_counter's variable does not hold n for some n: is "
                                 "assign_add run n times on a variable that starts at 0?")
