"""The same batch on a Dask cluster: a local multi-process cluster bound to the loopback address."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from batch_util import PARTIAL_POINTS, STUB, A, graded_tests, partial_source, result_tests, write_class

from autograder.batch import cluster, command
from autograder.grading.run import grade

distributed = pytest.importorskip("distributed")


def test_batch_on_a_local_dask_cluster_matches_grading_alone(tmp_path: Path):
    folder = write_class(tmp_path / "flat", {"alice.py": partial_source(), "bob.py": partial_source(),
                                             "carol.py": STUB, "dave.ipynb": "{not json"})
    out = tmp_path / "grades"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        summary = command.main(assignment=A, folder=folder, out=out, dask=cluster.scheduler_address)
    assert (summary.graded, summary.invalid, summary.failed) == (3, 1, 0), summary.describe()
    db = sqlite3.connect(out / "gradebook.sqlite")
    scores = dict(db.execute("SELECT student, score FROM grades"))
    graders = {g for (g,) in db.execute("SELECT grader FROM grades WHERE status = 'graded'")}
    db.close()
    assert scores == {"alice": PARTIAL_POINTS, "bob": PARTIAL_POINTS, "carol": 0, "dave": 0}
    assert all(":" in g for g in graders)  # host:pid of a Dask worker process, not of this one
    alone = grade(assignment=A, submission=folder / "alice.py")
    assert graded_tests(out, "alice") == graded_tests(out, "bob") == result_tests(alone)


def test_unreachable_scheduler_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "2s")
    folder = write_class(tmp_path / "flat", {"carol.py": STUB})
    with pytest.raises(command.BatchError) as raised:
        command.main(assignment=A, folder=folder, out=tmp_path / "grades", dask="tcp://127.0.0.1:9")
    message = str(raised.value)
    assert message.startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:9: ")
    assert "\n" not in message
