"""Tasks for ``tf_basics``: call the student's functions in a fresh graph (or eagerly) and report
plain facts about what they built.

The facts are what the hidden suite needs to judge TensorFlow objects that cannot cross to the
grader: whether a result is a tensor of the graph, its dtype and static shape, the type of the
operation that makes it, the operation types it is computed from, which inputs it depends on,
what reading a variable before initialising it does, and the values after running. No expected
value lives here; the suite compares the facts with what the lecture asks for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.worker.harness import CallFailed, _tf, describe, invoke, resolve, session_config

TASKS = ("constants_facts", "operations_facts", "session_result", "counter_facts",
         "run_counter_result", "placeholder_facts", "eager_facts")
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
    tf = _tf()
    if not isinstance(value, (tf.Tensor, tf.Variable)):
        return False
    try:
        return value.graph is graph
    except AttributeError:  # eager tensors have no graph
        return False


def _ancestors(value: Any) -> dict[str, str]:
    """Name -> type of every operation ``value`` is computed from, its own included."""
    seen: dict[str, str] = {}
    stack = [value.op]
    while stack:
        op = stack.pop()
        if op.name in seen:
            continue
        seen[op.name] = op.type
        stack.extend(t.op for t in op.inputs)
        stack.extend(op.control_inputs)
    return seen


def _facts(value: Any, graph: Any) -> dict[str, Any]:
    """What kind of object ``value`` is; for a tensor of ``graph``, its op and the op types below."""
    tf = _tf()
    facts: dict[str, Any] = {"kind": type(value).__name__, "graph_tensor": False,
                             "variable": isinstance(value, tf.Variable), "dtype": None,
                             "shape": None, "op": None, "ops": []}
    if isinstance(value, (tf.Tensor, tf.Variable)):
        facts["dtype"] = value.dtype.base_dtype.name
        facts["shape"] = value.shape.as_list() if value.shape.rank is not None else None
    if graph is not None and _in_graph(value, graph):
        facts["graph_tensor"] = True
        facts["op"] = value.op.type
        facts["ops"] = sorted(set(_ancestors(value).values()))
    return facts


def _run(sess: Any, fetches: Any, feeds: dict[Any, Any], what: str) -> Any:
    try:
        return sess.run(fetches, feed_dict=feeds)
    except BaseException as exc:
        raise CallFailed("exception", f"running {what} raised {describe(exc)}") from None


def constants_facts(ns: dict[str, Any]) -> dict[str, Any]:
    """``lecture_constants()`` in a fresh graph: facts and values of ``a`` and ``b``."""
    tf = _tf()
    graph = tf.Graph()
    with graph.as_default():
        pair = _unpack(_call(ns, "lecture_constants"), "lecture_constants", 2, "a pair (a, b)")
        result = {key: _facts(t, graph) for key, t in zip("ab", pair, strict=True)}
        with tf.compat.v1.Session(graph=graph, config=session_config()) as sess:
            for key, t in zip("ab", pair, strict=True):
                if result[key]["graph_tensor"]:
                    result[key]["value"] = _run(sess, t, {}, f"lecture_constants's {key}")
    return result


def operations_facts(ns: dict[str, Any], *, a: np.ndarray, b: np.ndarray,
                     inputs: str = "placeholder") -> dict[str, Any]:
    """``add_and_multiply`` on two placeholders (fed ``a``, ``b``) or two constants (``a``, ``b``).

    For ``total`` and ``product``: facts, ``uses`` (does it depend on each input?) and its value.
    """
    tf = _tf()
    graph = tf.Graph()
    with graph.as_default():
        if inputs == "placeholder":
            ta = tf.compat.v1.placeholder(tf.as_dtype(a.dtype), a.shape)
            tb = tf.compat.v1.placeholder(tf.as_dtype(b.dtype), b.shape)
            feeds = {ta: a, tb: b}
        else:
            ta, tb, feeds = tf.constant(a), tf.constant(b), {}
        out = _call(ns, "add_and_multiply", ta, tb)
        pair = _unpack(out, "add_and_multiply", 2, "a pair (total, product)")
        result = {key: _facts(t, graph) for key, t in zip(("total", "product"), pair, strict=True)}
        with tf.compat.v1.Session(graph=graph, config=session_config()) as sess:
            for key, t in zip(("total", "product"), pair, strict=True):
                if result[key]["graph_tensor"]:
                    names = _ancestors(t)
                    result[key]["uses"] = [ta.op.name in names, tb.op.name in names]
                    result[key]["value"] = _run(sess, t, feeds, f"add_and_multiply's {key}")
    return result


def session_result(ns: dict[str, Any], *, a: np.ndarray, b: np.ndarray,
                   fetch: str = "one") -> dict[str, Any]:
    """``run_in_session`` on trusted tensors made from ``a`` and ``b``.

    ``fetch``: ``"one"`` runs ``a + b``; ``"list"`` runs ``[a + b, a * b, a]``; ``"feed"`` runs
    ``a * b`` on two placeholders with ``a`` and ``b`` in the ``feed_dict``.
    """
    tf = _tf()
    graph = tf.Graph()
    with graph.as_default():
        if fetch == "feed":
            ta = tf.compat.v1.placeholder(tf.as_dtype(a.dtype))
            tb = tf.compat.v1.placeholder(tf.as_dtype(b.dtype))
            out = _call(ns, "run_in_session", ta * tb, {ta: a, tb: b})
        else:
            ta, tb = tf.constant(a), tf.constant(b)
            fetches = ta + tb if fetch == "one" else [ta + tb, ta * tb, ta]
            out = _call(ns, "run_in_session", fetches)
    leaves = out if isinstance(out, (list, tuple)) else [out]
    if any(isinstance(v, (tf.Tensor, tf.Variable)) for v in leaves):
        raise CallFailed("bad_return", "run_in_session returned a tensor, not its value: run the "
                         "fetches in a session and return what sess.run gives")
    return {"value": out}


def counter_facts(ns: dict[str, Any], *, steps: int) -> dict[str, Any]:
    """``build_counter()`` in a fresh graph: is ``count`` a variable, what does reading it before
    initialising do, its value after initialising and after each of ``steps`` increments."""
    tf = _tf()
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        out = _call(ns, "build_counter")
        count, increment = _unpack(out, "build_counter", 2, "a pair (count, increment)")
        result = _facts(count, graph)
        if not result["graph_tensor"]:
            return result
        init = tf1.global_variables_initializer()
        with tf1.Session(graph=graph, config=session_config()) as sess:
            try:
                sess.run(count)
                result["read_before_init"] = "no error"
            except BaseException as exc:
                result["read_before_init"] = type(exc).__name__
            sess.run(init)
            result["after_init"] = _run(sess, count, {}, "count after initialising")
            values = []
            try:
                for _ in range(steps):
                    sess.run(increment)
                    values.append(sess.run(count))
            except BaseException as exc:
                result["increment_error"] = describe(exc)
            result["after_increments"] = np.asarray(values, dtype=np.float64)
    return result


def run_counter_result(ns: dict[str, Any], *, start: int, n: int) -> dict[str, Any]:
    """``run_counter`` on a trusted counter that starts at ``start``, asked for ``n`` increments."""
    tf = _tf()
    graph = tf.Graph()
    with graph.as_default():
        count = tf.Variable(start, dtype=tf.int32)
        increment = count.assign_add(1)
        out = _call(ns, "run_counter", count, increment, n)
    if isinstance(out, (tf.Tensor, tf.Variable)):
        raise CallFailed("bad_return", "run_counter returned a tensor, not count's value: read it "
                         "with sess.run(count) in the session that ran the increments")
    return {"value": out}


def placeholder_facts(ns: dict[str, Any], *, feeds: list[tuple[Any, Any]]) -> dict[str, Any]:
    """``add_placeholders()`` in a fresh graph: facts of ``a``, ``b``, ``total``, which of ``a``
    and ``b`` ``total`` depends on, and ``total``'s value for each ``(a, b)`` pair of ``feeds``."""
    tf = _tf()
    graph = tf.Graph()
    with graph.as_default():
        out = _call(ns, "add_placeholders")
        a, b, total = _unpack(out, "add_placeholders", 3, "three tensors (a, b, total)")
        result: dict[str, Any] = {key: _facts(t, graph) for key, t in
                                  (("a", a), ("b", b), ("total", total))}
        if not all(result[key]["graph_tensor"] for key in ("a", "b", "total")):
            return result
        names = _ancestors(total)
        result["uses"] = [a.op.name in names, b.op.name in names]
        values = []
        with tf.compat.v1.Session(graph=graph, config=session_config()) as sess:
            for fa, fb in feeds:
                try:
                    values.append(sess.run(total, feed_dict={a: fa, b: fb}))
                except BaseException as exc:  # the message would show the hidden input's shape
                    result["feed_error"] = type(exc).__name__
                    break
        result["values"] = values
    return result


def eager_facts(ns: dict[str, Any], *, function: str, args: list[Any]) -> dict[str, Any]:
    """Call an eager-style function (arrays become ``tf.constant``); facts of each result, with
    ``eager`` true for a tensor that has its value right away, and ``value`` for such a tensor or
    for a plain number or array."""
    if function not in EAGER_FUNCTIONS:
        raise CallFailed("missing", f"no eager function {function!r} in tf_basics")
    tf = _tf()
    args = [tf.constant(v) if isinstance(v, np.ndarray) else v for v in args]
    out = _call(ns, function, *args)
    items = list(out) if isinstance(out, (tuple, list)) else [out]
    outputs = []
    for item in items:
        facts = _facts(item, None)
        facts["eager"], facts["value"] = False, None
        if isinstance(item, (tf.Tensor, tf.Variable)):
            try:
                facts["value"] = np.asarray(item.numpy())
                facts["eager"] = True
            except Exception:  # a graph tensor has no value outside a session
                pass
        elif isinstance(item, (np.ndarray, np.generic, int, float)):
            facts["value"] = np.asarray(item)
        outputs.append(facts)
    return {"outputs": outputs, "sequence": isinstance(out, (tuple, list))}
