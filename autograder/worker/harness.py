"""Run a submission's code on plain data. Shared by the worker (student code) and the grader's
in-process reference, so both sides are called in exactly the same way.

Nothing here knows an expected value: it executes cells, calls functions and turns what they
return into plain data (see ``protocol``).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import importlib
import inspect
import linecache
import re
import resource
import socket
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

CELL_FILE = "<cell {index}>"
# The server's pipes to the grader and the id of the request being answered: a remote session
# (``remote``) asks the grader through them while a task runs.
CHANNEL: list[int] = []
CURRENT: list[Any] = [None]
_MAGIC = re.compile(r"^(\s*)([%!].*)$")


class CallFailed(Exception):
    """The submission's code raised, returned something unusable, or lacks a name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        # "not_implemented" | "exception" | "missing" | "signature" | "bad_return" | "exit"
        self.kind = kind
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


def strip_magics(source: str) -> str:
    """Comment out IPython magics and shell escapes (``%matplotlib``, ``!pip``)."""
    return "\n".join(_MAGIC.sub(r"\1# \2", line) for line in source.split("\n"))


def _where(tb: Any) -> str:
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith("<cell")]
    if not frames:
        return ""
    f = frames[-1]
    return f" ({f.filename.strip('<>')}, line {f.lineno}{', in ' + f.name if f.name != '<module>' else ''})"


def _safe_str(value: Any, repr_: bool = False) -> str:
    """``str``/``repr`` of a value the submission made; its own ``__str__`` may raise."""
    try:
        return repr(value) if repr_ else str(value)
    except BaseException:
        return f"<a {type(value).__name__} that cannot be shown>"


def _hint(exc: BaseException) -> str:
    """What a student should know about errors that the sandbox causes on purpose."""
    try:  # errno may be a property of the submission's own exception class
        code = exc.errno if isinstance(exc, OSError) else None
    except BaseException:
        return ""
    if isinstance(exc, socket.gaierror) or code in (errno.ENETUNREACH, errno.EHOSTUNREACH,
                                                     errno.ECONNREFUSED):
        return "; submissions have no network access while they are graded"
    if isinstance(exc, BlockingIOError) and code == errno.EAGAIN:
        limit = resource.getrlimit(resource.RLIMIT_NPROC)[0]
        if limit != resource.RLIM_INFINITY:
            return f"; a submission may run at most {limit} processes and threads"
    return ""


_TF_NOISE = ("Graph execution error", "Detected at node", "Node:", "[[", "File ", "{{")


def _first_useful_line(exc: BaseException, text: str) -> str:
    """TensorFlow's runtime errors start with "Graph execution error:"; the line that says what
    went wrong ("You must feed a value for placeholder ...") comes later."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    if (type(exc).__module__ or "").startswith("tensorflow"):
        useful = [ln for ln in lines if not ln.startswith(_TF_NOISE)]
        if useful:
            return useful[0]
    return lines[0]


_TF_CELL = re.compile(r'File "<cell (\d+)>", line (\d+)')
_TF_NODE = re.compile(r"\{\{node ([^}\s]+)\}\}|Detected at node '?([^'\s]+)'?")


def _tf_op(text: str) -> str:
    """The TensorFlow op a TensorFlow error names (``{{node Reshape}}``), or ""."""
    match = _TF_NODE.search(text)
    return (match.group(1) or match.group(2)) if match else ""


def describe(exc: BaseException) -> str:
    """One line for an exception: its type, what went wrong and, for TensorFlow's errors, the op
    it happened in, without the op's attributes and graph listing TensorFlow appends."""
    raw = _safe_str(exc)
    text = _first_useful_line(exc, raw)
    text = re.split(r" for '\{\{node | \[\[\{\{node |\s+\[\[", text)[0]
    op = _tf_op(raw)
    if op and op not in text:
        cell = _TF_CELL.search(raw)  # where the student's code made the op, for runtime errors
        at = f", made in cell {cell.group(1)}, line {cell.group(2)}" if cell else ""
        text = f"{text[:220]} (in the TensorFlow op {op}{at})"
    text = text[:300]
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__) + _hint(exc)


