"""``autograder similarity``: the pairs of submissions whose own code is alike.

::

    main(assignment="losses", folder=Path("course"), out=Path("grades"))

finds the submissions the way ``autograder batch`` does (nbgrader's ``submitted/`` or a flat
folder), reads each one's graded code cells, removes the starter code, fingerprints the rest and
scores every pair. It writes ``<out>/similarity/<assignment>/``: ``index.html`` (the ranked
pairs), a page per flagged pair (the two codes side by side, the matching regions marked),
``pairs.json`` and ``pairs.csv``. Nothing is run: no student code, no TensorFlow.
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from autograder import manifest
from autograder.batch.discover import DiscoveryError, Found, discover, skipped
from autograder.generate import pipelines
from autograder.generate.cells import NOT_GRADED
from autograder.similarity import compare, page, winnow
from autograder.similarity.compare import Result
from autograder.similarity.student import Starter, starter, student_code
from autograder.submission.load import SubmissionError, load
from autograder.text import for_csv_cell

DEFAULT_OUT = Path("grades")
THRESHOLD = compare.THRESHOLD
FOLDER = "similarity"  # under the out folder: <out>/similarity/<assignment>/


class SimilarityError(ValueError):
    """The check cannot start (no such folder, no submissions); the message is one line."""


def describe(result: Result) -> str:
    """What the command prints: the counts, the flagged pairs, the skipped files, the page."""
    n, flagged = len(result.submissions), result.flagged
    lines = [f"{result.assignment}: {n} submissions compared ({n * (n - 1) // 2} pairs) in "
             f"{result.seconds:.1f} s; {len(flagged)} pairs score {result.threshold:g} or more"]
    lines += [f"  {p.score:.2f}  {page.plain(a)} ~ {page.plain(b)}" for p in flagged[:20]
              for a, b in [result.names(p)]]
    if len(flagged) > 20:
        lines.append(f"  ... and {len(flagged) - 20} more (see the page)")
    if result.crowded:
        lines.append(f"{len(result.crowded)} submissions lost more than half their fingerprints "
                     f"as code of more than {result.common} submissions (idioms); if many "
                     "students may share one source, try a higher --common")
    if result.skipped:
        lines.append(f"{len(result.skipped)} skipped:")
        lines += [f"  {page.plain(name)}: {page.plain(why)}" for name, why in result.skipped]
    if result.out is not None:
        lines.append(f"wrote {result.out / 'index.html'}")
    return "\n".join(lines)


def stub_starter(assignment: str) -> Starter:
    """The starter code of ``assignment``: the stub's code cells (those of
    ``assignments/<a>/<a>.ipynb``, made from the master by the same pipeline)."""
    cells = [c for c in pipelines.build(assignment, pipelines.STUDENT) if c.kind == "code"]
    return starter([c.source for c in cells if not NOT_GRADED & set(c.tags)],
                   [c.source for c in cells if NOT_GRADED & set(c.tags)])


def _relative(path: Path, folder: Path) -> str:
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return path.name


def _skipped_row(exc: SubmissionError, path: Path, folder: Path) -> tuple[str, str]:
    """The loader's one line as (file relative to the class folder, problem): the loader starts
    its message with the path it was given or the file it found there."""
    text = str(exc)
    where, sep, why = text.partition(": ")
    if sep and where.startswith(str(path)):
        return _relative(Path(where), folder), why
    return _relative(path, folder), text


def _read(student: Found, assignment: str, given: Starter, folder: Path, *, k: int,
          w: int) -> compare.Submission | tuple[str, str]:
    """One student's fingerprinted submission, or (file, why) it is skipped."""
    try:
        path, cells = load(student.path, assignment)
    except SubmissionError as exc:
        return _skipped_row(exc, student.path, folder)
    except OSError as exc:
        return _relative(student.path, folder), f"cannot be read ({exc.strerror})"
    name = _relative(path, folder)
    try:
        code = student_code([(c["index"], c["source"]) for c in cells], given)
    except Exception as exc:  # a submission is untrusted input: it is skipped, never fatal
        return name, f"cannot be read as code ({type(exc).__name__})"
    if not code.size:
        return name, "holds no code of its own (only the starter code)"
    return compare.fingerprint(student.student, name, code, k=k, w=w)


