"""The grading service under load, beside `autograder batch` on the same submissions.

Run from the repository root with the kit's Python (the `service` and `dev` extras)::

    python benchmarks/service.py                       # mlp_mnist, 40 submissions
    python benchmarks/service.py --assignment losses --single-runs 3

In one run, on the same notebooks (full solutions, solutions with one bug of the kit's own
tests, untouched stubs, 2 : 2 : 1, each with its own bytes):

1. ``autograder batch ASSIGNMENT FOLDER --workers N`` (N: the cores): throughput of the whole
   command, start to exit, as in ``batch_vs_nbgrader.py``, before the service and again after
   it (the mean of both is the baseline: the machine's load may change meanwhile);
2. ``autograder serve --workers N``, started once (its start-up is not counted: it runs for
   days), then checks from 1, 10 and 40 students at once, each student sending its notebooks one
   after the other: checks per minute of wall time, and the p50 and p95 latency of a check as the
   client sees it (request sent to answer read);
3. the idle service: one check at a time with a pause between, p50 of ``--single-runs``, beside
   one ``autograder grade`` of the reference (the whole command, median of ``--single-runs``),
   the two taking turns.

The service must give every submission the score the batch gave; the run fails otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from serve_util import Server, environment, issue_tokens, notebook  # noqa: E402

LEVELS = (1, 10, 40)
KINDS = ("solution", "bug", "stub", "solution", "bug")


def bugs(assignment: str) -> list[tuple[str, str]]:
    module = __import__(f"test_{assignment}")
    return [(old, new) for old, new, *_ in module.BUGS.values()]


def submissions(assignment: str, count: int, tag: str) -> dict[str, bytes]:
    """``{student: notebook bytes}``: every notebook's bytes differ (no answer from the record)."""
    known = bugs(assignment)
    out = {}
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        how: dict = {"stub": True} if kind == "stub" else {}
        if kind == "bug":
            how["replace"] = (known[i % len(known)],)
        out[f"s{i:03d}"] = notebook(assignment, **how, variant=f"{tag} {i}")
    return out


def batch(assignment: str, notebooks: dict[str, bytes], folder: Path,
          workers: int) -> tuple[float, dict[str, float]]:
    """Seconds of `autograder batch` (whole command) and its scores."""
    flat = folder / "class"
    flat.mkdir(parents=True)
    for student, data in notebooks.items():
        (flat / f"{student}.ipynb").write_bytes(data)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "autograder", "batch", assignment, str(flat), "--out",
                    str(folder / "grades"), "--workers", str(workers)], cwd=ROOT,
                   env=environment(), check=True, capture_output=True)
    wall = time.monotonic() - started
    db = sqlite3.connect(folder / "grades" / "gradebook.sqlite")
    scores = dict(db.execute("SELECT student, score FROM grades"))
    db.close()
    return wall, scores


def one_grade(assignment: str, folder: Path) -> float:
    path = folder / f"{assignment}.ipynb"
    path.write_bytes(notebook(assignment))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(path)], cwd=ROOT,
                   env=environment(), check=True, capture_output=True)
    return time.monotonic() - started


def timed_check(server: Server, token: str, data: bytes) -> tuple[float, float]:
    started = time.monotonic()
    status, _, body = server.check(token, data, timeout=600)
    if status != 200:
        raise RuntimeError(f"the service answered {status}: {body}")
    return time.monotonic() - started, body["score"]