def _memory_limit() -> str:
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return ""
    return f" (the limit is {limit / (1 << 30):.3g} GiB of address space)"


def new_namespace() -> dict[str, Any]:
    return {"__name__": "__submission__", "__builtins__": builtins, "display": lambda *a, **k: None}


def register_source(filename: str, source: str) -> None:
    """Let ``inspect`` find the source of what a cell defines, as IPython does for its cells:
    AutoGraph (``tf.function``) reads a function's source to convert its Python ``if`` and
    ``for`` over tensors, and fails where the source cannot be found."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def execute_cells(cells: list[dict[str, Any]], namespace: dict[str, Any]) -> list[dict[str, Any]]:
    """Execute code cells in order, going on after a cell that fails; returns one note per failure."""
    notes = []
    for cell in cells:
        index = cell["index"]
        try:
            source = strip_magics(cell["source"])
            register_source(CELL_FILE.format(index=index), source)
            code = compile(source, CELL_FILE.format(index=index), "exec")
            exec(code, namespace)
        except SyntaxError as exc:
            notes.append({"index": index, "error": f"SyntaxError: {exc.msg} (cell {index}, line "
                          f"{exc.lineno})"})
        except SystemExit as exc:
            notes.append({"index": index, "error": f"the cell called sys.exit("
                          f"{_safe_str(exc.code, repr_=True)}); ignored"})
        except BaseException as exc:
            notes.append({"index": index, "error": describe(exc) + _where(exc.__traceback__)})
    return notes


def resolve(namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    fn = namespace.get(name)
    if fn is None:
        raise CallFailed("missing", f"{name} is not defined in the submission")
    if not callable(fn):
        raise CallFailed("missing", f"{name} is defined but is a {type(fn).__name__}, not a function")
    return fn


_MISSING = object()


@contextlib.contextmanager
def standing_in(ns: dict[str, Any], **stand_ins: Any) -> Iterator[None]:
    """Put trusted ``stand_ins`` under their names in the submission's namespace for one run (the
    student's functions find them there by name), and put back what was there afterwards."""
    saved = {name: ns.get(name, _MISSING) for name in stand_ins}
    ns.update(stand_ins)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                ns.pop(name, None)
            else:
                ns[name] = value


def check_signature(fn: Callable[..., Any], name: str, args: tuple, kwargs: dict) -> None:
    """Fail with a clear message if ``fn`` cannot take these arguments at all."""
    try:
        signature = inspect.signature(fn)
    except Exception:  # a builtin or an odd callable: the call itself will tell
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise CallFailed("signature", f"{name} cannot be called the way the assignment asks "
                         f"({exc}); compare its parameters with the docstring") from None


def invoke(fn: Callable[..., Any], name: str, *args: Any, **kwargs: Any) -> Any:
    """Call student code, turning whatever it raises into :class:`CallFailed`."""
    check_signature(fn, name, args, kwargs)
    try:
        return fn(*args, **kwargs)
    except CallFailed:
        raise
    except NotImplementedError as exc:
        # The stub's own `raise NotImplementedError` sits in a cell; one raised deeper down (numpy
        # asked to convert a graph tensor, say) is an ordinary error with a message worth showing.
        frames = traceback.extract_tb(exc.__traceback__)
        if frames and frames[-1].filename.startswith("<cell"):
            raise CallFailed("not_implemented", f"{name} raises NotImplementedError") from None
        raise CallFailed("exception", f"{name} raised {describe(exc)}{_where(exc.__traceback__)}") \
            from None
    except SystemExit as exc:
        raise CallFailed("exit", f"{name} called sys.exit({_safe_str(exc.code, repr_=True)})") \
            from None
    except RecursionError:
        raise CallFailed("exception", f"{name} recursed too deeply") from None
    except MemoryError:
        raise CallFailed("exception", f"{name} ran out of memory{_memory_limit()}") from None
    except BaseException as exc:
        raise CallFailed("exception", f"{name} raised {describe(exc)}{_where(exc.__traceback__)}") \
            from None


