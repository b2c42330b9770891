"""Submissions for the batch tests: cheap ones that still exercise every outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from util import mutate, solution_source

A = "mlp_mnist"
# train raises at its first step: the build_* functions and predict earn their 12 points in seconds
PARTIAL_POINTS = 12.0  # train unfinished: its 5 points and the lecture's run (3), and only those
STUB = ('def build_model(x, weights, biases):\n'
        '    raise NotImplementedError("build_model is not implemented yet")\n')


def partial_source() -> str:
    return mutate(solution_source(A), "sess.run(train_op, feed_dict={x: batch_x, y: batch_y})",
                  'raise NotImplementedError("train is not implemented yet")')


def write_class(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if name.endswith("/"):
            (folder / name).mkdir()
        else:
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def graded_tests(out: Path, student: str) -> list[tuple[Any, ...]]:
    """(id, score, status, output) of each test in a student's results.json."""
    results = json.loads((out / A / student / "results.json").read_text(encoding="utf-8"))
    return [(t["extra_data"]["id"], t["score"], t["status"], t["output"]) for t in results["tests"]]


def result_tests(result: Any) -> list[tuple[Any, ...]]:
    return [(t.id, t.score, t.status, t.output) for t in result.tests]
