"""The evaluator's side: graphs in, values out; never a line of a submission's Python.

Runs in the evaluator process (``autograder.worker.server`` started with the role ``evaluator``:
a fork of the warm template in a worker's sandbox, given no submission). Its one client is the
grader, which decides what comes from where: a graph the grader built itself (``open`` with
``check`` off: the variables and their start, the placeholders), or nodes a student's code made,
relayed by the grader and checked here against the allow-list (``ops``) under the policy the
grader names. Requests (plain data, ``protocol``):

``evaluate``  one graph, run once: ``{graph, feeds, fetches, init, variables}`` -> the values,
              and each fetched tensor's dtype and static shape as the imported graph has them;
              ``variables`` (``{placeholder: value}``) puts a variable of the grader's, at that
              value, where a traced function's graph has a placeholder for one it made
``open``      a session on a graph: ``{graph, check}`` -> ``{"session": id, "nodes": [...]}``
``extend``    new nodes of a student's graph: ``{session, graph, policy, only}``: the nodes
              ``only`` needs (all when empty) that the session's graph lacks are checked and
              imported; nodes it has keep the session's version
``minimize``  the grader's optimizer on a loss of the session: ``{session, loss, learning_rate,
              optimizer}`` -> ``{"train_op", "init"}``
``alias``     ``{session, names: {theirs: ours}}``: names a student's graph uses for the session's
              own nodes (its ``train_op``, its initialiser)
``stage``     ``{session, part, file, rows, table, classes}``: rows of bytes the session's feeds
              may name instead of sending them (``{"staged": part, "start": s, "size": n}``
              stands for ``table[staged[s:s + n]]``): the rows ``rows`` of MNIST's training
              ``file`` in the evaluator's own MNIST folder (the grader lends it; there are no
              test labels in it), one-hot over ``classes`` if given (labels) -- a training
              batch the grader drew, read here once, not sent at every step
``run``       ``{session, fetches, feeds}`` -> values (None for an operation)
``close``     ``{session}``
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.evaluator import ops
from autograder.worker.harness import CallFailed, describe, session_config, tensorflow

PLACEHOLDERS = ("Placeholder", "PlaceholderV2", "PlaceholderWithDefault")


def _graph_def(data: Any) -> Any:
    tf = tensorflow()
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(np.asarray(data, dtype=np.uint8).tobytes())
    except Exception as exc:  # a malformed protocol buffer
        raise CallFailed("bad_return", f"the graph sent cannot be read ({type(exc).__name__})") \
            from None
    return graph_def


def _plain(value: Any) -> Any:
    """A fetched value as plain data: numbers as arrays; an operation's None and text as None."""
    if value is None:
        return None
    array = np.asarray(value)
    return array if array.dtype.kind in "biufc" else None


def _refused(exc: Exception) -> CallFailed:
    return CallFailed("exception", str(exc))


def _meta_graph_def(data: Any) -> Any:
    tf = tensorflow()
    meta = tf.compat.v1.MetaGraphDef()
    try:
        meta.ParseFromString(np.asarray(data, dtype=np.uint8).tobytes())
    except Exception as exc:
        raise CallFailed("bad_return", f"the graph sent cannot be read ({type(exc).__name__})") \
            from None
    return meta


