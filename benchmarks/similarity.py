"""How well ``autograder similarity`` tells copies from independent work, on a synthetic class.

    .venv/bin/python benchmarks/similarity.py                 # losses, backprop, gradient_descent
    .venv/bin/python benchmarks/similarity.py --assignments losses --json figures.json

For each assignment, a class of notebooks (``tests/similarity_class.py``): four independent correct
solutions (the reference, the tests' differently written one, two more written for this) and, of
each, seven disguised copies (variables renamed; reformatted; functions reordered; comments added;
renamed and reformatted; renamed, reordered and commented; all four): 4 x 8 = 32 students. A
*copy pair* is two members of the same family (an original and its copy, or two copies of one
original); every other pair is an *independent pair*. Printed, per assignment and overall:

- precision and recall of the pairs flagged at the default threshold;
- the margin: the lowest copy-pair score minus the highest independent-pair score (above 0:
  every copy pair ranks above every independent pair);
- the same without the class filter (fingerprints of more than ``common`` submissions ignored):
  in this class a family has 8 members, so code two families share is in 16 notebooks and the
  filter drops it, which a real class of independent students would do only for idioms
  that many of them write. The run without the filter is the honest floor.

``--harder``: a second class per assignment with copies the default threshold is not meant to
catch whole: half the functions taken from another solution, and a useless statement after every
statement. The score of each original and its copy is printed (ranked high, not always
flagged); pairs across families there are no independent pairs (a half copy holds another
family's code), so no precision is given for it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import similarity_class as corpus  # noqa: E402

from autograder.generate.pipelines import graded_functions  # noqa: E402
from autograder.similarity import command  # noqa: E402

NO_FILTER = 10**9


def family(student: str) -> str:
    return student.split("~")[0]


def build(folder: Path, assignment: str) -> Path:
    sources = {}
    for name, source in corpus.independent(assignment).items():
        sources[name] = source
        for disguise, make in corpus.DISGUISES.items():
            sources[f"{name}~{disguise.replace('+', '-').replace(' ', '-')}"] = make(source)
    return corpus.write(folder / assignment, assignment, sources)


def build_harder(folder: Path, assignment: str) -> Path:
    originals = corpus.independent(assignment)
    names = list(originals)
    functions = graded_functions(assignment)
    sources = dict(originals)
    for i, name in enumerate(names):
        other = originals[names[(i + 1) % len(names)]]
        sources[f"{name}~half-rewritten"] = corpus.half_rewritten(originals[name], other, functions)
        sources[f"{name}~padded"] = corpus.padded(originals[name])
    return corpus.write(folder / f"{assignment}-harder", assignment, sources)


def measure(assignment: str, folder: Path, common: int | None = None) -> dict[str, Any]:
    began = time.monotonic()
    kwargs = {} if common is None else {"common": common}
    result = command.analyse(assignment=assignment, folder=folder, **kwargs)
    seconds = time.monotonic() - began
    scores = {frozenset(result.names(p)): p.score for p in result.pairs}
    students = [s.student for s in result.submissions]
    copies, independent = [], []
    for a, b in itertools.combinations(students, 2):
        row = (scores.get(frozenset((a, b)), 0.0), a, b)
        (copies if family(a) == family(b) else independent).append(row)
    flagged = {frozenset(result.names(p)) for p in result.flagged}
    true = sum(frozenset((a, b)) in flagged for _, a, b in copies)
    low, high = min(copies), max(independent)
    return {"assignment": assignment, "students": len(students), "copy_pairs": len(copies),
            "independent_pairs": len(independent), "flagged": len(flagged), "true": true,
            "precision": true / len(flagged) if flagged else 1.0, "recall": true / len(copies),
            "lowest_copy": low, "highest_independent": high, "margin": low[0] - high[0],
            "threshold": result.threshold, "common": result.common, "seconds": seconds,
            "skipped": result.skipped,
            "by_disguise": _by_disguise(copies), "harder": _harder(copies)}


def _by_disguise(copies: list[tuple[float, str, str]]) -> dict[str, float]:
    """The lowest score of an original and its copy, per disguise."""
    out: dict[str, float] = {}
    for score, a, b in copies:
        if "~" in a and "~" in b:
            continue
        disguise = (b if "~" in b else a).split("~", 1)[1]
        out[disguise] = min(out.get(disguise, 1.0), score)
    return out


def _harder(copies: list[tuple[float, str, str]]) -> dict[str, list[float]]:
    """Every score of an original and its copy, per kind of copy."""
    out: dict[str, list[float]] = {}
    for score, a, b in copies:
        if ("~" in a) != ("~" in b):
            out.setdefault((b if "~" in b else a).split("~", 1)[1], []).append(score)
    return out


def report(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    print(f"{'assignment':<18}{'pairs':>7}{'copy':>6}{'flagged':>8}{'precision':>10}{'recall':>8}"
          f"{'lowest copy':>13}{'highest indep.':>16}{'margin':>8}")
    for r in rows:
        print(f"{r['assignment']:<18}{r['copy_pairs'] + r['independent_pairs']:>7}"
              f"{r['copy_pairs']:>6}{r['flagged']:>8}{r['precision']:>10.3f}{r['recall']:>8.3f}"
              f"{r['lowest_copy'][0]:>13.3f}{r['highest_independent'][0]:>16.3f}"
              f"{r['margin']:>8.3f}")
    flagged = sum(r["flagged"] for r in rows)
    true = sum(r["true"] for r in rows)
    copies = sum(r["copy_pairs"] for r in rows)
    margin = min(r["margin"] for r in rows)
    print(f"{'all':<18}{'':>7}{copies:>6}{flagged:>8}{true / flagged if flagged else 1.0:>10.3f}"
          f"{true / copies:>8.3f}{'':>13}{'':>16}{margin:>8.3f}")
    print("every copy pair ranks above every independent pair:",
          "yes" if margin > 0 else "no", f"(smallest margin {margin:.3f})")
    for r in rows:
        print(f"  {r['assignment']}: lowest copy pair {r['lowest_copy'][1]} ~ "
              f"{r['lowest_copy'][2]}; highest independent pair {r['highest_independent'][1]} ~ "
              f"{r['highest_independent'][2]}; {r['students']} notebooks in {r['seconds']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", nargs="+", default=list(corpus.ASSIGNMENTS))
    parser.add_argument("--harder", action="store_true", help="Also measure the harder copies.")
    parser.add_argument("--json", type=Path, default=None, help="Save the figures here.")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = {a: build(Path(tmp), a) for a in args.assignments}
        figures["default"] = [measure(a, f) for a, f in folders.items()]
        figures["no_filter"] = [measure(a, f, NO_FILTER) for a, f in folders.items()]
        threshold = figures["default"][0]["threshold"]
        report(figures["default"], f"threshold {threshold:g}, with the class filter (default)")
        report(figures["no_filter"], f"threshold {threshold:g}, without the class filter")
        print("\nlowest score of an original and its copy, per disguise (default):")
        for r in figures["default"]:
            print(f"  {r['assignment']}: " + ", ".join(f"{d} {s:.3f}"
                                                     for d, s in r["by_disguise"].items()))
        if args.harder:
            figures["harder"] = []
            for a in args.assignments:
                for common in (None, NO_FILTER):
                    r = measure(a, build_harder(Path(tmp), a), common)
                    r["filter"] = common is None
                    figures["harder"].append(r)
            print(f"\nharder copies: score of each original and its copy (default), and how many "
                  f"of the 4 reach {threshold:g}:")
            for r in figures["harder"][::2]:
                print(f"  {r['assignment']}: " + "; ".join(
                    f"{kind} {min(v):.2f}-{max(v):.2f} ({sum(x >= threshold for x in v)} of 4)"
                    for kind, v in r["harder"].items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
