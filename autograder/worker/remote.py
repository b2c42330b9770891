"""A session whose every ``run`` is done by the grader's evaluator, not in this process.

The student's ``train`` (or ``run_counter``, or ``predict``) gets a :class:`RemoteSession` where it
expects a ``tf.compat.v1.Session``: it has the same ``run(fetches, feed_dict)``, ``graph``,
``close``, ``as_default`` and context manager. Each ``run`` sends the grader the names of the
fetches, the feeds, and the nodes of the graph made since the last run (an op built at call time,
``tf.argmax(logits, 1)`` say); the grader checks them and has the evaluator, which holds the graph
and its variables, run them (see ``autograder.evaluator``). The values come back as
``Session.run`` would give them. A feed that is a batch ``data`` gave, unchanged, is sent as its
name (``name_of``), not as its bytes: the grader feeds the evaluator its own copy of those rows.

Nothing here is trusted: code of the submission could replace this module or bypass it. Then its
runs happen here, the evaluator's variables stay as they were, and the grader, which reads those,
sees that nothing was trained.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from autograder.worker import harness, protocol


class RemoteError(RuntimeError):
    """The grader could not run what was asked; the message says why."""


def ask(message: dict[str, Any]) -> Any:
    """Send ``message`` to the grader as part of the current request; its answer."""
    if len(harness.CHANNEL) != 2:
        raise RemoteError("no grader to run this session (it runs only while grading)")
    fd_in, fd_out = harness.CHANNEL
    protocol.write_frame(fd_out, protocol.encode({"id": harness.CURRENT[0], "evaluate": message}))
    reply = protocol.decode(protocol.read_frame(fd_in), max_header=protocol.MAX_FRAME)
    if not isinstance(reply, dict):
        raise RemoteError("the grader's answer is unusable")
    if "evaluate_error" in reply:
        raise RemoteError(str(reply["evaluate_error"]))
    return reply.get("evaluated")


def graph_bytes(graph: Any, names: set[str] | None = None) -> np.ndarray:
    """The graph's ``GraphDef`` (only the nodes ``names``, if given) as bytes."""
    graph_def = graph.as_graph_def(add_shapes=True)
    if names is not None:
        keep = [n for n in graph_def.node if n.name in names]
        del graph_def.node[:]
        graph_def.node.extend(keep)
    return np.frombuffer(graph_def.SerializeToString(), dtype=np.uint8).copy()


Namer = Callable[[np.ndarray], "dict[str, Any] | None"]
MOST_NAMED_ROWS = 20_000  # a batch named, not sent: at most the rows a reply could carry (64 MiB)


class RemoteSession:
    """A ``tf.compat.v1.Session`` on ``graph`` whose runs the evaluator's session ``session``
    does; ``known`` are the nodes the evaluator has already (its own, under the same names);
    ``name_of`` gives a fed array's name, if the grader has it (see the module)."""

    def __init__(self, graph: Any, session: int, known: set[str], name_of: Namer | None = None):
        self.graph = graph
        self.session = session
        self.known = set(known)
        self.name_of = name_of
        self._version = -1
        self._closed = False
        self.sess_str = "grader"

    # the interface of tf.compat.v1.Session ---------------------------------------------------

    def run(self, fetches: Any, feed_dict: Any = None, options: Any = None,
            run_metadata: Any = None) -> Any:
        del options, run_metadata
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        leaves: list[str] = []
        skeleton = self._flatten(fetches, leaves)
        feeds: dict[str, Any] = {}
        for key, value in (feed_dict or {}).items():
            tensor = self.graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
            array = np.asarray(value, dtype=tensor.dtype.as_numpy_dtype)
            name = self.name_of(array) if self.name_of is not None else None
            feeds[tensor.name] = array if name is None else name
        new: set[str] = set()
        version = self.graph.version
        if version != self._version:  # ops were added since the last run
            new = {op.name for op in self.graph.get_operations()} - self.known
        message: dict[str, Any] = {"kind": "run", "session": self.session, "fetches": leaves,
                                   "feeds": feeds}
        if new:
            message["graph"] = graph_bytes(self.graph, new)
        values = ask(message)
        self.known |= new
        self._version = version
        if not isinstance(values, list) or len(values) != len(leaves):
            raise RemoteError("the grader's answer does not fit the fetches")
        return self._fill(skeleton, values)

    def _flatten(self, fetches: Any, leaves: list[str]) -> Any:
        if isinstance(fetches, (list, tuple)) and not hasattr(fetches, "_fields"):
            return type(fetches)(self._flatten(f, leaves) for f in fetches)
        if hasattr(fetches, "_fields"):  # a namedtuple
            return type(fetches)(*(self._flatten(f, leaves) for f in fetches))
        if isinstance(fetches, dict):
            return {k: self._flatten(v, leaves) for k, v in fetches.items()}
        element = self.graph.as_graph_element(fetches, allow_tensor=True, allow_operation=True)
        leaves.append(element.name)
        return _Leaf(len(leaves) - 1)

    def _fill(self, skeleton: Any, values: list[Any]) -> Any:
        if isinstance(skeleton, _Leaf):
            value = values[skeleton.index]
            if isinstance(value, np.ndarray) and value.ndim == 0:
                return value[()]
            return value
        if isinstance(skeleton, (list, tuple)) and not hasattr(skeleton, "_fields"):
            return type(skeleton)(self._fill(s, values) for s in skeleton)
        if hasattr(skeleton, "_fields"):
            return type(skeleton)(*(self._fill(s, values) for s in skeleton))
        if isinstance(skeleton, dict):
            return {k: self._fill(v, values) for k, v in skeleton.items()}
        return skeleton

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> RemoteSession:
        self._default = self.as_default()
        self._default.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._default.__exit__(*exc)
        self.close()

    def as_default(self) -> Any:
        """``with sess.as_default():`` makes this the session ``tensor.eval()`` uses."""
        from tensorflow.python.framework import stack

        return stack.default_session(self)

    def list_devices(self) -> list[Any]:
        return []


class _Leaf:
    def __init__(self, index: int):
        self.index = index


@contextlib.contextmanager
def sessions_go_to(graph: Any, session: int, known: set[str],
                   name_of: Namer | None = None) -> Iterator[None]:
    """While the block runs, ``tf.compat.v1.Session()`` (and ``InteractiveSession``) made on
    ``graph`` by the submission's code is a :class:`RemoteSession` on the evaluator's
    ``session``."""
    tf = harness.tensorflow()
    tf1 = tf.compat.v1
    saved = (tf1.Session, tf1.InteractiveSession)

    task_graph = graph

    def make(target: Any = "", graph: Any = None, config: Any = None, **_: Any) -> Any:
        del target, config
        chosen = graph if graph is not None else tf1.get_default_graph()
        if chosen is not task_graph:
            raise RemoteError("a session on another graph than the one the grader gave")
        return RemoteSession(task_graph, session, known, name_of)

    tf1.Session = make
    tf1.InteractiveSession = make
    try:
        yield
    finally:
        tf1.Session, tf1.InteractiveSession = saved