def to_plain(value: Any, name: str, depth: int = 0) -> Any:
    """Turn a return value into plain data: numbers, strings, numpy arrays, lists, dicts."""
    if depth > 32:
        raise CallFailed("bad_return", f"{name} returned a value nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is np.ndarray or (isinstance(value, np.generic) and type(value).__module__ == "numpy"):
        if value.dtype.kind not in "biufc":
            raise CallFailed("bad_return", f"{name} returned an array of dtype {value.dtype}")
        return value
    if type(value) in (list, tuple):
        items = [to_plain(v, name, depth + 1) for v in value]
        return tuple(items) if type(value) is tuple else items
    if type(value) is dict:
        return {str(k): to_plain(v, name, depth + 1) for k, v in value.items()}
    module = type(value).__module__ or ""
    if module.startswith("tensorflow") and hasattr(value, "numpy"):
        try:
            return to_plain(value.numpy(), name, depth + 1)
        except CallFailed:
            raise
        except Exception:
            pass
    for base in (bool, int, float, str, list, tuple, dict, np.ndarray, np.generic):
        if isinstance(value, base):  # a subclass can pretend (its own __eq__, __float__, ...)
            raise CallFailed("bad_return", f"{name} returned a {type(value).__name__}, a subclass "
                             f"of {base.__name__}; return a plain {base.__name__} instead")
    raise CallFailed(
        "bad_return",
        f"{name} returned a {type(value).__name__}; expected numbers, numpy arrays or tensors",
    )


def call_plain(ns: dict[str, Any], name: str, args: list, kwargs: dict) -> Any:
    return to_plain(invoke(resolve(ns, name), name, *args, **kwargs), name)


# --- TensorFlow calls -------------------------------------------------------------------------

def tensorflow() -> Any:
    """TensorFlow, imported quietly (its log lines on stderr would fail an nbgrader cell)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    return tf



def session_config() -> Any:
    """One thread per op and per graph: deterministic, and fair when several workers share cores.

    Without Grappler, TensorFlow's graph rewriting: it runs for every new graph (and every new
    set of fetches), about 5 ms each time, while the graphs the kit runs are small and most run
    once. The values are the same bit for bit (measured on the suites' calls and training runs);
    a training run of 2,500 steps takes the same time either way.
    """
    tf = tensorflow()
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1,
                                      inter_op_parallelism_threads=1)
    config.graph_options.rewrite_options.disable_meta_optimizer = True
    return config


class _Fetch:
    def __init__(self, index: int):
        self.index = index


def _map(value: Any, leaf: Callable[[Any], Any]) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, leaf) for v in value)
    if isinstance(value, dict):
        return {k: _map(v, leaf) for k, v in value.items()}
    return leaf(value)


def call_graph(ns: dict[str, Any], name: str, args: list, kwargs: dict, seed: int = 0) -> dict:
    """Call ``name`` inside a fresh graph: arrays become placeholders (fed), tensors are run.

    Returns ``{"value", "tensor", "dtype", "shape", "static_shape", "ops"}``: the evaluated result,
    whether it was a graph tensor, its dtype and static shape, and the op types in the graph.
    """
    tf = tensorflow()
    fn = resolve(ns, name)
    graph = tf.Graph()
    feeds: dict[Any, np.ndarray] = {}

    def placeholder(value: Any) -> Any:
        if isinstance(value, np.ndarray):
            ph = tf.compat.v1.placeholder(tf.as_dtype(value.dtype), value.shape)
            feeds[ph] = value
            return ph
        return value

    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        out = invoke(fn, name, *_map(list(args), placeholder), **_map(dict(kwargs), placeholder))
        is_tensor = isinstance(out, (tf.Tensor, tf.Variable))
        meta: dict[str, Any] = {"tensor": is_tensor, "dtype": None, "static_shape": None}
        if is_tensor:
            meta["dtype"] = out.dtype.name
            meta["static_shape"] = out.shape.as_list() if out.shape.rank is not None else None
        fetches: list[Any] = []

        def collect(value: Any) -> Any:
            if isinstance(value, (tf.Tensor, tf.Variable, tf.Operation)):
                fetches.append(value)
                return _Fetch(len(fetches) - 1)
            return value

        skeleton = _map(out, collect)
        try:
            with tf.compat.v1.Session(graph=graph, config=session_config()) as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                values = sess.run(fetches, feed_dict=feeds) if fetches else []
        except CallFailed:
            raise
        except BaseException as exc:
            raise CallFailed("exception", f"running the graph built by {name} raised "
                             f"{describe(exc)}") from None
        ops = sorted({op.type for op in graph.get_operations()})

    def fill(value: Any) -> Any:
        return values[value.index] if isinstance(value, _Fetch) else value

    result = to_plain(_map(skeleton, fill), name)
    meta.update(value=result, ops=ops,
                shape=list(np.shape(result)) if not isinstance(result, (dict, list, tuple)) else None)
    return meta


SPEC, FETCH = "__placeholder__", "__fetch__"


def _is_spec(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SPEC}


def _map_specs(value: Any, leaf: Callable[[Any], Any]) -> Any:
    if _is_spec(value):
        return leaf(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_map_specs(v, leaf) for v in value)
    if isinstance(value, dict):
        return {k: _map_specs(v, leaf) for k, v in value.items()}
    return value


def call_graph_def(ns: dict[str, Any], name: str, args: list, kwargs: dict, seed: int = 0) -> dict:
    """Call ``name`` in a fresh graph on placeholders of the given dtypes and shapes (the grader
    keeps the values) and send the graph back, unrun: ``{"graph", "inputs", "fetches",
    "skeleton", "init"}`` (see ``autograder.grading.trusted``)."""
    tf = tensorflow()
    tf1 = tf.compat.v1
    fn = resolve(ns, name)
    graph = tf.Graph()
    inputs: list[str] = []

    def placeholder(spec: dict[str, Any]) -> Any:
        dtype, shape = spec[SPEC]
        ph = tf1.placeholder(tf.as_dtype(str(dtype)), [int(d) for d in shape],
                             name=f"input_{len(inputs)}")
        inputs.append(ph.name)
        return ph

    with graph.as_default():
        tf1.set_random_seed(seed)
        out = invoke(fn, name, *_map_specs(list(args), placeholder),
                     **_map_specs(dict(kwargs), placeholder))
        fetches: list[str] = []

        def collect(value: Any) -> Any:
            if isinstance(value, (tf.Tensor, tf.Variable, tf.Operation)):
                try:
                    element = graph.as_graph_element(value)
                except (ValueError, TypeError):
                    raise CallFailed("bad_return", f"{name} returned a tensor of another graph "
                                     "than the one it was called in") from None
                fetches.append(element.name)
                return {FETCH: len(fetches) - 1}
            return value

        skeleton = to_plain(_map(out, collect), name)
        init = tf1.global_variables_initializer().name if tf1.global_variables() else None
    data = graph.as_graph_def(add_shapes=True).SerializeToString()
    return {"graph": np.frombuffer(data, dtype=np.uint8).copy(), "inputs": inputs,
            "fetches": fetches, "skeleton": skeleton, "init": init}


def call_eager(ns: dict[str, Any], name: str, args: list, kwargs: dict) -> dict:
    """Call ``name`` eagerly with arrays as ``tf.constant``; returns value and tensor metadata."""
    tf = tensorflow()
    fn = resolve(ns, name)

    def constant(value: Any) -> Any:
        return tf.constant(value) if isinstance(value, np.ndarray) else value

    out = invoke(fn, name, *_map(list(args), constant), **_map(dict(kwargs), constant))
    is_tensor = isinstance(out, (tf.Tensor, tf.Variable))
    return {"value": to_plain(out, name), "tensor": is_tensor,
            "dtype": out.dtype.name if is_tensor else None}


MODES = {"plain": call_plain, "graph": call_graph, "eager": call_eager,
         "graph_def": call_graph_def}


def run_task(ns: dict[str, Any], assignment: str, name: str, kwargs: dict) -> Any:
    """Run a task of ``autograder.tasks.<assignment>``: a trusted driver around student code."""
    module = importlib.import_module(f"autograder.tasks.{assignment}")
    if name not in getattr(module, "TASKS", ()):
        raise CallFailed("missing", f"no task {name!r} for {assignment}")
    return to_plain(getattr(module, name)(ns, **kwargs), name)
