"""Grade one class of mlp_mnist notebooks with `autograder batch` and with `nbgrader autograde`.

Run from the repository root with the kit's Python (nbgrader and psutil installed)::

    python benchmarks/batch_vs_nbgrader.py                  # 20 submissions, 1 run
    python benchmarks/batch_vs_nbgrader.py --runs 3         # the median of 3 runs
    python benchmarks/batch_vs_nbgrader.py --submissions 6 --no-plain-nbgrader   # quick look

Each run builds a fresh copy of the course (``course/``) with the same submissions (full
solutions, one-bug solutions, stubs) and grades them with each of these, one after the other in
the same run (the kit first in odd runs, last in even ones, so that a change in the machine's
load spreads evenly):

1. ``autograder batch mlp_mnist COURSE --workers N`` (default N: the number of cores);
2. ``nbgrader autograde mlp_mnist`` with the course's own configuration, which runs each
   notebook in a kernel and then grades it with the hidden suite (``autograder grade``);
3. unless ``--no-plain-nbgrader``: ``nbgrader autograde`` with nbgrader's default pipeline in a
   minimal course of its own. It only runs the notebooks (the hidden tests cannot run there, so
   its grades mean nothing): the least any nbgrader set-up has to do per notebook.

It checks that the kit and the course's nbgrader give every student the same score, and prints
for each: the median latency per submission (kit: from the moment a grader starts on the
submission, whose worker was started ahead, until its result is recorded; nbgrader: from its
first log line about the student to the next student's), the throughput (submissions per minute
of wall time), the peak memory per worker (PSS of the whole process tree divided by the
submissions graded at once), the CPU seconds per submission (all processes of the tree: unlike
the throughput, it hardly depends on what else the machine runs) and the kit's throughput as a
multiple of that one. Then the floor of a single grade: a fresh Python importing TensorFlow plus
the reference solution's own training run, next to ``autograder grade`` of the reference notebook.
Every figure is the median over ``--runs`` (those of one grade and the floor: over
``--single-runs``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import classroom
import measure
import plot

ROOT = classroom.ROOT
A = classroom.A
PLAIN_CONFIG = 'c = get_config()  # noqa: F821\nc.CourseDirectory.course_id = "bench"\n'
# The floor of one grade: a fresh Python importing TensorFlow and, for mlp_mnist, the lecture's
# run of the reference network (reading MNIST, 500 Adam steps at the grade's settings): the run a
# grade of mlp_mnist includes, counted on both sides.
FLOOR = """
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"; os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
start, cpu_start = time.monotonic(), time.process_time()
import tensorflow
imported, cpu_imported = time.monotonic(), time.process_time()
begin, cpu_begin = time.monotonic(), time.process_time()
if sys.argv[1] == "mlp_mnist":
    from autograder.suites.mlp_mnist import extras
    extras.train_reference()
cpu = (cpu_imported - cpu_start) + (time.process_time() - cpu_begin)
print("FLOOR", imported - start, time.monotonic() - begin, cpu)
"""

def env(template: bool = True) -> dict[str, str]:
    """The commands' environment; ``template=False`` starts every worker afresh (the kit before
    the warm template: each worker imports TensorFlow), the baseline measured in the same run."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0",
                AUTOGRADER_TEMPLATE="1" if template else "0")


def kit(course: Path, out: Path, workers: int, template: bool = True) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    run = measure.run([str(Path(sys.executable).parent / "autograder"), "batch", A, str(course),
                       "--out", str(out), "--workers", str(workers)], cwd=course.parent,
                      env=env(template))
    if run.returncode != 0:
        raise RuntimeError(f"autograder batch failed:\n{run.text()[-3000:]}")
    db = sqlite3.connect(out / "gradebook.sqlite")
    rows = list(db.execute("SELECT student, score, seconds, status FROM grades"))
    db.close()
    assert all(status == "graded" for *_, status in rows), rows
    return {"wall": run.wall, "cpu": run.cpu, "latencies": [r[2] for r in rows], "n": len(rows),
            "memory": run.peak_tree_mb / workers, "scores": {r[0]: r[1] for r in rows}}


