"""nbgrader preprocessors of the course, named in ``course/nbgrader_config.py``."""

from __future__ import annotations

import copy
from typing import Any

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, NbGraderPreprocessor
from traitlets import Integer, Unicode

from autograder.generate.cells import Cell, defined_functions
from autograder.generate.nbgrader_source import nbgrader_metadata
from autograder.generate.transforms import clear_solutions
from autograder.nbgrader import verdicts
from autograder.nbgrader.grade import PYTHON, TIMEOUT, grade_notebook


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


def _top_defs(source: str) -> list[str]:
    return defined_functions(Cell("code", source))


class FindCellsByFunction(NbGraderPreprocessor):
    """Give back the nbgrader metadata a submission lost, finding its cells by their functions.

    A student who hands in a copy of ``solutions/`` or ``assignments/``, or whose editor dropped
    the cell metadata, submits a notebook without nbgrader's ``grade_id``s. nbgrader's
    ``OverwriteCells`` then fails on the first test cell it puts back (``KeyError:
    'solution-...'``), the submission is not graded, and ``nbgrader export`` records a silent 0.
    So, before ``OverwriteCells``: every solution cell of the source that the submission lacks is
    found by the function it defines (the last cell defining it at the top level, as Python would
    see it) and given its metadata back; a function defined nowhere gets an empty cell of its own,
    so that the test cells that follow it can be put back. Metadata that is not nbgrader's shape
    (not a dict, no ``grade_id``) is dropped first, so damaged cells are matched the same way.

    It runs first in the sanitize pipeline, before nbgrader reads any ``grade_id``.
    """

    def preprocess(self, nb: NotebookNode,
                   resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            cells = {c.name: (c.source, c.cell_type, c.locked) for c in source.source_cells}
            solutions = [c.name for c in source.solution_cells]
        self._drop_damaged(nb)
        found = self._find_solutions(nb, solutions, cells)
        if found:
            self.log.warning("autograder: %d solution cell(s) had no nbgrader metadata; found by "
                             "the function they define: %s", len(found), ", ".join(found))
        return nb, resources

    def _drop_damaged(self, nb: NotebookNode) -> None:
        for index, cell in enumerate(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader")
            if meta is None:
                continue
            if not isinstance(meta, dict) or not isinstance(meta.get("grade_id"), str):
                self.log.warning("autograder: cell %d's nbgrader metadata is damaged (%s); it "
                                 "is matched by its code instead", index, str(meta)[:60])
                del cell.metadata["nbgrader"]

    def _find_solutions(self, nb: NotebookNode, solutions: list[str],
                        cells: dict[str, tuple[str, str, bool]]) -> list[str]:
        present = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata}
        found = []
        for grade_id in solutions:
            if grade_id in present or cells[grade_id][1] != "code":
                continue
            names = _top_defs(cells[grade_id][0])
            free = [c for c in nb.cells if c.cell_type == "code" and "nbgrader" not in c.metadata]
            home = next((c for c in reversed(free) if names and names[0] in _top_defs(c.source)),
                        None)
            if home is None:
                what = names[0] if names else grade_id
                home = new_code_cell(f"# {what}: no cell of the submission defines it")
                nb.cells.append(home)
            home.metadata.update(copy.deepcopy(nbgrader_metadata(grade_id, solution=True)))
            home.metadata["nbgrader"]["cell_type"] = "code"
            found.append(names[0] if names else grade_id)
        return found


class RestoreReleasedTests(NbGraderPreprocessor):
    """Give untouched test cells their hidden source back quietly, before ``OverwriteCells``.

    Test cells of the release hold only their comment (nbgrader removed the hidden region), so
    ``OverwriteCells`` would warn "Attribute 'checksum' ... has changed!" for every untouched one,
    which reads like tampering. A test cell whose text is exactly the released text gets its
    source back from the gradebook here; a test cell the student edited is still reported by
    ``OverwriteCells``. It runs after duplicates lost their metadata, so a student's copy of a
    test cell stays the comment it was.
    """

    def preprocess(self, nb: NotebookNode,
                   resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            graded = {g.name for g in source.grade_cells}
            tests = {c.name: c.source for c in source.source_cells
                     if c.name in graded and c.cell_type == "code"}
        hide = ClearHiddenTests(parent=self)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in tests and cell.cell_type == "code" and verdicts.is_test_cell(cell):
                released = NotebookNode(cell_type="code", source=tests[grade_id], metadata={})
                hide._remove_hidden_test_region(released)
                if cell.source == released.source:
                    cell.source = tests[grade_id]
        return nb, resources


class GradeWithHiddenSuites(NbGraderPreprocessor):
    """Grade the executed notebook with the hidden suite and write the verdicts into its test cells.

    Runs after nbgrader has restored the locked and test cells and executed the notebook, and
    before ``SaveAutoGrades``. The notebook (its test cells emptied) is graded by
    ``python -m autograder grade`` in a separate process, which runs the student's code in its own
    worker: nothing the student's kernel did can reach the suite or its expected values.
    """

    python = Unicode(PYTHON, help="The Python that runs `-m autograder grade`.").tag(config=True)
    timeout = Integer(TIMEOUT, help="Seconds the grading of one notebook may take in all.").tag(
        config=True)

    def preprocess(self, nb: NotebookNode,
                   resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        assignment = resources["nbgrader"]["assignment"]
        results, problem = grade_notebook(assignment, verdicts.submission(nb),
                                          python=self.python, timeout=self.timeout)
        passed = verdicts.write_verdicts(nb, results, problem, assignment=assignment)
        verdicts.remember(nb, assignment, results, problem)
        if results is None:
            self.log.error("autograder could not grade %s: %s", assignment, problem)
        else:
            self.log.info("autograder: %g / %g points; %d of %d test cells passed",
                          results["score"], results["max_score"], sum(passed.values()),
                          len(passed))
        return nb, resources


class FlagForAttention(NbGraderPreprocessor):
    """Mark a submission the hidden suite could not grade as needing attention, not as a 0.

    Runs after ``SaveAutoGrades``. When ``GradeWithHiddenSuites`` could not grade the notebook
    (its test cells then hold the reason), every test cell's grade is marked as needing a manual
    grade and the submission is flagged, so the Formgrader lists it and ``nbgrader export`` (with
    the kit's export plugin) writes the reason in its ``needs_attention`` column.
    """

    def preprocess(self, nb: NotebookNode,
                   resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        problem = verdicts.problem_of(nb)
        if not problem:
            return nb, resources
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            submitted = gb.find_submission_notebook(info["notebook"], info["assignment"],
                                                    info["student"])
            submitted.flagged = True
            for grade in submitted.grades:
                grade.needs_manual_grade = True
            gb.db.commit()
        self.log.warning("autograder: %s needs attention: %s", info["student"], problem)
        return nb, resources
