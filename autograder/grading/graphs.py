"""A student's TensorFlow graph, read in the grader from its serialized ``GraphDef``.

TensorFlow objects cannot leave the worker, and what the worker says about them is the
submission's own account: code in the submission could patch the task that describes them. So a
task sends the graph itself (``graph.as_graph_def(add_shapes=True)``, as bytes) with the names of
the tensors the student's function returned, and the grader reads the facts it judges from the
graph here: the operation that makes a tensor, its dtype and static shape, the operations it is
computed from, the values of constants, which variable an update assigns. Only the protocol
buffer is parsed: nothing of the graph is imported or run in the grader's process. A faked graph
would have to hold the very operations the assignment asks for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.grading.plugin import GradingFailure
from autograder.worker.harness import tensorflow

VARIABLE_OPS = frozenset({"VarHandleOp", "VariableV2", "Variable"})
ASSIGN_OPS = frozenset({"AssignAddVariableOp", "AssignVariableOp", "AssignAdd", "Assign",
                        "AssignSubVariableOp", "AssignSub"})
_DTYPE_ATTRS = ("dtype", "T", "DstT", "out_type", "Tout", "output_type")


def _node_name(ref: str) -> tuple[str, int]:
    """``"name:1"`` -> ``("name", 1)``; ``"^name"`` (a control input) -> ``("name", -1)``."""
    if ref.startswith("^"):
        return ref[1:], -1
    name, _, index = ref.partition(":")
    return name, int(index) if index.isdigit() else 0


class Graph:
    """The nodes of a serialized ``GraphDef``; raises :class:`GradingFailure` if unreadable."""

    def __init__(self, data: Any, what: str):
        from google.protobuf.message import DecodeError

        tf = tensorflow()
        raw = np.asarray(data)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise GradingFailure(f"the graph {what} built could not be read")
        graph_def = tf.compat.v1.GraphDef()
        try:
            graph_def.ParseFromString(raw.tobytes())
        except (DecodeError, ValueError, RuntimeError):
            raise GradingFailure(f"the graph {what} built could not be read") from None
        self.nodes = {node.name: node for node in graph_def.node}
        self.what = what

    def node(self, tensor: str | None) -> Any:
        if not tensor:
            return None
        return self.nodes.get(_node_name(tensor)[0])

    def op(self, tensor: str | None) -> str | None:
        node = self.node(tensor)
        return node.op if node is not None else None

    def dtype(self, tensor: str) -> str | None:
        node = self.node(tensor)
        if node is None:
            return None
        for key in _DTYPE_ATTRS:
            if key in node.attr and node.attr[key].HasField("type"):
                return tensorflow().dtypes.as_dtype(node.attr[key].type).name
        return None

    def shape(self, tensor: str) -> list[int | None] | None:
        """The static shape (None for an unknown size), or None for an unknown rank."""
        node = self.node(tensor)
        if node is None:
            return None
        if node.op in VARIABLE_OPS and "shape" in node.attr:
            proto = node.attr["shape"].shape
        else:
            shapes = node.attr["_output_shapes"].list.shape if "_output_shapes" in node.attr else []
            index = _node_name(tensor)[1]
            if not 0 <= index < len(shapes):
                return None
            proto = shapes[index]
        if proto.unknown_rank:
            return None
        return [d.size if d.size >= 0 else None for d in proto.dim]

    def ancestors(self, tensor: str | None) -> dict[str, str]:
        """Name -> op type of every node ``tensor`` is computed from (control inputs too), its
        own included."""
        seen: dict[str, str] = {}
        start = self.node(tensor)
        stack = [start.name] if start is not None else []
        while stack:
            name = stack.pop()
            node = self.nodes.get(name)
            if node is None or name in seen:
                continue
            seen[name] = node.op
            stack.extend(_node_name(ref)[0] for ref in node.input)
        return seen

    def constant(self, tensor: str) -> np.ndarray | None:
        """The value of a ``Const`` node, or None."""
        node = self.node(tensor)
        if node is None or node.op != "Const" or "value" not in node.attr:
            return None
        try:
            return np.asarray(tensorflow().make_ndarray(node.attr["value"].tensor))
        except Exception:  # a malformed tensor: not a constant the grader can read
            return None

    def assigns(self, tensor: str | None, variable: str | None) -> bool:
        """Whether running ``tensor`` (an op or a tensor) runs an assignment to ``variable``."""
        target = self.node(variable)
        if target is None:
            return False
        for name, op in self.ancestors(tensor).items():
            if op in ASSIGN_OPS:
                inputs = self.nodes[name].input
                if inputs and _node_name(inputs[0])[0] == target.name:
                    return True
        return False

    def facts(self, described: dict[str, Any]) -> dict[str, Any]:
        """What the grader knows of one returned value, from the worker's description of it
        (``{"kind", "name"}``: its Python type and, for a tensor of the task's graph, its name)
        and from the graph."""
        name = described.get("name") if isinstance(described, dict) else None
        kind = str(described.get("kind", "object")) if isinstance(described, dict) else "object"
        name = name if isinstance(name, str) else None
        in_graph = self.node(name) is not None
        op = self.op(name) if in_graph else None
        return {
            "kind": kind, "name": name if in_graph else None, "graph_tensor": in_graph,
            "other_graph": bool(described.get("other_graph")) if isinstance(described, dict)
            else False,
            "variable": op in VARIABLE_OPS, "op": op,
            "dtype": self.dtype(name) if in_graph else None,
            "shape": self.shape(name) if in_graph else None,
            "ops": sorted(set(self.ancestors(name).values())) if in_graph else [],
        }
