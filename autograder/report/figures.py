"""Drawing the figures a suite measured (plain data in ``results.json``'s ``extra_data``).

Three kinds, so that a suite says what to show and this room how:

- ``curves``: lines, ``series`` of ``{"label", "x", "y"}``, with ``x_label`` and ``y_label``;
  the first series is the student's, drawn on top; each other series of several points is one to
  compare with (the reference's), drawn underneath as a wide pale band, so that where the two
  agree the band still shows on both sides of the student's line (the legend says so); a series
  of one point is a star;
- ``matrix``: a table of counts (a confusion matrix), ``values`` rows by ``rows_label``;
- ``heatmap``: a grid of numbers too large to print (``values``, 1-D or 2-D), with a colour bar;
- ``digits``: a grid of 28x28 grey images (``images``, 784 values 0-255 each) with ``captions``.

A figure of another kind, or malformed, is left out with a line saying so: a report is never
lost to one figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder.report.pages import esc, figure, pyplot

MINE = "#1f4e9c"  # the student's line: dark, thin, with markers
BANDS = ("#f0a030", "#8fbc5a", "#c27ba0")  # lines to compare with: wide, pale, underneath
AGREE = "where your line runs inside a pale band, the two agree"


def _curves(plt: Any, data: dict[str, Any]) -> Any:
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    drawn, bands = [], 0
    for i, series in enumerate(data["series"]):
        x, y, label = series["x"], series["y"], str(series["label"])
        if len(x) == 1:  # one measured point: a star above the lines
            drawn += ax.plot(x, y, "k*", markersize=12, label=label, zorder=4)
        elif i == 0:
            drawn += ax.plot(x, y, "o-", color=MINE, markersize=3, linewidth=1.5, label=label,
                             zorder=3)
        else:
            drawn += ax.plot(x, y, "-", color=BANDS[bands % len(BANDS)], linewidth=8, alpha=0.45,
                             solid_capstyle="round", label=label, zorder=2)
            bands += 1
    ax.set_xlabel(str(data.get("x_label", "")))
    ax.set_ylabel(str(data.get("y_label", "")))
    if data.get("log_y") and all(v > 0 for s in data["series"] for v in s["y"]):
        ax.set_yscale("log")
    ax.legend(handles=drawn, fontsize=8, title=AGREE if bands else None, title_fontsize=8,
              alignment="left")
    return fig


def _matrix(plt: Any, data: dict[str, Any]) -> Any:
    values = np.asarray(data["values"], dtype=float)
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.imshow(np.log1p(values), cmap="Blues")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=6,
                color="white" if v > values.max() / 3 else "black")
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    ax.set_xlabel(str(data.get("cols_label", "")))
    ax.set_ylabel(str(data.get("rows_label", "")))
    return fig


def _digits(plt: Any, data: dict[str, Any]) -> Any:
    images, captions = data["images"], data["captions"]
    cols = min(8, max(len(images), 1))
    rows = max(1, -(-len(images) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions, strict=False):
        ax.imshow(np.asarray(image, dtype=float).reshape(28, 28), cmap="gray_r")
        ax.set_title(str(caption), fontsize=7)
    return fig


def _heatmap(plt: Any, data: dict[str, Any]) -> Any:
    values = np.atleast_2d(np.asarray(data["values"], dtype=float))
    fig, ax = plt.subplots(figsize=(6.5, max(1.2, min(4.0, 0.25 * values.shape[0] + 0.8))))
    shown = ax.imshow(values, cmap="Reds", aspect="auto", vmin=0)
    fig.colorbar(shown, ax=ax, label=str(data.get("value_label", "")))
    if values.shape[0] == 1:
        ax.set_yticks([])
    ax.set_xlabel(str(data.get("cols_label", "")))
    ax.set_ylabel(str(data.get("rows_label", "")))
    return fig


DRAW = {"curves": _curves, "matrix": _matrix, "digits": _digits, "heatmap": _heatmap}


def draw(data: dict[str, Any]) -> str:
    """An ``<h3>`` and the figure's ``<img>``; a line instead for what cannot be drawn."""
    title = esc(data.get("title", ""))
    kind = data.get("kind")
    if kind not in DRAW:
        return f"<p>(a figure of unknown kind {esc(kind)} is left out)</p>"
    plt = pyplot()
    try:
        fig = DRAW[kind](plt, data)
    except (KeyError, TypeError, ValueError) as exc:
        plt.close("all")
        return f"<p>(the figure &ldquo;{title}&rdquo; could not be drawn: {esc(exc)})</p>"
    return f'<h3>{title}</h3>\n<div class="figure" data-kind="{esc(kind)}">' \
           f'{figure(fig, str(data.get("title", kind)))}</div>'
