"""Whole mlp_mnist submissions (training included) in a batch: the same grades as alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_util import A, graded_tests, result_tests, write_class
from test_mlp_mnist import BUGS
from util import ROOT, mutate, solution_source

from autograder.batch import command
from autograder.grading.run import grade

pytestmark = pytest.mark.slow


def test_trained_submissions_get_the_same_grade_in_parallel_and_alone(tmp_path: Path):
    buggy = mutate(solution_source(A), *BUGS["loss summed instead of averaged"][:2])
    folder = write_class(tmp_path / "flat", {"alice.py": buggy, "bob.py": buggy})
    (folder / "carol.ipynb").write_bytes((ROOT / "solutions" / A / f"{A}.ipynb").read_bytes())
    out = tmp_path / "grades"
    summary = command.main(assignment=A, folder=folder, out=out, workers=2)
    assert (summary.graded, summary.failed) == (3, 0), summary.describe()
    carol = graded_tests(out, "carol")
    assert sum(t[1] for t in carol) == 20, carol
    alone = result_tests(grade(assignment=A, submission=folder / "alice.py"))
    assert graded_tests(out, "alice") == graded_tests(out, "bob") == alone
    assert {t[0] for t in alone if t[2] != "passed"} == BUGS["loss summed instead of averaged"][2]