class Session:
    """A graph, its session, and the names a student's graph uses for the graph's own nodes.

    A graph of the grader's comes as a ``MetaGraphDef``, so that its variables are variables
    here too (the optimizer needs them); a student's as a plain ``GraphDef``."""

    def __init__(self, graph_def: Any = None, meta: Any = None,
                 variables: dict[str, Any] | None = None):
        tf = tensorflow()
        self.graph = tf.Graph()
        with self.graph.as_default():
            if meta is not None:
                tf.compat.v1.train.import_meta_graph(meta)
            else:
                mapping = {}
                for k, (placeholder, value) in enumerate(sorted((variables or {}).items())):
                    made = tf.Variable(np.asarray(value), name=f"evaluator_variable_{k}")
                    mapping[placeholder if ":" in placeholder else f"{placeholder}:0"] = \
                        made.handle
                tf.compat.v1.import_graph_def(graph_def, input_map=mapping or None, name="")
                self.made_init = (tf.compat.v1.global_variables_initializer().name
                                  if mapping else None)
        self.session = tf.compat.v1.Session(graph=self.graph, config=session_config())
        self.aliases: dict[str, str] = {}
        self._reads: dict[str, Any] = {}
        self.staged: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def stage(self, part: str, file: str, rows: Any, table: Any, classes: int | None) -> None:
        from coursekit.data import mnist

        rows, table = np.asarray(rows), np.asarray(table)
        if file not in (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS) or rows.dtype.kind not in "iu" \
                or rows.ndim != 1 or table.shape != (256,) or table.dtype.kind != "f" \
                or not (classes is None or (type(classes) is int and 0 < classes <= 256)):
            raise CallFailed("exception", "staged rows are rows of MNIST's training set, with a "
                             "table of their 256 values")
        try:
            data = mnist.read_idx(mnist.cache_dir() / file)
        except (OSError, ValueError) as exc:
            raise CallFailed("exception", f"the evaluator cannot read {file} ({exc})") from None
        data = data.reshape(len(data), -1)
        if rows.size and not (rows.min() >= 0 and rows.max() < len(data)):
            raise CallFailed("exception", "staged rows beyond MNIST's training set")
        picked = data[rows]
        if classes is not None:  # class numbers become one-hot rows of bytes
            if picked.size and picked.max() >= classes:
                raise CallFailed("exception", "a label beyond the classes")
            one_hot = np.zeros((len(picked), classes), np.uint8)
            one_hot[np.arange(len(picked)), picked[:, 0]] = 1
            picked = one_hot
        self.staged[part] = (picked, table)

    def _staged(self, value: dict[str, Any]) -> np.ndarray:
        """The rows a feed names (see the module)."""
        part, start, size = value.get("staged"), value.get("start"), value.get("size")
        found = self.staged.get(part) if isinstance(part, str) else None
        if found is None or type(start) is not int or type(size) is not int \
                or not (start >= 0 and size > 0 and start + size <= len(found[0])):
            raise CallFailed("exception", "a feed names rows that were not staged")
        rows, table = found
        return table[rows[start:start + size]]

    def names(self) -> set[str]:
        return {op.name for op in self.graph.get_operations()}

    def node(self, name: str) -> Any:
        """A tensor (``name:0``) or an operation (``name``) of the graph, through the aliases."""
        base, _, index = name.partition(":")
        base = self.aliases.get(base, base)
        try:
            if index:
                return self.graph.get_tensor_by_name(f"{base}:{index}")
            return self.graph.get_operation_by_name(base)
        except (KeyError, ValueError):
            raise CallFailed("exception", f"{name!r} is not in the graph the grader runs (was "
                             "it made in another graph?)") from None

    def extend(self, graph_def: Any, policy: str, only: list[str]) -> list[str]:
        """Import the nodes of ``graph_def`` that ``only`` needs and the graph lacks."""
        tf = tensorflow()
        by_name = {n.name: n for n in graph_def.node}
        have = self.names() | set(self.aliases)
        wanted: list[str] = []
        stack = [o.partition(":")[0].lstrip("^") for o in only] if only else list(by_name)
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen or name in have or name not in by_name:
                continue
            seen.add(name)
            wanted.append(name)
            stack.extend(i.partition(":")[0].lstrip("^") for i in by_name[name].input)
        if not wanted:
            return []
        new = tf.compat.v1.GraphDef()
        new.versions.CopyFrom(graph_def.versions)
        new.library.CopyFrom(graph_def.library)
        known = {f.signature.name for f in self.graph.as_graph_def().library.function}
        del new.library.function[:]
        new.library.function.extend(f for f in graph_def.library.function
                                    if f.signature.name not in known)
        keep = set(wanted)
        new.node.extend(n for n in graph_def.node if n.name in keep)
        try:
            ops.check(new, policy)
        except ops.Refused as exc:
            raise _refused(exc) from None
        mapping: dict[str, Any] = {}
        controls: list[tuple[str, Any]] = []  # (new node, existing op it waits for)
        for node in new.node:
            kept = []
            for given in node.input:
                source = given.lstrip("^").partition(":")[0]
                if source in keep:
                    kept.append(given)
                elif given.startswith("^"):  # import_graph_def maps tensors only: added below
                    controls.append((node.name, self.node(source)))
                else:
                    index = given.partition(":")[2] or "0"
                    mapping[given] = self.node(f"{source}:{index}")
                    kept.append(given)
            del node.input[:]
            node.input.extend(kept)
        try:
            with self.graph.as_default():
                tf.compat.v1.import_graph_def(new, input_map=mapping, name="")
            for name, waits_for in controls:
                self.graph.get_operation_by_name(name)._add_control_input(waits_for)
        except CallFailed:
            raise
        except Exception as exc:
            raise CallFailed("exception", f"the graph cannot be put together: {describe(exc)}") \
                from None
        return wanted

    def minimize(self, loss: str, learning_rate: float, optimizer: str) -> dict[str, Any]:
        """The optimizer's step on ``loss`` over the graph's variables (the grader's: a student's
        nodes make none), an initialiser of every variable (its slots too), and the gradients,
        in the order of the variables, as fetchable names."""
        tf = tensorflow()
        tf1 = tf.compat.v1
        made = {"adam": tf1.train.AdamOptimizer, "sgd": tf1.train.GradientDescentOptimizer}
        target = self.node(loss)
        with self.graph.as_default():
            variables = tf1.trainable_variables()
            chosen = made[optimizer](learning_rate)
            try:
                pairs = chosen.compute_gradients(target, var_list=variables)
                if any(g is None for g, _ in pairs):
                    missing = [v.op.name for g, v in pairs if g is None]
                    raise ValueError(f"no gradient reaches {', '.join(missing)}")
                step = chosen.apply_gradients(pairs)
            except Exception as exc:  # no gradient reaches the variables, say
                raise CallFailed("exception", f"the loss cannot be minimised ({describe(exc)})") \
                    from None
            init = tf1.variables_initializer(tf1.global_variables(), name="evaluator_init")
        return {"train_op": step.name, "init": init.name,
                "gradients": [g.name for g, _ in pairs],
                "variables": [v.op.name for _, v in pairs]}

    def gradients(self, loss: str, variables: list[str]) -> list[str]:
        tf = tensorflow()
        tf1 = tf.compat.v1
        with self.graph.as_default():
            by_name = {v.op.name: v for v in tf1.global_variables()}
            chosen = [by_name[name] for name in variables]
            grads = tf.gradients(self.node(loss), chosen)
        return [g.name for g in grads]

    def _readable(self, target: Any) -> Any:
        """A variable's handle, fetched, is read (as ``sess.run(variable)`` reads it)."""
        tf = tensorflow()
        if getattr(target, "dtype", None) != tf.resource or target.op.type != "VarHandleOp":
            return target
        if target.name not in self._reads:
            from tensorflow.python.ops import gen_resource_variable_ops

            with self.graph.as_default():
                self._reads[target.name] = gen_resource_variable_ops.read_variable_op(
                    target, dtype=target.op.get_attr("dtype"))
        return self._reads[target.name]

    def run(self, fetches: list[str], feeds: dict[str, Any]) -> list[Any]:
        targets = [self._readable(self.node(name)) for name in fetches]
        feed_dict = {}
        for name, value in feeds.items():
            tensor = self.node(name if ":" in name else f"{name}:0")
            if tensor.op.type not in PLACEHOLDERS:
                raise CallFailed("exception", f"{name!r} is fed, but only placeholders may be "
                                 "fed here")
            feed_dict[tensor] = self._staged(value) if isinstance(value, dict) else value
        try:
            values = self.session.run(targets, feed_dict=feed_dict)
        except Exception as exc:
            raise CallFailed("exception", f"running {', '.join(fetches)} raised "
                             f"{describe(exc)}") from None
        return [_plain(v) for v in values]

    def facts(self, fetches: list[str]) -> list[dict[str, Any]]:
        found = []
        for name in fetches:
            node = self.node(name)
            if hasattr(node, "dtype"):
                shape = node.shape.as_list() if node.shape.rank is not None else None
                found.append({"dtype": node.dtype.base_dtype.name, "static_shape": shape})
            else:
                found.append({"dtype": None, "static_shape": None})
        return found

    def close(self) -> None:
        self.session.close()


