"""What Gradescope must give the package: time, CPU and memory of ``run_autograder``.

    .venv/bin/python benchmarks/gradescope_run.py                # 3 runs each, mlp_mnist
    .venv/bin/python benchmarks/gradescope_run.py --runs 5 --assignment losses

Builds the package with ``autograder export gradescope``, unpacks it as Gradescope does, and runs
``run_autograder`` on the reference solution with this virtualenv standing in for the image's (the
same wheels): on all cores and pinned to one (``taskset -c 0``). In the same run, the baseline is
``autograder grade`` of the same notebook (no leaderboard, no package). Prints medians of the wall
time, the CPU seconds of the whole process tree, and the peak summed PSS of the tree (what a
container's memory limit is charged with, shared library pages counted once), and the ratios to
the baseline. Gradescope's default machine is 0.5 CPU and 768 MB: at half a CPU the wall time is
about the CPU seconds divided by 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import Run, run

from autograder.export.gradescope import unpack

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def summary(name: str, runs: list[Run], base: list[Run] | None = None) -> str:
    wall = statistics.median(r.wall for r in runs)
    cpu = statistics.median(r.cpu for r in runs)
    mem = statistics.median(r.peak_tree_mb for r in runs)
    text = f"{name:<34} wall {wall:6.1f} s   CPU {cpu:6.1f} s   peak PSS {mem:6.0f} MB"
    if base:
        text += (f"   ({wall / statistics.median(r.wall for r in base):.2f}x wall, "
                 f"{cpu / statistics.median(r.cpu for r in base):.2f}x CPU)")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="mlp_mnist")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    a = args.assignment
    notebook = ROOT / "solutions" / a / f"{a}.ipynb"
    with tempfile.TemporaryDirectory(prefix="gradescope-bench-") as tmp:
        root = Path(tmp) / "autograder"
        package = Path(tmp) / "autograder.zip"
        subprocess.run([str(BIN / "autograder"), "export", "gradescope", a, "-o", str(package)],
                       check=True, capture_output=True)
        print(f"package: {package.stat().st_size / 1e6:.1f} MB", flush=True)
        unpack(package, root)
        (root / "submission").mkdir()
        shutil.copy(notebook, root / "submission" / notebook.name)
        env = {**os.environ, "AUTOGRADER_GRADESCOPE_ROOT": str(root), "AUTOGRADER_VENV": sys.prefix,
               "AUTOGRADER_MNIST_DIR": str(subprocess.run(
                   [str(BIN / "autograder"), "data"], check=True, capture_output=True,
                   text=True).stdout.rsplit(" in ", 1)[-1].strip())}
        results: dict[str, list[Run]] = {"baseline": [], "all": [], "one": []}
        commands = {
            "baseline": [str(BIN / "autograder"), "grade", a, str(notebook)],
            "all": [str(root / "run_autograder")],
            "one": ["taskset", "-c", "0", str(root / "run_autograder")],
        }
        if shutil.which("taskset") is None:
            del commands["one"], results["one"]
        for i in range(args.runs):
            for kind, command in commands.items():
                done = run(command, cwd=root, env=env)
                if done.returncode != 0:
                    sys.exit(f"{kind} failed ({done.returncode}):\n{done.text()[-2000:]}")
                if kind != "baseline":
                    graded = json.loads((root / "results" / "results.json").read_text())
                    if graded["score"] != graded["max_score"] or not graded["tests"]:
                        sys.exit(f"{kind}: the reference was not graded in full: "
                                 f"{graded['output'][:500]}")
                results[kind].append(done)
                print(f"run {i + 1}/{args.runs} {kind}: {done.wall:.1f} s", flush=True)
        print()
        print(summary("autograder grade (baseline)", results["baseline"]))
        print(summary("run_autograder, all cores", results["all"], results["baseline"]))
        if "one" in results:
            print(summary("run_autograder, one core", results["one"], results["baseline"]))
        cpu = statistics.median(r.cpu for r in results["all"])
        print(f"\nat Gradescope's default 0.5 CPU: about {cpu / 0.5:.0f} s per submission")


if __name__ == "__main__":
    main()
