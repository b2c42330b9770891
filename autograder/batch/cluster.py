"""The same batch on a Dask cluster (``dask.distributed``), given its scheduler's address.

Each Dask worker process plays the part of a grader: it keeps TensorFlow, the reference and MNIST
from one submission to the next, and starts a fresh student worker for every submission. A Dask
worker with two threads grades one submission at a time (the lock below) while its second thread
already starts the next submission's student worker, the same overlap as on this machine::

    dask scheduler                                      # somewhere the graders can reach
    dask worker tcp://HOST:8786 --nworkers 8 --nthreads 2 --memory-limit 0
    autograder batch mlp_mnist submitted/ --dask tcp://HOST:8786

Jobs carry the submissions' code, so the cluster's machines need the kit installed (the same
version) and MNIST in their cache (``autograder data``), but no access to the submissions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from autograder.batch.jobs import Job, Outcome, Prepared, failed, grade_prepared

_ONE_AT_A_TIME = threading.Lock()  # pytest and the suites are not thread-safe
CONNECT_TIMEOUT = "20s"  # how long to try reaching the scheduler


class ClusterError(RuntimeError):
    """The cluster cannot be used; the message is one line."""


def grade_on_worker(job: Job) -> Outcome:
    """Run on a Dask worker: start the student's worker now, grade when the grader is free."""
    prepared = Prepared(job)
    with _ONE_AT_A_TIME:
        return grade_prepared(prepared)


def connect(address: str) -> Any:
    """A client of the Dask scheduler at ``address``; raises :class:`ClusterError`."""
    try:
        from distributed import Client
    except ImportError:
        raise ClusterError("--dask needs dask.distributed: pip install 'nn-tf-autograder[cluster]'") \
            from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def run(jobs: list[Job], *, client: Any, on_result: Callable[[Outcome], None]) -> None:
    """Grade ``jobs`` on the client's cluster, calling ``on_result`` as each finishes."""
    from distributed import as_completed

    futures = {client.submit(grade_on_worker, job, pure=False): job for job in jobs}
    try:
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # e.g. the Dask worker died (KilledWorker)
                outcome = failed(job, f"the Dask cluster could not grade it: "
                                 f"{type(exc).__name__}: {exc}")
            on_result(outcome)
    finally:
        client.cancel(list(futures))