def nbgrader(course: Path) -> dict:
    run = measure.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", A],
                      cwd=course, env=env())
    if run.returncode != 0:
        raise RuntimeError(f"nbgrader autograde failed:\n{run.text()[-3000:]}")
    starts: dict[str, float] = {}
    for at, line in run.lines:
        for match in re.finditer(r"submitted/(s\d{3})/|student with ID '(s\d{3})'", line):
            starts.setdefault(match[1] or match[2], at)
    order = [*sorted(starts.values()), run.wall]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission(A, s).score for s in starts}
    return {"wall": run.wall, "cpu": run.cpu,
            "latencies": [b - a for a, b in itertools.pairwise(order)],
            "n": len(starts), "memory": run.peak_tree_mb, "scores": scores}


def single_grade(template: bool) -> measure.Run:
    reference_nb = ROOT / "solutions" / A / f"{A}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        grade = measure.run([str(Path(sys.executable).parent / "autograder"), "grade", A,
                             str(reference_nb), "--json", f"{tmp}/r.json"], cwd=ROOT,
                            env=env(template))
        score = json.loads(Path(f"{tmp}/r.json").read_text())["score"]
    assert score == 20, f"the reference of {A} earned {score}"
    return grade


def floor_and_single(runs: int) -> dict:
    """The floor (wall and CPU, inside one process) and `autograder grade` of the reference,
    with the template and without (the whole command's wall time and its tree's CPU)."""
    figures: dict[str, list[float]] = {k: [] for k in (
        "import", "train", "floor", "floor_cpu", "single", "single_cpu", "cold", "cold_cpu")}
    for i in range(runs):
        run = measure.run([sys.executable, "-c", FLOOR, A], cwd=ROOT, env=env())
        line = next(text for _, text in run.lines if text.startswith("FLOOR"))
        imported, trained, cpu = (float(v) for v in line.split()[1:])
        figures["import"].append(imported)
        figures["train"].append(trained)
        figures["floor"].append(imported + trained)
        figures["floor_cpu"].append(cpu)
        for template in ((True, False) if i % 2 == 0 else (False, True)):
            grade = single_grade(template)
            key = "single" if template else "cold"
            figures[key].append(grade.wall)
            figures[f"{key}_cpu"].append(grade.cpu)
    return {k: statistics.median(v) for k, v in figures.items()}


def one_run(n: int, workers: int, plain: bool, keep: Path, kit_first: bool) -> dict:
    course = classroom.new_course(keep / "course", assignment=A)
    notebooks = classroom.submissions(course / "release" / A / f"{A}.ipynb", n, assignment=A)
    classroom.submit(course, notebooks, assignment=A)
    result: dict = {}
    if kit_first:
        result["kit"] = kit(course, keep / "grades", workers)
        result["kit_cold"] = kit(course, keep / "grades", workers, template=False)
    result["nbgrader"] = nbgrader(course)
    if not kit_first:
        result["kit_cold"] = kit(course, keep / "grades", workers, template=False)
        result["kit"] = kit(course, keep / "grades", workers)
    for other in ("nbgrader", "kit_cold"):
        mismatched = {s: (result["kit"]["scores"].get(s), result[other]["scores"].get(s))
                      for s in notebooks
                      if result["kit"]["scores"].get(s) != result[other]["scores"].get(s)}
        if mismatched:
            raise RuntimeError(f"kit and {other} disagree (kit, {other}): {mismatched}")
    if plain:
        other = classroom.new_course(keep / "plain", config=PLAIN_CONFIG, assignment=A)
        classroom.submit(other, notebooks, assignment=A)
        result["plain"] = nbgrader(other)
    return result


