"""A student's load against the class: the reference graded beside a swarm, and alone.

Run from the repository root with the kit's Python, as root (the cgroups need it)::

    python benchmarks/swarm.py                         # losses, 7 references, 3 runs (~4 min)
    python benchmarks/swarm.py --cores 0               # the cgroups' weights only, no quota
    python benchmarks/swarm.py --no-cgroup             # no cgroup: the per-uid limit only

The swarm is the submission of issue 23: at import it starts ``--swarm`` busy processes (450:
bounded only by the process limit, 512), each in a session of its own (Linux's autogroup gives
each session a fair share of the CPU: 450 sessions take 450 shares), and every graded function
sleeps just under the call limit, so it earns 0 and takes as long as it is allowed to. In each
run:

1. *alone*: ``autograder batch`` (``--workers 2``) of ``--references`` copies of the reference
   solution (each its own student);
2. *beside*: the same batch with the swarm first: one grader takes the swarm, the other grades
   the references one after another while the swarm's processes run.

A reference's time is its gradebook row's ``seconds`` (the hidden suite's run, its worker
started ahead, as the batch does); only the references graded while the swarm was graded by
the other grader count. Printed: the medians over all runs, and their ratio (issue 23's target:
at most 2; before the cgroups, 87.5 s against 0.5 s, 180x).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWARM = '''
import os, time

for _ in range({count}):
    try:
        if os.fork() == 0:
            os.setsid()  # a session of its own: the kernel's autogroup no longer holds it
            while True:
                pass
    except OSError:
        break
'''


def graded_functions(assignment: str) -> list[str]:
    """The functions the stub leaves to the student (those that raise NotImplementedError)."""
    import nbformat

    stub = nbformat.read(ROOT / "assignments" / assignment / f"{assignment}.ipynb", 4)
    names = []
    for cell in stub.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        names += [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                  and "NotImplementedError" in ast.unparse(node)]
    return names


def swarm_source(assignment: str, count: int, nap: float) -> str:
    functions = "".join(f"\ndef {name}(*args, **kwargs):\n    time.sleep({nap})\n"
                        for name in graded_functions(assignment))
    return SWARM.format(count=count) + functions


def batch_rows(assignment: str, folder: Path, out: Path, limits) -> list[sqlite3.Row]:
    from rich.console import Console

    from autograder.batch import command

    command.main(assignment=assignment, folder=folder, out=out, workers=2, force=True,
                 limits=limits, console=Console(file=io.StringIO()))
    db = sqlite3.connect(out / "gradebook.sqlite")
    db.row_factory = sqlite3.Row
    rows = list(db.execute("SELECT * FROM grades WHERE assignment = ?", (assignment,)))
    db.close()
    return rows


def class_folder(root: Path, assignment: str, references: int, swarm: str | None) -> Path:
    folder = root / "class"
    reference = (ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_bytes()
    if swarm is not None:
        (folder / "a-swarm").mkdir(parents=True)
        (folder / "a-swarm" / f"{assignment}.py").write_text(swarm)
    for k in range(references):
        (folder / f"b-reference-{k}").mkdir(parents=True)
        (folder / f"b-reference-{k}" / f"{assignment}.ipynb").write_bytes(reference)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="losses")
    parser.add_argument("--references", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--swarm", type=int, default=450, help="busy processes the swarm starts")
    parser.add_argument("--cores", type=float, default=1.0, help="Limits.cpu_cores (0: no quota)")
    parser.add_argument("--no-cgroup", action="store_true",
                        help="no cgroup (AUTOGRADER_CGROUPS=0): the stricter per-uid limit only")
    parser.add_argument("--save", type=Path, default=None, help="write the numbers here (JSON)")
    args = parser.parse_args()
    if args.no_cgroup:
        os.environ["AUTOGRADER_CGROUPS"] = "0"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("AUTOGRADER_SECRET", "the swarm benchmark")
    from autograder.worker.limits import Limits

    # The swarm sleeps 2.5 s in every call (3 s allowed) and is stopped after 60 s in all.
    limits = Limits(call_timeout=3, load_timeout=30, wall_seconds=60, cpu_cores=args.cores)
    swarm = swarm_source(args.assignment, args.swarm, nap=2.5)
    alone: list[float] = []
    beside: list[float] = []
    swarm_scores = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="autograder-swarm-") as tmp:
            rows = batch_rows(args.assignment, class_folder(Path(tmp) / "1", args.assignment,
                                                            args.references, None),
                              Path(tmp) / "1" / "grades", limits)
            alone += [r["seconds"] for r in rows if r["student"].startswith("b-")]
            start = time.monotonic()
            rows = batch_rows(args.assignment, class_folder(Path(tmp) / "2", args.assignment,
                                                            args.references, swarm),
                              Path(tmp) / "2" / "grades", limits)
            [attacker] = [r for r in rows if r["student"] == "a-swarm"]
            swarm_scores.append(attacker["score"])
            beside += [r["seconds"] for r in rows if r["student"].startswith("b-")
                       and r["grader"] != attacker["grader"]]
            print(f"run {run + 1}: alone {statistics.median(alone):.2f} s, beside the swarm "
                  f"{statistics.median(beside):.2f} s (batch with the swarm: "
                  f"{time.monotonic() - start:.0f} s, the swarm scored {attacker['score']:g})",
                  flush=True)
    ratio = statistics.median(beside) / statistics.median(alone)
    print(f"{args.assignment}: the reference alone {statistics.median(alone):.2f} s (median of "
          f"{len(alone)}), beside a swarm of {args.swarm} busy processes "
          f"{statistics.median(beside):.2f} s (median of {len(beside)}): {ratio:.2f}x "
          f"({'no cgroup' if args.no_cgroup else f'cpu_cores={args.cores:g}'}, load average "
          f"{os.getloadavg()[0]:.1f})")
    if args.save is not None:
        args.save.write_text(json.dumps({"assignment": args.assignment, "alone": alone,
                                         "beside": beside, "ratio": ratio, "cores": args.cores,
                                         "cgroup": not args.no_cgroup,
                                         "swarm": args.swarm, "swarm_scores": swarm_scores},
                                        indent=1) + "\n")
    sys.exit(0 if ratio <= 2 else 1)


if __name__ == "__main__":
    main()
