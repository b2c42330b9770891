"""A student's graph function, called in the worker and run by the evaluator.

``student.call(name, *args, mode="graph")`` keeps the answer suites have always had (``{"value",
"tensor", "dtype", "static_shape", "shape", "ops"}``), but now nothing of it is the worker's word:

1. each array argument is replaced by its dtype and shape; the worker makes a placeholder of that
   dtype and shape for it (named ``input_<k>`` in the order of the arguments), calls the
   function, and sends back the graph (its ``GraphDef``), the placeholders' names, the names of
   the tensors the function returned and an initialiser of its variables, if it made any;
2. the evaluator checks the graph against its allow-list, feeds the arrays, and runs it;
3. the values, dtypes, static shapes and op types are the evaluator's.

The worker never sees the inputs, so no code of the submission can compute what a tensor should
hold and hand it back: only a graph that computes it from its placeholders gets it right.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.grading.evaluator import Evaluator
from autograder.grading.process import StudentError, Worker

SPEC = "__placeholder__"
FETCH = "__fetch__"


def specs(value: Any, arrays: list[np.ndarray]) -> Any:
    """``value`` with each array replaced by ``{SPEC: [dtype, shape]}``; the arrays in order."""
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {SPEC: [value.dtype.name, list(value.shape)]}
    if isinstance(value, (list, tuple)):
        return type(value)(specs(v, arrays) for v in value)
    if isinstance(value, dict):
        return {k: specs(v, arrays) for k, v in value.items()}
    return value


def _fill(skeleton: Any, values: list[Any]) -> Any:
    if isinstance(skeleton, dict) and set(skeleton) == {FETCH} and type(skeleton[FETCH]) is int:
        index = skeleton[FETCH]
        if not 0 <= index < len(values):
            raise StudentError("bad_return", "the graph's outputs do not fit what was run")
        return values[index]
    if isinstance(skeleton, (list, tuple)):
        return type(skeleton)(_fill(s, values) for s in skeleton)
    if isinstance(skeleton, dict):
        return {k: _fill(v, values) for k, v in skeleton.items()}
    return skeleton


def _checked(built: Any, inputs: int) -> dict[str, Any]:
    ok = (isinstance(built, dict) and isinstance(built.get("graph"), np.ndarray)
          and built["graph"].dtype == np.uint8 and isinstance(built.get("inputs"), list)
          and isinstance(built.get("fetches"), list)
          and all(isinstance(n, str) for n in [*built["inputs"], *built["fetches"]])
          and (built.get("init") is None or isinstance(built.get("init"), str)))
    if not ok or len(built["inputs"]) != inputs:
        raise StudentError("bad_return", "building the graph sent back an unusable description")
    return built


def graph_call(worker: Worker, evaluator: Evaluator, name: str, args: list[Any],
               kwargs: dict[str, Any], timeout: float) -> dict[str, Any]:
    """``name(*args, **kwargs)`` built by the worker, run by the evaluator; see the module."""
    arrays: list[np.ndarray] = []
    spec_args, spec_kwargs = specs(args, arrays), specs(kwargs, arrays)
    built = _checked(worker.request({"op": "call", "mode": "graph_def", "name": name,
                                     "args": spec_args, "kwargs": spec_kwargs}, timeout,
                                    what=f"calling {name}"), len(arrays))
    try:
        answer = evaluator.evaluate(graph=built["graph"], feeds=dict(zip(built["inputs"], arrays,
                                                                         strict=True)),
                                    fetches=built["fetches"], init=built.get("init"))
    except StudentError as exc:  # the evaluator speaks of "the graph": it was this function's
        raise StudentError(exc.kind, str(exc).replace("the graph returned", f"{name} returned",
                                                      1)) from None
    skeleton = built.get("skeleton")
    value = _fill(skeleton, answer["values"])
    single = isinstance(skeleton, dict) and set(skeleton) == {FETCH}
    facts = answer["facts"][skeleton[FETCH]] if single else {}
    tensor = single and facts.get("dtype") is not None
    return {"value": value, "tensor": tensor, "dtype": facts.get("dtype") if tensor else None,
            "static_shape": facts.get("static_shape") if tensor else None,
            "shape": list(np.shape(value)) if not isinstance(value, (dict, list, tuple)) else None,
            "ops": list(answer.get("ops", []))}