class Engine:
    def __init__(self) -> None:
        self.sessions: dict[int, Session] = {}
        self.next_id = 0

    def _session(self, request: dict[str, Any]) -> Session:
        sid = request.get("session")
        if type(sid) is not int or sid not in self.sessions:
            raise CallFailed("exception", "no such evaluator session")
        return self.sessions[sid]

    def handle(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        if op == "evaluate":
            return self.evaluate(request)
        if op == "open":
            self.next_id += 1
            if request.get("meta"):  # the grader's own graph, with its variables
                self.sessions[self.next_id] = Session(meta=_meta_graph_def(request["graph"]))
                return {"session": self.next_id}
            graph_def = _graph_def(request["graph"])
            try:
                ops.check(graph_def, ops.GRAPH)
            except ops.Refused as exc:
                raise _refused(exc) from None
            self.sessions[self.next_id] = Session(graph_def)
            return {"session": self.next_id}
        if op == "extend":
            session = self._session(request)
            policy = request.get("policy", ops.FORWARD)
            return session.extend(_graph_def(request["graph"]), policy,
                                  [str(n) for n in request.get("only", [])])
        if op == "minimize":
            return self._session(request).minimize(str(request["loss"]),
                                                   float(request["learning_rate"]),
                                                   str(request.get("optimizer", "adam")))
        if op == "gradients":
            return self._session(request).gradients(str(request["loss"]),
                                                    [str(v) for v in request["variables"]])
        if op == "alias":
            session = self._session(request)
            names = session.names()
            for theirs, ours in dict(request["names"]).items():
                session.node(str(ours))  # must exist
                if str(theirs) != str(ours) and str(theirs) in names:  # would hide a node
                    raise CallFailed("exception", f"{theirs!r} names a node of the graph the "
                                     "grader runs, so it cannot stand for another")
                session.aliases[str(theirs)] = str(ours)
            return None
        if op == "stage":
            self._session(request).stage(str(request["part"]), str(request["file"]),
                                         request["rows"], request["table"],
                                         request.get("classes"))
            return None
        if op == "run":
            return self._session(request).run([str(f) for f in request["fetches"]],
                                              dict(request.get("feeds", {})))
        if op == "facts":
            return self._session(request).facts([str(f) for f in request["fetches"]])
        if op == "close":
            closed = self.sessions.pop(request.get("session"), None)  # type: ignore[arg-type]
            if closed is not None:
                closed.close()
            return None
        raise CallFailed("exception", f"the evaluator knows no request {op!r}")

    def evaluate(self, request: dict[str, Any]) -> dict[str, Any]:
        graph_def = _graph_def(request["graph"])
        try:
            ops.check(graph_def, ops.GRAPH)
        except ops.Refused as exc:
            raise _refused(exc) from None
        variables = request.get("variables") or {}
        try:
            session = Session(graph_def, variables=dict(variables))
        except Exception as exc:
            raise CallFailed("exception", f"the graph cannot be imported: {describe(exc)}") \
                from None
        try:
            fetches = [str(f) for f in request["fetches"]]
            if getattr(session, "made_init", None):  # the grader's variables, at its values
                session.run([session.made_init], {})
            if request.get("init"):
                session.run([str(request["init"])], {})
            values = session.run(fetches, dict(request.get("feeds", {}))) if fetches else []
            return {"values": values, "facts": session.facts(fetches),
                    "ops": sorted({n.op for n in ops.nodes(graph_def)})}
        finally:
            session.close()
