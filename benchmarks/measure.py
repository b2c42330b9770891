"""Measuring a command: wall time, when each line of its output appeared, and peak memory.

CPU time is summed over the processes of the tree as last sampled (a process's final 0.2 s may
be missed). Memory is the proportional set size (PSS, from ``/proc/<pid>/smaps_rollup``) summed over the
command's process tree, sampled every 0.2 s: shared pages (TensorFlow's libraries) are split
between the processes that map them instead of being counted once per process. Where PSS cannot
be read, the resident set size is used.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

INTERVAL = 0.2


def _pss_mb(process: psutil.Process) -> float:
    try:
        text = Path(f"/proc/{process.pid}/smaps_rollup").read_text()
        return next(int(line.split()[1]) for line in text.splitlines()
                    if line.startswith("Pss:")) / 1024
    except (OSError, StopIteration, ValueError):
        try:
            return process.memory_info().rss / 2**20
        except psutil.Error:
            return 0.0


@dataclass
class Run:
    wall: float = 0.0
    returncode: int = 0
    lines: list[tuple[float, str]] = field(default_factory=list)  # seconds since start, text
    peak_tree_mb: float = 0.0
    peak_process_mb: float = 0.0
    cpu: float = 0.0  # user + system seconds of every process of the tree

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


def run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 7200) -> Run:
    """Run ``command`` to its end, timestamping its output lines and sampling its memory."""
    result = Run()
    start = time.monotonic()
    cpu: dict[tuple[int, float], float] = {}  # (pid, start time) -> its CPU seconds, last seen
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            result.lines.append((time.monotonic() - start, line.rstrip("\n")))

    def sample() -> None:
        root = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            sizes = [_pss_mb(p) for p in tree]
            for p in tree:
                try:
                    times = p.cpu_times()
                    cpu[(p.pid, p.create_time())] = times.user + times.system
                except psutil.Error:
                    pass
            result.peak_tree_mb = max(result.peak_tree_mb, sum(sizes))
            result.peak_process_mb = max(result.peak_process_mb, max(sizes, default=0.0))
            done.wait(INTERVAL)

    threads = [threading.Thread(target=read, daemon=True),
               threading.Thread(target=sample, daemon=True)]
    for thread in threads:
        thread.start()
    try:
        result.returncode = proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        result.wall = time.monotonic() - start
        done.set()
        for thread in threads:
            thread.join(timeout=10)
        result.cpu = sum(cpu.values())
    return result
