"""nbgrader preprocessors of the course, named in ``course/nbgrader_config.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearSolutions, NbGraderPreprocessor
from traitlets import Integer, Unicode

from autograder.generate.cells import Cell
from autograder.generate.transforms import clear_solutions
from autograder.nbgrader import verdicts


class ClearSolutionsNamingFunction(ClearSolutions):
    """nbgrader's ``ClearSolutions``, but a code solution region becomes the stub line of
    ``assignments/``: ``raise NotImplementedError("<function> is not implemented yet: ...")``.
    """

    def _replace_solution_region(self, cell: NotebookNode, language: str) -> bool:
        if cell.cell_type != "code":
            return super()._replace_solution_region(cell, language)
        cleared = clear_solutions([Cell("code", cell.source)])[0].source
        replaced = cleared != cell.source
        cell.source = cleared
        return replaced


class ForgetDuplicates(NbGraderPreprocessor):
    """Drop the empty ``nbgrader`` metadata that ``DeduplicateIds`` leaves on a copied cell.

    ``DeduplicateIds`` keeps the last copy of a duplicated test cell and empties the metadata of
    the others; ``OverwriteCells.add_missing_cells`` then fails on those (a ``KeyError:
    'grade_id'`` in nbgrader 0.9.6). Without the empty dict the copy is an ordinary code cell.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any],
                        index: int) -> tuple[NotebookNode, dict[str, Any]]:
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources


class GradeWithHiddenSuites(NbGraderPreprocessor):
    """Grade the executed notebook with the hidden suite and write the verdicts into its test cells.

    Runs after nbgrader has restored the locked and test cells and executed the notebook, and
    before ``SaveAutoGrades``. The notebook (its test cells emptied) is graded by
    ``python -m autograder grade`` in a separate process, which runs the student's code in its own
    worker: nothing the student's kernel did can reach the suite or its expected values.
    """

    python = Unicode(sys.executable, help="The Python that runs `-m autograder grade`.").tag(
        config=True)
    timeout = Integer(3600, help="Seconds the grading of one notebook may take in all.").tag(
        config=True)

    def preprocess(self, nb: NotebookNode,
                   resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        assignment = resources["nbgrader"]["assignment"]
        results, problem = self.grade(assignment, verdicts.submission(nb))
        passed = verdicts.write_verdicts(nb, results, problem, assignment=assignment)
        if results is None:
            self.log.error("autograder could not grade %s: %s", assignment, problem)
        else:
            self.log.info("autograder: %g / %g points; %d of %d test cells passed",
                          results["score"], results["max_score"], sum(passed.values()),
                          len(passed))
        return nb, resources

    def grade(self, assignment: str, nb: NotebookNode) -> tuple[dict[str, Any] | None, str]:
        """``(results.json, "")`` of ``autograder grade``, or ``(None, why it failed)``."""
        with tempfile.TemporaryDirectory(prefix="autograder-nbgrader-") as tmp:
            path, out = Path(tmp) / f"{assignment}.ipynb", Path(tmp) / "results.json"
            nbformat.write(nb, path)
            command = [self.python, "-m", "autograder", "grade", assignment, str(path),
                       "--json", str(out)]
            try:
                done = subprocess.run(command, capture_output=True, text=True, cwd=tmp,
                                      timeout=self.timeout, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                return None, f"grading took longer than {self.timeout} s and was stopped"
            if done.returncode != 0 or not out.exists():
                lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
                why = lines[-1].removeprefix("autograder: error: ").replace(str(path), "notebook")
                return None, f"the notebook could not be graded: {why}"
            return json.loads(out.read_text(encoding="utf-8")), ""
