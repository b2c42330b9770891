"""Which TensorFlow operations the evaluator runs from a graph a submission built.

The allow-list is made from TensorFlow's own op groups (the generated modules of its math, array,
neural network, state, variable, training, control flow, function, random, linear algebra and
list ops): every op of those groups, so that correct code written with any of TensorFlow's math
runs, and none of any other group (file and I/O ops, Python calls such as ``PyFunc``, readers,
queues, datasets, summaries, checkpoints). A few ops of the allowed groups are refused by name:
``ImmutableConst`` (maps a file into memory), ``Abort`` and ``RemoteCall``. Of the data flow
group only the tensor arrays and the dynamic stitch and partition ops (which loops and gradients
use) are allowed.

Two policies:

``graph``    a graph a student function built and the grader runs once: variables, their
             initialisers and assignments are allowed (``tf_basics`` builds counters);
``forward``  nodes a student's code adds to a graph whose variables and optimizer are the
             grader's (a training run): no op that creates or writes a variable, so the weights
             change only by the grader's optimizer.

Every node counts, those of the graph's function library (``tf.function``) included.
"""

from __future__ import annotations

import functools
import re
from typing import Any

GRAPH = "graph"
FORWARD = "forward"
POLICIES = (GRAPH, FORWARD)

_GROUPS = ("math", "array", "nn", "state", "resource_variable", "training", "control_flow",
           "functional", "random", "stateless_random", "linalg", "special_math", "bitwise",
           "list", "logging", "data_flow")
# ops whose Python wrappers have other names (or live in another group: tf.print's format)
_EXTRA = {"Placeholder", "PlaceholderV2", "PlaceholderWithDefault", "Const", "Identity",
          "IdentityN", "NoOp", "StringFormat"}
_REFUSED = {"ImmutableConst", "Abort", "RemoteCall"}
_LOGGING = {"Assert", "Print", "PrintV2", "Timestamp"}  # of the logging group: no summaries
_DATA_FLOW = re.compile(r"^(TensorArray\w*|DynamicPartition|DynamicStitch|ParallelDynamicStitch)$")
# what creates or writes a variable (refused by the forward policy)
_STATEFUL = re.compile(r"^(Variable|VariableV2|TemporaryVariable|DestroyTemporaryVariable|"
                       r"VarHandleOp|_?VarHandlesOp|DestroyResourceOp|Assign\w*|"
                       r"(Resource)?Scatter(Nd)?(Add|Sub|Mul|Div|Min|Max|Update)|"
                       r"ResourceApply\w*|Apply\w*|ResourceSparseApply\w*|SparseApply\w*|"
                       r"CountUpTo|ResourceCountUpTo|ResourceStridedSliceAssign|"
                       r"StridedSliceAssign)$")


class Refused(ValueError):
    """A graph holds an operation the evaluator does not run; the message names it."""


_WORD = re.compile(r"(.)([A-Z][a-z]+)")
_CAPITAL = re.compile(r"([a-z0-9])([A-Z])")


def _snake(name: str) -> str:
    return _CAPITAL.sub(r"\1_\2", _WORD.sub(r"\1_\2", name)).lower()


@functools.cache
def allowed() -> frozenset[str]:
    """Every op type the evaluator runs (under the ``graph`` policy). Made from TensorFlow's
    modules alone, running nothing: the warm template makes it once, for all its forks."""
    import importlib

    import tensorflow as tf

    groups = [set(vars(importlib.import_module(f"tensorflow.python.ops.gen_{group}_ops")))
              for group in _GROUPS]
    found = set(_EXTRA)
    for name in dir(tf.raw_ops):
        if name.startswith("_"):
            continue
        snake = _snake(name)
        for group, names in zip(_GROUPS, groups, strict=True):
            # a wrapper whose name would shadow a builtin (sum, max, range, exit) has a "_"
            if snake in names or f"_{snake}" in names:
                if group == "logging" and name not in _LOGGING:
                    break
                if group == "data_flow" and not _DATA_FLOW.match(name):
                    break
                found.add(name)
                break
    return frozenset(found - _REFUSED)


def stateful(op_type: str) -> bool:
    """Whether an op creates or writes a variable."""
    return bool(_STATEFUL.match(op_type))


def nodes(graph_def: Any) -> list[Any]:
    """Every node of a ``GraphDef``, its function library's too."""
    found = list(graph_def.node)
    for function in graph_def.library.function:
        found.extend(function.node_def)
    return found


def check(graph_def: Any, policy: str, *, known: frozenset[str] = frozenset()) -> None:
    """Raise :class:`Refused` unless every node of ``graph_def`` (but those named in ``known``,
    the grader's own) is allowed under ``policy``."""
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}")
    ok = allowed()
    library = {f.signature.name for f in graph_def.library.function}
    for node in nodes(graph_def):
        if node.name in known:
            continue
        op = node.op
        if op in library:  # a call of a function of the graph's library, itself checked
            continue
        if op not in ok:
            raise Refused(f"the graph holds a {op} operation ({node.name}), which the grader does "
                          "not run: use TensorFlow's math, array and neural network operations")
        if policy == FORWARD and stateful(op):
            raise Refused(f"the graph adds a {op} operation ({node.name}) that creates or changes "
                          "a variable; here the variables and the optimizer are the grader's")
