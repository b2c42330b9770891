"""Draw the figures saved by ``batch_vs_nbgrader.py --save FIGURES.json`` into a PNG.

    python benchmarks/plot.py FIGURES.json benchmarks/batch_vs_nbgrader.png

Three panels: throughput per run (submissions per minute), the latency of every submission
(all runs), and a single grade next to its floor (TensorFlow's import plus the reference's own
training).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

NAMES = {"kit": "autograder\nbatch", "kit_cold": "autograder\nbatch\n(no template,\nbefore)",
         "nbgrader": "nbgrader\nautograde\n(course)",
         "plain": "nbgrader\nautograde\n(default,\nno grading)"}
COLOURS = {"kit": "#2a7ab0", "kit_cold": "#8fbcd9", "nbgrader": "#d9822b", "plain": "#9e9e9e"}


def draw(figures: dict, out: Path) -> None:
    """Draw ``figures`` (as saved by the benchmark) into the PNG ``out``."""
    runs = figures["runs"]
    kinds = [k for k in NAMES if all(k in run for run in runs)]
    fig, (ax_rate, ax_latency, ax_floor) = plt.subplots(
        1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1.1, 1.4, 0.9]})

    for i, kind in enumerate(kinds):
        rates = [run[kind]["n"] / run[kind]["wall"] * 60 for run in runs]
        ax_rate.bar(i, statistics.median(rates), color=COLOURS[kind], alpha=0.85)
        ax_rate.scatter([i] * len(rates), rates, color="black", s=12, zorder=3)
        ax_rate.annotate(f"{statistics.median(rates):.1f}/min", (i, max(rates)),
                         ha="center", va="bottom", xytext=(0, 3), textcoords="offset points")
    top = max(run[k]["n"] / run[k]["wall"] * 60 for run in runs for k in kinds)
    ax_rate.set_ylim(0, top * 1.15)
    ax_rate.set_xticks(range(len(kinds)), [NAMES[k] for k in kinds], fontsize=8)
    ax_rate.set_ylabel("submissions per minute")
    ax_rate.set_title(f"throughput ({figures['cores']} cores, --workers {figures['workers']})")

    latencies = [[x for run in runs for x in run[kind]["latencies"]] for kind in kinds]
    parts = ax_latency.boxplot(latencies, orientation="horizontal", patch_artist=True, widths=0.6)
    for patch, kind in zip(parts["boxes"], kinds, strict=True):
        patch.set_facecolor(COLOURS[kind])
        patch.set_alpha(0.6)
    ax_latency.set_yticks(range(1, len(kinds) + 1), [NAMES[k] for k in kinds], fontsize=8)
    ax_latency.set_xlabel("seconds per submission")
    ax_latency.set_title(f"latency per submission ({runs[0]['kit']['n']} submissions "
                         f"× {len(runs)} runs)")
    ax_latency.set_xlim(left=0)

    floor = figures["floor"]
    ax_floor.bar(0, floor["import"], color="#7fb3d5", label="import TensorFlow")
    ax_floor.bar(0, floor["train"], bottom=floor["import"], color="#1f618d",
                 label="the reference's training (mlp_mnist: the lecture's run)")
    bars = [("single", "autograder grade\n(one reference)", COLOURS["kit"])]
    if "cold" in floor:  # saved since issue 15: the same grade without the warm template
        bars.append(("cold", "no template\n(before)", COLOURS["kit_cold"]))
    for x, (key, _, colour) in enumerate(bars, start=1):
        ax_floor.bar(x, floor[key], color=colour, alpha=0.85)
        cpu = f"\nCPU {floor[key + '_cpu'] / floor['floor_cpu']:.2f}×" if key + "_cpu" in floor \
            and "floor_cpu" in floor else ""
        ax_floor.annotate(f"{floor[key] / floor['floor']:.2f}× the floor{cpu}", (x, floor[key]),
                          ha="center", va="bottom", xytext=(0, 3), textcoords="offset points",
                          fontsize=8)
    goal = 1.15 if floor.get("train", 0) > 0.01 else 1.1  # issue 22: 1.15x with the lecture's run
    ax_floor.axhline(goal * floor["floor"], color="#c0392b", ls="--", lw=1,
                     label=f"goal: {goal:g}× floor")
    ax_floor.set_xticks(range(len(bars) + 1), ["floor", *(name for _, name, _ in bars)],
                        fontsize=8)
    ax_floor.set_ylabel("seconds")
    ax_floor.set_title("one grade against its floor")
    ax_floor.set_ylim(0, max(floor[k] for k, _, _ in bars) * 1.45)
    ax_floor.legend(fontsize=7, loc="upper left")

    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("figures", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    draw(json.loads(args.figures.read_text()), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
