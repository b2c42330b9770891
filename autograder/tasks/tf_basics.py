"""Tasks for ``tf_basics``: call the student's functions in a fresh graph (or eagerly) and send
back the graph, for the grader to read and the evaluator to run.

TensorFlow objects cannot cross to the grader, and a description of them made here would be the
submission's own account (its code runs in this process and could change this module). So a
graph task sends the graph itself, serialized (``graph``: its ``GraphDef`` as bytes, with static
shapes) and the name of each tensor the student's function returned (``outputs``: ``{"kind",
"name"}``): the grader reads op types, dtypes, shapes, dependencies and constants from the graph
(``autograder.grading.graphs``), and the evaluator (``autograder.evaluator``) runs it on the
grader's inputs, which this process never sees. ``run_in_session`` and ``run_counter`` get
sessions that run on the evaluator. The inputs the task makes are named ``a`` and ``b`` in the
graph. No expected value lives here. Eager functions are traced into a graph too
(``eager_traced``); only the facts of their eager results (``eager_facts``: an eager tensor, a
``tf.Variable``) are this process's account, never their values (see docs/validity.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.worker import remote
from autograder.worker.harness import CallFailed, describe, invoke, resolve, tensorflow

TASKS = ("constants_graph", "operations_graph", "session_result", "counter_graph",
         "run_counter_result", "placeholder_graph", "eager_facts", "eager_traced")
EAGER_FUNCTIONS = ("eager_add_and_multiply", "eager_counter")


def _call(ns: dict[str, Any], name: str, *args: Any) -> Any:
    return invoke(resolve(ns, name), name, *args)


def _unpack(value: Any, name: str, count: int, what: str) -> list[Any]:
    if isinstance(value, (tuple, list)) and len(value) == count:
        return list(value)
    got = (f"{len(value)} value(s)" if isinstance(value, (tuple, list))
           else f"a {type(value).__name__}")
    raise CallFailed("bad_return", f"{name} should return {what}; it returned {got}")


def _in_graph(value: Any, graph: Any) -> bool:
    tf = tensorflow()
    if not isinstance(value, (tf.Tensor, tf.Variable, tf.Operation)):
        return False
    try:
        return value.graph is graph
    except AttributeError:  # eager tensors have no graph
        return False


def _describe(value: Any, graph: Any) -> dict[str, Any]:
    """The Python type of a returned value and, for a tensor of ``graph``, its name there."""
    tf = tensorflow()
    inside = _in_graph(value, graph)
    return {"kind": type(value).__name__, "name": value.name if inside else None,
            "other_graph": isinstance(value, (tf.Tensor, tf.Variable, tf.Operation)) and not inside}


def _op_name(value: Any, graph: Any) -> str | None:
    """The name of the operation that running ``value`` runs, if it belongs to ``graph``."""
    op = value if isinstance(value, tensorflow().Operation) else getattr(value, "op", None)
    try:
        return op.name if op is not None and op.graph is graph else None
    except AttributeError:
        return None


def _graph_bytes(graph: Any) -> np.ndarray:
    data = graph.as_graph_def(add_shapes=True).SerializeToString()
    return np.frombuffer(data, dtype=np.uint8).copy()


def constants_graph(ns: dict[str, Any]) -> dict[str, Any]:
    """``lecture_constants()`` in a fresh graph: the graph and the names of ``a`` and ``b``."""
    tf = tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        pair = _unpack(_call(ns, "lecture_constants"), "lecture_constants", 2, "a pair (a, b)")
        return {"graph": _graph_bytes(graph),
                "outputs": {key: _describe(t, graph) for key, t in zip("ab", pair, strict=True)}}


def operations_graph(ns: dict[str, Any], *, dtype: str, shape: list[int],
                     inputs: str = "placeholder", a: np.ndarray | None = None,
                     b: np.ndarray | None = None) -> dict[str, Any]:
    """``add_and_multiply`` on two placeholders named ``a``, ``b`` (of ``dtype`` and ``shape``:
    their values stay with the grader) or on two constants named ``a``, ``b``: the graph and the
    names of ``total`` and ``product``. The evaluator runs it."""
    tf = tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        if inputs == "placeholder":
            ta = tf.compat.v1.placeholder(tf.as_dtype(dtype), shape, name="a")
            tb = tf.compat.v1.placeholder(tf.as_dtype(dtype), shape, name="b")
        else:
            ta, tb = tf.constant(a, name="a"), tf.constant(b, name="b")
        out = _call(ns, "add_and_multiply", ta, tb)
        pair = _unpack(out, "add_and_multiply", 2, "a pair (total, product)")
        result: dict[str, Any] = {"outputs": {k: _describe(t, graph)
                                              for k, t in zip(("total", "product"), pair,
                                                              strict=True)}}
        result["graph"] = _graph_bytes(graph)
    return result


def session_graph(tf: Any, a: np.ndarray, b: np.ndarray, fetch: str) -> dict[str, Any]:
    """The graph ``run_in_session`` is given: ``a + b`` (``one``), ``[a + b, a * b, a]`` (``list``)
    on constants, or ``a * b`` on placeholders (``feed``). The grader builds it with the values,
    the task with zeros of the same dtype and shape."""
    if fetch == "feed":
        ta = tf.compat.v1.placeholder(tf.as_dtype(a.dtype), name="a")
        tb = tf.compat.v1.placeholder(tf.as_dtype(b.dtype), name="b")
        return {"a": ta, "b": tb, "fetches": ta * tb}
    ta, tb = tf.constant(a, name="a"), tf.constant(b, name="b")
    return {"a": ta, "b": tb, "fetches": ta + tb if fetch == "one" else [ta + tb, ta * tb, ta]}


def session_result(ns: dict[str, Any], *, session: int, dtype: str, shape: list[int],
                   fetch: str = "one", a: np.ndarray | None = None,
                   b: np.ndarray | None = None) -> dict[str, Any]:
    """``run_in_session`` on the graph of :func:`session_graph`; its sessions run on the
    evaluator, which holds the constants' values. ``a`` and ``b`` (``feed``) are what it is
    given to feed."""
    tf = tensorflow()
    graph = tf.Graph()
    zeros = np.zeros(shape, dtype=dtype)
    with graph.as_default():
        g = session_graph(tf, zeros, zeros, fetch)
        known = {op.name for op in graph.get_operations()}
        with remote.sessions_go_to(graph, session, known):
            if fetch == "feed":
                out = _call(ns, "run_in_session", g["fetches"], {g["a"]: a, g["b"]: b})
            else:
                out = _call(ns, "run_in_session", g["fetches"])
    leaves = out if isinstance(out, (list, tuple)) else [out]
    if any(isinstance(v, (tf.Tensor, tf.Variable)) for v in leaves):
        raise CallFailed("bad_return", "run_in_session returned a tensor, not its value: run the "
                         "fetches in a session and return what sess.run gives")
    return {"value": out}


def counter_graph(ns: dict[str, Any]) -> dict[str, Any]:
    """``build_counter()`` in a fresh graph: the graph, the names of ``count``, of the operation
    ``increment`` runs and of an initialiser of the graph's variables. The evaluator runs them."""
    tf = tensorflow()
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        out = _call(ns, "build_counter")
        count, increment = _unpack(out, "build_counter", 2, "a pair (count, increment)")
        result: dict[str, Any] = {"outputs": {"count": _describe(count, graph)},
                                  "increment": _op_name(increment, graph),
                                  "init": tf1.global_variables_initializer().name}
        result["graph"] = _graph_bytes(graph)
    return result


