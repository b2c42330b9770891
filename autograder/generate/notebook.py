"""Cells to an nbformat v4 notebook, written byte-for-byte reproducibly."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import v4

from autograder.generate.cells import Cell

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def to_notebook(cells: list[Cell], *, assignment: str, role: str) -> nbformat.NotebookNode:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["autograder"] = {
        "assignment": assignment,
        "role": role,
        "generated": f"from autograder/masters/{assignment}.py by `autograder generate`; "
        "edit the master, not this file",
    }
    for i, cell in enumerate(cells):
        maker = v4.new_code_cell if cell.kind == "code" else v4.new_markdown_cell
        node = maker(cell.source)
        node["id"] = f"{assignment}-{i:02d}"
        if cell.tags:
            node.metadata["tags"] = list(cell.tags)
        node.metadata.update(cell.metadata)
        nb.cells.append(node)
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def write(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(nb), encoding="utf-8")