def load(server: Server, tokens: dict[str, str], students: int,
         notebooks: dict[str, bytes]) -> tuple[float, list[float], dict[str, float]]:
    """``students`` at once share out ``notebooks``; each sends its share one after another.
    Wall seconds, each check's latency, and the scores by the notebook's student."""
    names = list(notebooks)
    shares = [names[i::students] for i in range(students)]
    who = sorted(tokens)[:students]

    def student(index: int) -> list[tuple[str, float, float]]:
        return [(name, *timed_check(server, tokens[who[index]], notebooks[name]))
                for name in shares[index]]

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(students) as pool:
        done = [item for items in pool.map(student, range(students)) for item in items]
    return time.monotonic() - started, [d[1] for d in done], {d[0]: d[2] for d in done}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="mlp_mnist")
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--single-runs", type=int, default=5)
    parser.add_argument("--save", type=Path, default=None, help="Write the figures here as JSON.")
    args = parser.parse_args()
    a, n = args.assignment, args.submissions
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; {a}; "
          f"{n} submissions; --workers {args.workers}", flush=True)
    figures: dict = {"assignment": a, "submissions": n, "workers": args.workers}
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        folder = Path(tmp)
        class_ = submissions(a, n, "batch")
        batches = []
        wall, batch_scores = batch(a, class_, folder / "batch1", args.workers)
        batches.append(n / wall * 60)
        print(f"autograder batch: {n} in {wall:.1f} s = {batches[-1]:.1f}/min", flush=True)

        db = folder / "service.sqlite"
        tokens = issue_tokens(db, [f"u{i:03d}" for i in range(max(LEVELS))], folder)
        server = Server(db, "--workers", str(args.workers), "--rate", "100000/hour",
                        "--assignment", a, timeout=600)
        idle, singles = [], []
        try:
            timed_check(server, tokens["u000"], notebook(a, variant="warm-up"))
            for level in LEVELS:
                sent = {s: notebook_with(data, f"level {level}") for s, data in class_.items()}
                wall, latencies, scores = load(server, tokens, level, sent)
                wrong = {s: (scores[s], batch_scores.get(s)) for s in scores
                         if scores[s] != batch_scores.get(s)}
                if wrong:
                    raise RuntimeError(f"the service and the batch disagree (service, batch): {wrong}")
                figures[f"students_{level}"] = {
                    "wall": wall, "per_minute": n / wall * 60, "latencies": latencies,
                    "p50": statistics.median(latencies), "p95": percentile(latencies, 0.95)}
                print(f"service, {level:2d} students: {n} in {wall:.1f} s = "
                      f"{n / wall * 60:.1f}/min, p50 {statistics.median(latencies):.2f} s, "
                      f"p95 {percentile(latencies, 0.95):.2f} s", flush=True)
            for i in range(args.single_runs):  # alternately, so that both see the same load
                time.sleep(2.0)
                idle.append(timed_check(server, tokens["u001"], notebook(a, variant=f"idle {i}"))[0])
                singles.append(one_grade(a, folder))
        finally:
            server.stop()
        wall, _ = batch(a, class_, folder / "batch2", args.workers)
        batches.append(n / wall * 60)
        print(f"autograder batch again: {n} in {wall:.1f} s = {batches[-1]:.1f}/min", flush=True)
    figures["batch"] = {"per_minute": statistics.mean(batches), "runs": batches}
    figures["idle"] = {"latencies": idle, "p50": statistics.median(idle)}
    figures["grade"] = {"walls": singles, "median": statistics.median(singles)}
    base = figures["batch"]["per_minute"]
    print(f"\n{'':<32} {'checks/min':>10} {'vs batch':>9} {'p50':>7} {'p95':>7}")
    print(f"{'autograder batch (baseline)':<32} {base:10.1f} {1:9.2f}   (mean of the runs "
          f"before and after: {', '.join(f'{b:.1f}' for b in batches)})")
    for level in LEVELS:
        f = figures[f"students_{level}"]
        print(f"{f'service, {level} students at once':<32} {f['per_minute']:10.1f} "
              f"{f['per_minute'] / base:9.2f} {f['p50']:6.2f}s {f['p95']:6.2f}s")
    ratio = figures["idle"]["p50"] / figures["grade"]["median"]
    print(f"\nidle service, one check: p50 {figures['idle']['p50']:.2f} s; one `autograder grade`: "
          f"{figures['grade']['median']:.2f} s (medians of {args.single_runs}): {ratio:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.save:
        args.save.write_text(json.dumps(figures, indent=1) + "\n")


def notebook_with(data: bytes, tag: str) -> bytes:
    """The same notebook with other bytes (a markdown cell more): no answer from the record."""
    nb = json.loads(data)
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": tag, "id": "tag"})
    return json.dumps(nb, indent=1).encode("utf-8")


if __name__ == "__main__":
    main()