def summarise(name: str, runs: list[dict], kit_runs: list[dict]) -> str:
    latency = statistics.median(statistics.median(r["latencies"]) for r in runs)
    throughput = statistics.median(r["n"] / r["wall"] * 60 for r in runs)
    memory = statistics.median(r["memory"] for r in runs)
    cpu = statistics.median(r["cpu"] / r["n"] for r in runs)
    ratio = statistics.median(k["n"] / k["wall"] / (r["n"] / r["wall"])
                              for k, r in zip(kit_runs, runs, strict=True))
    return (f"{name:<40} {latency:6.1f} s {throughput:7.2f}/min {memory:7.0f} MB {cpu:6.1f} s"
            f"   kit: {ratio:4.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default=classroom.A,
                        help="The assignment whose class is graded [default: mlp_mnist].")
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--single-runs", type=int, default=5,
                        help="Runs of the floor and of one grade, with and without the template "
                             "(medians; one grade varies by a tenth of the floor between runs).")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-plain-nbgrader", dest="plain", action="store_false")
    parser.add_argument("--keep", type=Path, default=None,
                        help="Keep the courses and gradebooks under this folder.")
    parser.add_argument("--save", type=Path, default=None,
                        help="Write every run's figures here as JSON (for benchmarks/plot.py).")
    parser.add_argument("--plot", type=Path, default=None,
                        help="Draw throughput, latencies and the floor into this PNG.")
    args = parser.parse_args()
    global A
    A = args.assignment
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"{os.cpu_count()} cores; {args.submissions} submissions; --workers {args.workers}")
    runs = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            keep = args.keep / f"run{i}" if args.keep else Path(tmp)
            started = time.monotonic()
            # who goes first alternates, so that a change in the machine's load spreads evenly
            runs.append(one_run(args.submissions, args.workers, args.plain, keep,
                                kit_first=i % 2 == 0))
            rates = ", ".join(f"{name} {r['n'] / r['wall'] * 60:.2f}/min"
                              for name, r in runs[-1].items())
            load = os.getloadavg()[0]
            print(f"run {i + 1}/{args.runs}: {time.monotonic() - started:.0f} s, load {load:.2f}; "
                  f"{rates}; kit and nbgrader agree on every score", flush=True)
    floor = floor_and_single(args.single_runs)
    kits = [r["kit"] for r in runs]
    print(f"\n{'':<40} {'latency':>8} {'throughput':>11} {'mem/worker':>10} {'CPU/sub':>8}")
    print(summarise(f"autograder batch --workers {args.workers}", kits, kits))
    print(summarise("  the same, no template (before)", [r["kit_cold"] for r in runs], kits))
    print(summarise("nbgrader autograde (course)", [r["nbgrader"] for r in runs], kits))
    if args.plain:
        print(summarise("nbgrader autograde (default, no grade)", [r["plain"] for r in runs], kits))
    trained = "the lecture's run of the reference" if A == "mlp_mnist" else "no training"
    print(f"\n{A}: floor: import TensorFlow {floor['import']:.1f} s + {trained} "
          f"{floor['train']:.1f} s = {floor['floor']:.1f} s (CPU {floor['floor_cpu']:.1f} s)")
    for key, name in (("single", "with the template"), ("cold", "no template (before)")):
        print(f"single `autograder grade` of the reference, {name}: {floor[key]:.1f} s = "
              f"{floor[key] / floor['floor']:.2f}x the floor; CPU {floor[key + '_cpu']:.1f} s = "
              f"{floor[key + '_cpu'] / floor['floor_cpu']:.2f}x the floor's")
    figures = {"workers": args.workers, "cores": os.cpu_count(), "runs": runs, "floor": floor}
    if args.save:
        args.save.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"figures saved to {args.save}")
    if args.plot:
        plot.draw(figures, args.plot)
        print(f"plot drawn in {args.plot}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
