"""Resource limits for the worker, applied in the child between fork and exec."""

from __future__ import annotations

import resource
from dataclasses import dataclass, field

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Limits on one submission's worker; the defaults fit ``mlp_mnist`` with room to spare."""

    call_timeout: float = field(default=60.0, metadata={"help": "wall seconds per function call"})
    task_timeout: float = field(default=300.0, metadata={"help": "wall seconds per training task"})
    load_timeout: float = field(default=120.0, metadata={"help": "wall seconds to run the cells"})
    cpu_seconds: int = field(default=1800, metadata={"help": "CPU seconds for the whole worker"})
    memory_bytes: int = field(default=6 * GIB, metadata={"help": "address space of the worker"})
    processes: int = field(default=1024, metadata={"help": "processes of the worker's user"})
    file_bytes: int = field(default=64 * MIB, metadata={"help": "largest file the worker writes"})
    output_bytes: int = field(default=256 * 1024, metadata={"help": "printed output kept"})


def apply(limits: Limits) -> None:
    """Set rlimits in the current process (called in the worker before exec)."""
    for which, value in (
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(which, (value, value))
