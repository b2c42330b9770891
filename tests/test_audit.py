"""`autograder audit`: mutants of the reference, graded by the real grader, and what the suites
miss. CI audits a fixed, seeded sample of the four fast assignments' mutants and fails when a
suite lets one through (the full audits and their figures: docs/audit.md)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from util import PAGE_FIGURES, ROOT, in_chromium, needs_chromium

from autograder.audit import command
from autograder.audit.mutants import OPERATORS, mutants
from autograder.generate import pipelines

FAST = ("tf_basics", "losses", "backprop", "gradient_descent")
SAMPLE = 14  # mutants per assignment in CI, drawn with seed 0
# The recorded score of the seeded sample: 1.0 means every mutant in it is caught (or declared
# equivalent). A suite change that lets one through fails here.
RECORDED = {"tf_basics": 1.0, "losses": 1.0, "backprop": 1.0, "gradient_descent": 1.0}


@pytest.mark.parametrize("assignment", [*FAST, "mlp_mnist"])
def test_mutants_change_one_graded_function_and_compile(assignment: str) -> None:
    made = mutants(assignment)
    reference = [c.source for c in pipelines.build(assignment, pipelines.REFERENCE)
                 if c.kind == "code"]
    assert len(made) >= 40
    assert len({m.id for m in made}) == len(made)
    graded = set(pipelines.graded_functions(assignment))
    assert {m.function for m in made} == graded  # every graded function, nothing else
    for mutant in made:
        changed = [i for i, source in mutant.cells if source != reference[i]]
        assert len(changed) == 1, mutant.id
        tree = ast.parse(dict(mutant.cells)[changed[0]])  # compiles
        assert any(isinstance(n, ast.FunctionDef) and n.name == mutant.function
                   for n in tree.body)
        assert mutant.diff.count("\n-") >= 1 and "print(" not in mutant.change
        assert mutant.operator in OPERATORS


def test_every_kind_of_mutation_is_made_somewhere() -> None:
    kinds = Counter(m.operator for a in [*FAST, "mlp_mnist"] for m in mutants(a))
    assert set(kinds) == set(OPERATORS), set(OPERATORS) - set(kinds)


def test_declared_equivalents_name_real_mutants_with_reasons() -> None:
    for assignment in [*FAST, "mlp_mnist"]:
        declared = command.declared_equivalents(assignment)
        ids = {m.id for m in mutants(assignment)}
        assert set(declared) <= ids, set(declared) - ids  # stale after a master changed
        assert all(len(reason) > 20 for reason in declared.values())


@pytest.fixture(scope="module")
def sampled() -> dict[str, command.Audit]:
    return {a: command.main(assignment=a, limit=SAMPLE, seed=0, workers=2) for a in FAST}


@pytest.mark.parametrize("assignment", FAST)
def test_seeded_sample_of_mutants_is_caught(sampled: dict[str, command.Audit],
                                            assignment: str) -> None:
    audit = sampled[assignment]
    assert len(audit.verdicts) == SAMPLE and audit.sample.startswith(f"{SAMPLE} of ")
    survivors = [(v.id, v.change, v.elsewhere) for v in audit.verdicts
                 if v.verdict == command.SURVIVED]
    assert audit.counts()["score"] >= RECORDED[assignment], survivors


def test_a_survivor_is_reported_with_its_diff_and_tests(tmp_path: Path, monkeypatch) -> None:
    """Empty the suite's list of equivalents: a declared mutant then shows up as a survivor."""
    declared = command.declared_equivalents("gradient_descent")
    target = next(m for m in mutants("gradient_descent", ["cost"]) if m.id in declared)
    monkeypatch.setattr(command, "declared_equivalents", lambda assignment: {})
    monkeypatch.setattr(command, "mutants", lambda assignment, functions=None: [target])
    audit = command.main(assignment="gradient_descent", workers=1,
                         json_out=tmp_path / "a.json", html_out=tmp_path / "a.html")
    (verdict,) = audit.verdicts
    assert verdict.verdict == command.SURVIVED and verdict.passed
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["total"]["survived"] == 1 and data["mutants"][0]["diff"] == target.diff
    page = (tmp_path / "a.html").read_text()
    assert "Survivors (1)" in page and "residual" in page


def test_cli_rejects_unknown_names_in_one_line() -> None:
    for args, words in ((["nope"], "unknown assignment"),
                        (["losses", "--functions", "softmax,nothing"], "no graded function")):
        done = subprocess.run([sys.executable, "-m", "autograder", "audit", *args],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and words in done.stderr.lower(), done.stderr


@needs_chromium
def test_the_html_report_renders_in_a_browser(tmp_path: Path) -> None:
    audit = command.main(assignment="gradient_descent", functions=["cost"], limit=3, seed=1,
                         workers=2, html_out=tmp_path / "audit.html")
    seen = in_chromium((tmp_path / "audit.html").read_text(encoding="utf-8"), PAGE_FIGURES + """
      out.title = document.querySelector('h1').textContent;
      const total = [...document.querySelectorAll('td')].find(td => td.textContent === 'all');
      out.mutants = total ? total.nextElementSibling.textContent : null;""", tmp_path)
    assert seen["title"] == "Mutation audit of gradient_descent", seen
    assert seen["mutants"] == str(len(audit.verdicts)) and seen["page"] <= seen["view"], seen
