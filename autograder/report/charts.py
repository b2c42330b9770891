"""The class dashboard's three charts, each with a title and every label in full.

- the score histogram: students per point (counts, so the student axis ticks at integers);
- each test's pass rate, the hardest first: test names wrapped onto several lines, never cut,
  each bar labelled ``passed / graded``;
- grading time: a histogram of seconds per submission, from 0, in bins of a round width.

Each function returns the matplotlib figure; :func:`drawn` reads back what a figure shows (its
title and tick labels, as drawn), which the page carries in ``data-*`` attributes so that a
test, or a screen reader, reads what the eye sees.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from autograder.report.pages import pyplot

LABEL_WIDTH = 48  # characters per line of a test's name on the pass-rate chart
TIME_BINS = 15  # at most this many bins of grading time
STEPS = (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600)


def wrap(name: str, width: int = LABEL_WIDTH) -> str:
    """A test's name on lines of at most ``width`` characters (a longer word keeps its own
    line); joined with spaces the lines give the name back."""
    return "\n".join(textwrap.wrap(" ".join(name.split()), width, break_long_words=False,
                                   break_on_hyphens=False)) or name


def time_bins(seconds: list[float]) -> tuple[float, list[int]]:
    """``(width, counts)``: bin ``k`` counts the submissions graded in ``[k w, (k + 1) w)``
    seconds; ``w`` is the smallest round width that needs at most :data:`TIME_BINS` bins."""
    top = max(seconds, default=0.0)
    width = next((s for s in STEPS if top / s < TIME_BINS), STEPS[-1])
    counts = [0] * (int(top / width) + 1)
    for s in seconds:
        counts[min(max(math.floor(round(s / width, 9)), 0), len(counts) - 1)] += 1
    return width, counts


def _integers(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator  # here: the batch imports this room at its start

    axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))


def scores(assignment: str, bins: list[int]) -> Any:
    """The score histogram: ``bins[k]`` students scored ``k`` points (see ``histogram``)."""
    fig, ax = pyplot().subplots(figsize=(7, 2.6))
    ax.bar(range(len(bins)), bins, color="#2c7fb8")
    _integers(ax.xaxis)
    _integers(ax.yaxis)
    ax.set_xlabel("points")
    ax.set_ylabel("students")
    ax.set_title(f"{assignment}: scores")
    return fig


def pass_rates(assignment: str, rates: list[tuple[str, int, int]]) -> Any:
    """Each test's pass rate, ``rates`` as ``(name, passed, graded)``, the first on top."""
    labels = [wrap(name) for name, _, _ in rates]
    lines = max((label.count("\n") + 1 for label in labels), default=1)
    fig, ax = pyplot().subplots(figsize=(7, (0.2 + 0.16 * lines) * len(rates) + 0.9))
    percent = [100 * p / n for _, p, n in rates]
    ax.barh(range(len(rates)), percent, color="#27ae60")
    for y, (value, (_, p, n)) in enumerate(zip(percent, rates, strict=True)):
        ax.text(min(value, 100) + 1, y, f"{p} / {n}", va="center", fontsize=7)
    ax.set_yticks(range(len(rates)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 112)  # room for the last count beside a full bar
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("% of graded students passing")
    ax.set_title(f"{assignment}: pass rate of each test, the hardest first")
    return fig


def timing(assignment: str, seconds: list[float]) -> Any:
    """A histogram of the grading time per submission (see :func:`time_bins`)."""
    width, counts = time_bins(seconds)
    fig, ax = pyplot().subplots(figsize=(7, 2.4))
    ax.bar([k * width for k in range(len(counts))], counts, width=width, align="edge",
           color="#7f8c8d", edgecolor="white")
    ax.set_xlim(0, len(counts) * width)
    _integers(ax.yaxis)
    ax.set_xlabel(f"seconds per submission (bins of {width:g} s)")
    ax.set_ylabel("submissions")
    ax.set_title(f"{assignment}: grading time per submission")
    return fig


def _ticks(axis: Any, low: float, high: float) -> list[str]:
    low, high = min(low, high), max(low, high)
    return [label.get_text() for loc, label in zip(axis.get_ticklocs(), axis.get_ticklabels(),
                                                   strict=True)
            if low - 1e-9 <= loc <= high + 1e-9 and label.get_text()]


def drawn(fig: Any, *, draw: bool = True) -> dict[str, Any]:
    """What the figure's first axes show: ``{"title", "x_ticks", "y_ticks"}``, tick labels as
    drawn (a wrapped label keeps its newlines); ``draw=False`` for a figure drawn already."""
    if draw:
        fig.canvas.draw()
    ax = fig.axes[0]
    return {"title": ax.get_title(), "x_ticks": _ticks(ax.xaxis, *ax.get_xlim()),
            "y_ticks": _ticks(ax.yaxis, *ax.get_ylim())}
