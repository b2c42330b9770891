"""``autograder audit``: how strong is a hidden suite? Grade many small wrong versions of the
reference (``mutants``) with the real grader and count the ones it misses.

Each mutant is graded the way ``autograder batch`` grades a submission (the same worker, sandbox,
hidden inputs and suite; ``--workers`` graders side by side) with short time limits: a mutant that
loops forever is *killed* when its time is up. A mutant is killed when a test of the function it
changes fails; a mutant that keeps every point of its function *survived*: a mistake the suite
cannot see (or one that only breaks another function's tests, which is a mistake of the suite
too). Survivors declared equivalent to the reference, with a reason, in the suite's
``equivalent.json`` do not count against the score.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from autograder import manifest
from autograder.audit.mutants import Mutant, mutants
from autograder.batch import pool
from autograder.batch.jobs import GRADED, Job, Outcome
from autograder.batch.progress import Display
from autograder.generate.pipelines import graded_functions
from autograder.grading.hidden import course_secret
from autograder.grading.plugin import function_of
from autograder.grading.run import suite_path
from autograder.worker.limits import Limits

# A mutant gets a fraction of a submission's time: what it takes longer for, it will not finish.
AUDIT_LIMITS = Limits(call_timeout=10, task_timeout=30, load_timeout=60, cpu_seconds=300)
KILLED, SURVIVED, EQUIVALENT = "killed", "survived", "equivalent"


class AuditError(ValueError):
    """Input the audit cannot use; the message is one line."""


@dataclass
class Verdict:
    id: str
    function: str
    operator: str
    change: str
    diff: str
    verdict: str  # killed | survived | equivalent
    failed: list[str] = field(default_factory=list)  # the function's tests that caught it
    passed: list[str] = field(default_factory=list)  # the function's tests it passed
    elsewhere: list[str] = field(default_factory=list)  # other functions' tests that failed
    how: str = ""  # for a mutant killed without a test: it timed out, crashed ...
    reason: str = ""  # why it is equivalent
    seconds: float = 0.0


@dataclass
class Audit:
    assignment: str
    verdicts: list[Verdict]
    seconds: float
    workers: int
    made: int  # mutants made before --limit chose among them
    sample: str = ""  # how the graded mutants were chosen, if not all

    def counts(self, function: str | None = None) -> dict[str, Any]:
        rows = [v for v in self.verdicts if function is None or v.function == function]
        killed = sum(v.verdict == KILLED for v in rows)
        survived = sum(v.verdict == SURVIVED for v in rows)
        equivalent = sum(v.verdict == EQUIVALENT for v in rows)
        counted = killed + survived
        return {"mutants": len(rows), "killed": killed, "survived": survived,
                "equivalent": equivalent,
                "score": round(killed / counted, 4) if counted else 1.0}

    def functions(self) -> list[str]:
        return list(dict.fromkeys(v.function for v in self.verdicts))

    def to_dict(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "seconds": round(self.seconds, 1),
                "workers": self.workers, "made": self.made, "sample": self.sample,
                "total": self.counts(),
                "functions": {f: self.counts(f) for f in self.functions()},
                "mutants": [asdict(v) for v in self.verdicts]}


def equivalents_path(assignment: str) -> Path:
    return suite_path(assignment) / "equivalent.json"


def declared_equivalents(assignment: str) -> dict[str, str]:
    """Mutant id -> the reason it is equivalent, from the suite's ``equivalent.json``."""
    path = equivalents_path(assignment)
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {str(r["mutant"]): str(r["reason"]) for r in rows}
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditError(f"{path}: not a list of {{\"mutant\", \"reason\", ...}} ({exc})") from None


def judge(mutant: Mutant, outcome: Outcome, equivalent: dict[str, str]) -> Verdict:
    """Killed, survived or declared equivalent, from the grading of one mutant."""
    verdict = Verdict(id=mutant.id, function=mutant.function, operator=mutant.operator,
                      change=mutant.change, diff=mutant.diff, verdict=KILLED,
                      seconds=round(outcome.seconds, 2))
    if outcome.status != GRADED:
        verdict.how = outcome.error or outcome.status
        return verdict
    tests = outcome.results.get("tests", [])
    mine = [t for t in tests if function_of(t["name"]) == mutant.function]
    verdict.failed = [t["name"] for t in mine if t["status"] != "passed"]
    verdict.passed = [t["name"] for t in mine if t["status"] == "passed"]
    verdict.elsewhere = [t["name"] for t in tests
                         if function_of(t["name"]) != mutant.function and t["status"] != "passed"]
    if not verdict.failed:
        if mutant.id in equivalent:
            verdict.verdict, verdict.reason = EQUIVALENT, equivalent[mutant.id]
        else:
            verdict.verdict = SURVIVED
    return verdict


def main(*, assignment: str, functions: list[str] | None = None, limit: int | None = None,
         seed: int = 0, workers: int | None = None, json_out: Path | None = None,
         html_out: Path | None = None, console: Console | None = None,
         on_verdict: Callable[[Verdict], None] | None = None) -> Audit:
    """Audit ``assignment``'s hidden suite; see the module's documentation.

    ``functions`` restricts the mutants to those functions; ``limit`` grades a sample of that many
    mutants, drawn with ``seed``. Raises :class:`~autograder.manifest.UnknownAssignment` and
    :class:`AuditError`.
    """
    manifest.get(assignment)
    known = graded_functions(assignment)
    unknown = [f for f in functions or [] if f not in known]
    if unknown:
        raise AuditError(f"{assignment} has no graded function {', '.join(unknown)} "
                         f"(its graded functions: {', '.join(known)})")
    if limit is not None and limit < 1:
        raise AuditError("--limit must be at least 1")
    equivalent = declared_equivalents(assignment)
    start = time.monotonic()
    made = mutants(assignment, functions)
    chosen, sample = made, ""
    if limit is not None and limit < len(made):
        chosen = sorted(random.Random(seed).sample(made, limit), key=made.index)
        sample = f"{limit} of {len(made)} mutants, drawn with seed {seed}"
    secret = course_secret()
    by_id = {m.id: m for m in chosen}
    jobs = [Job(assignment=assignment, student=m.id, submission=f"mutant {m.id}", key=m.id,
                cells=m.as_cells(), limits=AUDIT_LIMITS, secret=secret) for m in chosen]
    verdicts: dict[str, Verdict] = {}
    workers = workers or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="autograder-audit-") as scratch, \
            Display(total=len(jobs), title=f"audit {assignment}", console=console) as display:

        def record(outcome: Outcome) -> None:
            verdict = judge(by_id[outcome.student], outcome, equivalent)
            verdicts[verdict.id] = verdict
            display.update(outcome)
            if on_verdict is not None:
                on_verdict(verdict)

        pool.run(jobs, workers=workers, on_result=record, log=Path(scratch) / "graders.log")
    audit = Audit(assignment=assignment, verdicts=[verdicts[m.id] for m in chosen if m.id in verdicts],
                  seconds=time.monotonic() - start, workers=workers, made=len(made), sample=sample)
    if json_out is not None:
        from autograder.grading.results import write_json

        write_json(audit.to_dict(), json_out)
    if html_out is not None:
        from autograder.audit.report import write_html

        write_html(audit, html_out)
    return audit