def counter_base(tf: Any, start: int) -> dict[str, Any]:
    """The counter ``run_counter`` is given: an int32 variable at ``start`` and its increment
    (the grader's start; the task's is 0)."""
    count = tf.Variable(start, dtype=tf.int32, name="count")
    return {"count": count, "increment": count.assign_add(1)}


def run_counter_result(ns: dict[str, Any], *, session: int, n: int) -> dict[str, Any]:
    """``run_counter`` on the counter of :func:`counter_base`; its sessions run on the
    evaluator, which holds the counter."""
    tf = tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        g = counter_base(tf, 0)
        known = {op.name for op in graph.get_operations()}
        with remote.sessions_go_to(graph, session, known):
            out = _call(ns, "run_counter", g["count"], g["increment"], n)
    if isinstance(out, (tf.Tensor, tf.Variable)):
        raise CallFailed("bad_return", "run_counter returned a tensor, not count's value: read it "
                         "with sess.run(count) in the session that ran the increments")
    return {"value": out}


def placeholder_graph(ns: dict[str, Any]) -> dict[str, Any]:
    """``add_placeholders()`` in a fresh graph: the graph and the names of ``a``, ``b`` and
    ``total``. The evaluator feeds and runs it."""
    tf = tensorflow()
    graph = tf.Graph()
    with graph.as_default():
        out = _call(ns, "add_placeholders")
        a, b, total = _unpack(out, "add_placeholders", 3, "three tensors (a, b, total)")
        result: dict[str, Any] = {"outputs": {key: _describe(t, graph) for key, t in
                                              (("a", a), ("b", b), ("total", total))}}
        result["graph"] = _graph_bytes(graph)
    return result


