"""Resource limits for the worker, applied as rlimits just before the server starts.

One place for every limit on a submission, with the defaults that fit ``mlp_mnist`` with room to
spare (measured: the worker peaks at about 1.7 GB of address space, 6 threads and 8 s of CPU
for loading and training; see docs/threat-model.md). Timeouts are enforced by the grader, the others by the
kernel.
"""

from __future__ import annotations

import resource
from dataclasses import asdict, dataclass, field, fields
from typing import Any

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Limits on one submission's worker; the defaults fit ``mlp_mnist`` with room to spare."""

    call_timeout: float = field(default=60.0, metadata={"help": "wall seconds per function call"})
    task_timeout: float = field(default=300.0, metadata={"help": "wall seconds per training task"})
    load_timeout: float = field(default=120.0, metadata={"help": "wall seconds to run the cells"})
    cpu_seconds: int = field(default=1800, metadata={"help": "CPU seconds for the whole worker"})
    memory_bytes: int = field(default=4 * GIB, metadata={"help": "address space per process"})
    processes: int = field(default=512,
                           metadata={"help": "processes and threads the worker may run at once"})
    cpu_cores: float = field(default=1.0, metadata={
        "help": "cores the worker's processes may use together (a cgroup's quota; 0: a fair "
                "share only)"})
    wall_seconds: float = field(default=900.0, metadata={
        "help": "wall seconds for the whole submission: its workers are killed at this budget"})
    file_bytes: int = field(default=64 * MIB, metadata={"help": "largest file the worker writes"})
    disk_bytes: int = field(default=256 * MIB,
                            metadata={"help": "size of the worker's home and of its /tmp"})
    output_bytes: int = field(default=256 * 1024, metadata={"help": "printed output kept"})
    reply_bytes: int = field(default=64 * MIB,
                             metadata={"help": "largest result the grader accepts from a call"})
    isolate: bool = field(default=True, metadata={
        "help": "run the worker in its sandbox (whatever the system allows; see "
                "docs/threat-model.md); False leaves it out, which the floor then refuses as "
                "root or wherever the worker could read the answers"})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def apply(limits: Limits, nproc_base: int = 0, processes: int | None = None) -> None:
    """Set the rlimits in the current process (the worker, just before it starts the server).

    ``nproc_base`` is how many processes the worker's user runs already: the kernel counts them
    all against RLIMIT_NPROC, so a worker that shares the grader's user needs that much more.
    CPU time gets a soft limit (SIGXCPU, reported as such) and a hard one 5 s later (SIGKILL).
    ``processes`` replaces ``limits.processes`` (a stricter one where no cgroup bounds them).
    """
    processes = limits.processes if processes is None else processes
    for which, soft, hard in (
        (resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 5),
        (resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (resource.RLIMIT_NPROC, nproc_base + processes, nproc_base + processes),
        (resource.RLIMIT_FSIZE, limits.file_bytes, limits.file_bytes),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:  # only a privileged process may raise a limit
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(which, (soft, hard))