def analyse(*, assignment: str, folder: Path, threshold: float = THRESHOLD, k: int = winnow.K,
            w: int = winnow.W, common: int | None = None, exclude: Path | None = None) -> Result:
    """Fingerprint every submission in ``folder`` and score every pair; writes nothing.
    A fingerprint of more than ``common`` submissions (default: :func:`compare.default_common`)
    is an idiom and left out. ``exclude`` (the output folder, if it lies in ``folder``) is no
    student's."""
    began = time.monotonic()
    manifest.get(assignment)
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise SimilarityError(f"{folder}: not a folder (a class's submissions are compared: "
                              "give the folder that holds them)")
    try:
        found = discover(folder, assignment, exclude=exclude)
    except DiscoveryError as exc:
        raise SimilarityError(str(exc)) from None
    except OSError as exc:
        raise SimilarityError(f"{folder}: cannot be read ({exc.strerror})") from None
    given = stub_starter(assignment)
    out: list[compare.Submission] = []
    left: list[tuple[str, str]] = [(_relative(s.path, folder), s.why)
                                   for s in skipped(folder, assignment, found, exclude=exclude)]
    for student in found:
        read = _read(student, assignment, given, folder, k=k, w=w)
        if isinstance(read, compare.Submission):
            out.append(read)
        else:
            left.append(read)
    limit = compare.default_common(len(out)) if common is None else common
    idioms = compare.frequent(out, limit)
    ignore = idioms | compare.starter_hashes(given, k=k)
    return Result(assignment, threshold, out, compare.pairs(out, ignore), left, ignore, k, w,
                  limit, len(idioms), compare.crowded(out, idioms), time.monotonic() - began)


def main(*, assignment: str, folder: Path, out: Path = DEFAULT_OUT,
         threshold: float = THRESHOLD, common: int | None = None) -> Result:
    """Compare the submissions and write the pages and the tables under
    ``<out>/similarity/<assignment>/``; raises :class:`SimilarityError` or
    ``manifest.UnknownAssignment``."""
    result = analyse(assignment=assignment, folder=folder, threshold=threshold, common=common,
                     exclude=Path(out))
    where = Path(out) / FOLDER / assignment
    result.out = where
    page.write_all(result, where)
    (where / "pairs.json").write_text(json.dumps(as_json(result), indent=1) + "\n",
                                      encoding="utf-8")
    (where / "pairs.csv").write_text(as_csv(result), encoding="utf-8")
    _refresh_dashboard(Path(out))
    return result


def _refresh_dashboard(out: Path) -> None:
    """Write the class dashboard in ``out`` again, now with the similar pairs, if a batch made
    one there (its gradebook is read, nothing is graded)."""
    from autograder.batch.gradebook import Gradebook
    from autograder.report import dashboard
    from autograder.similarity.summary import section

    if not (out / "gradebook.sqlite").is_file() or not (out / "index.html").is_file():
        return
    book = Gradebook(out)
    try:
        extra = section(out)
        dashboard.build(out, book.everything(), extras=[extra] if extra else [])
    finally:
        book.close()


def as_json(result: Result) -> dict[str, Any]:
    """What scripts read: the parameters, each pair with its score, the skipped files."""
    return {
        "assignment": result.assignment,
        "threshold": result.threshold,
        "parameters": {"k": result.k, "w": result.w, "common": result.common,
                       "idioms_left_out": result.frequent},
        "made": time.strftime("%Y-%m-%d %H:%M", time.localtime()),
        "submissions": [{"student": s.student, "file": s.file, "tokens": s.code.size,
                         "fingerprints": len(s.prints)} for s in result.submissions],
        "pairs": [pair_row(result, rank, p) for rank, p in enumerate(result.pairs, start=1)],
        "skipped": [{"file": name, "why": why} for name, why in result.skipped],
    }


def pair_row(result: Result, rank: int, pair: compare.Pair) -> dict[str, Any]:
    a, b = result.submissions[pair.a], result.submissions[pair.b]
    flagged = pair.score >= result.threshold
    return {"rank": rank, "a": a.student, "b": b.student, "score": pair.score,
            "shared": pair.shared, "of_a": pair.of_a, "of_b": pair.of_b, "flagged": flagged,
            "file_a": a.file, "file_b": b.file,
            "page": page.pair_name(rank) if flagged and rank <= page.MAX_PAGES else ""}


def as_csv(result: Result) -> str:
    buffer = io.StringIO()
    columns = ["rank", "a", "b", "score", "shared", "of_a", "of_b", "flagged", "file_a",
               "file_b", "page"]
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for rank, pair in enumerate(result.pairs, start=1):  # names are text a spreadsheet opens
        writer.writerow({k: for_csv_cell(v) for k, v in pair_row(result, rank, pair).items()})
    return buffer.getvalue()