def eager_facts(ns: dict[str, Any], *, function: str, args: list[Any]) -> dict[str, Any]:
    """Call an eager-style function (arrays become ``tf.constant``); facts of each result, with
    ``eager`` true for a tensor that has its value right away, and ``value`` for such a tensor or
    for a plain number or array.

    Eager objects cannot be sent as a graph: these facts are the worker's account, and the grader
    gives no point for them alone (every test of the eager functions checks values computed from
    inputs drawn for the submission).
    """
    if function not in EAGER_FUNCTIONS:
        raise CallFailed("missing", f"no eager function {function!r} in tf_basics")
    tf = tensorflow()
    args = [tf.constant(v) if isinstance(v, np.ndarray) else v for v in args]
    out = _call(ns, function, *args)
    items = list(out) if isinstance(out, (tuple, list)) else [out]
    outputs = []
    for item in items:
        facts: dict[str, Any] = {"kind": type(item).__name__, "eager": False, "value": None,
                                 "variable": isinstance(item, tf.Variable), "dtype": None,
                                 "shape": None}
        if isinstance(item, (tf.Tensor, tf.Variable)):
            facts["dtype"] = item.dtype.base_dtype.name
            facts["shape"] = item.shape.as_list() if item.shape.rank is not None else None
            try:
                facts["value"] = np.asarray(item.numpy())
                facts["eager"] = True
            except Exception:  # a graph tensor has no value outside a session
                pass
        elif isinstance(item, (np.ndarray, np.generic, int, float)):
            facts["value"] = np.asarray(item)
        outputs.append(facts)
    return {"outputs": outputs, "sequence": isinstance(out, (tuple, list))}


def eager_traced(ns: dict[str, Any], *, function: str, specs: list[Any]) -> dict[str, Any]:
    """An eager-style function traced into a graph (as ``tf.compat.v1.wrap_function`` traces, but
    with ``tf.function``'s automatic control dependencies, so that its state changes keep their
    order: ``v.assign(v + 1)`` three times counts to 3), for the evaluator to run: tensor
    arguments become placeholders of the dtypes and shapes ``specs`` gives (``[dtype, shape]``;
    their values stay with the grader), other arguments are passed as they are.

    Returns ``{"graph", "inputs", "outputs", "variables"}``: the placeholders' names in order,
    the results' names, and for each variable the function made, the placeholder that stands for
    it in the graph and the value it was made with (the grader puts a variable of its own there,
    at that value: a counter made at 5 counts from 5).
    """
    if function not in EAGER_FUNCTIONS:
        raise CallFailed("missing", f"no eager function {function!r} in tf_basics")
    tf = tensorflow()
    fn = resolve(ns, function)
    signature = [tf.TensorSpec(spec[1], tf.as_dtype(spec[0])) for spec in specs
                 if isinstance(spec, list)]
    fixed = [None if isinstance(spec, list) else spec for spec in specs]

    def call(*tensors: Any) -> Any:
        given = iter(tensors)
        return invoke(fn, function, *(next(given) if f is None else f for f in fixed))

    from tensorflow.python.eager import wrap_function
    from tensorflow.python.framework import func_graph

    holder = wrap_function.VariableHolder(call)  # the variables the function makes, eagerly
    try:
        graph = func_graph.func_graph_from_py_func(
            f"traced_{function}", holder, args=None, kwargs=None, signature=signature,
            add_control_dependencies=True, collections={})
    except CallFailed:
        raise
    except Exception as exc:  # code that needs values, not tensors (.numpy() on an argument)
        raise CallFailed("exception", f"{function} cannot be traced into a graph "
                         f"({describe(exc)}): use TensorFlow operations on its arguments") \
            from None
    handles = {id(v.handle): v for v in holder.variables.values()}
    variables = {internal.name: np.asarray(handles[id(external)].numpy())
                 for external, internal in graph.captures if id(external) in handles}
    return {"graph": _graph_bytes(graph),
            "inputs": [t.name for t in graph.inputs if t.name not in variables],
            "outputs": [t.name for t in graph.outputs], "variables": variables}
