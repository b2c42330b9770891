"""The ``autograder`` command: thin click wrappers over keyword-only functions."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import click

from autograder import manifest
from autograder.commands import exporting, serving
from autograder.commands.common import fail, status_line

__all__ = ["fail", "main", "status_line"]


def dashboard_extras(folder: Path) -> list[str]:
    """Sections of the class dashboard made by other commands (the similar pairs)."""
    from autograder.similarity.summary import section

    found = section(folder)
    return [found] if found else []


def in_template(*, tensorflow: bool = True) -> None:
    """Run this command in a fork of the warm template and exit as it does (once per command:
    TensorFlow is imported by the template only; see autograder/worker/zygote.py). Where there
    is no template, return and let the command run here."""
    from autograder.worker import template

    code = template.delegate("autograder.cli:main", [sys.argv[1:]], tensorflow=tensorflow)
    if code is not None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nn-tf-autograder")
def main() -> None:
    """Auto-graded exercises for "Neural Networks with TensorFlow"."""


@main.command()
@click.argument("assignment")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Write Gradescope's results.json here.")
@click.option("--html", "html_out", type=click.Path(path_type=Path), default=None,
              help="Write a report page (every test, its points and its reason) here.")
@click.option("--call-timeout", type=float, default=None,
              help="Seconds a single call of a student function may take.")
def grade(assignment: str, path: Path, json_out: Path | None, html_out: Path | None,
          call_timeout: float | None) -> None:
    """Grade one submission (a .ipynb, a .py, or a folder holding one) for ASSIGNMENT."""
    from autograder.worker import template

    try:
        graded = manifest.get(assignment)  # a mistyped name is said at once, before anything
    except manifest.UnknownAssignment as exc:
        fail(str(exc))
    # TensorFlow's import begins; what cannot be graded is said meanwhile
    template.start(tensorflow=graded.tensorflow)
    from autograder.grading.hidden import SecretError, course_secret
    from autograder.submission.load import SubmissionError, load

    try:
        load(path, assignment)
        course_secret()
    except (SubmissionError, SecretError) as exc:
        template.discard()
        fail(str(exc))
    in_template(tensorflow=graded.tensorflow)
    from dataclasses import replace

    from autograder.grading.proxy import SandboxRefused
    from autograder.grading.report import print_report
    from autograder.grading.run import SuiteMissing, exit_without_teardown
    from autograder.grading.run import grade as run_grade
    from autograder.submission.load import SubmissionError
    from autograder.worker.limits import Limits

    limits = Limits() if call_timeout is None else replace(Limits(), call_timeout=call_timeout)
    try:
        with status_line() as progress:
            result = run_grade(assignment=assignment, submission=path, json_out=json_out,
                               limits=limits, progress=progress, figures=html_out is not None)
    except (manifest.UnknownAssignment, SubmissionError, SecretError, SuiteMissing) as exc:
        fail(str(exc))
    except SandboxRefused as exc:  # the machine cannot grade safely: no grade, status 3
        fail(str(exc), code=3)
    except OSError as exc:
        fail(f"{exc.filename or json_out}: {exc.strerror}")
    if html_out is not None:
        from autograder.report.submission import write_report

        try:
            write_report(result.to_gradescope(), html_out)
        except OSError as exc:
            fail(f"{exc.filename or html_out}: {exc.strerror}")
    print_report(result)
    exit_without_teardown(0)  # the results are written and the worker is gone


@main.command()
@click.argument("assignment")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for gradebook.sqlite, <assignment>.csv and the results.json files "
                   "[default: grades].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Submissions graded at once on this machine [default: one per core].")
@click.option("--dask", "dask_address", metavar="ADDRESS", default=None,
              help="Grade on the Dask cluster whose scheduler is at ADDRESS instead.")
@click.option("--force", is_flag=True, help="Grade everything again, changed or not.")
@click.option("--figures", is_flag=True,
              help="Add the suite's figures to each report (mlp_mnist: a training run more).")
def batch(assignment: str, folder: Path, out: Path | None, workers: int | None,
          dask_address: str | None, force: bool, figures: bool) -> None:
    """Grade every submission of ASSIGNMENT in FOLDER (nbgrader's submitted/ layout or a flat
    folder of files); a second run grades only what is new or changed."""
    from autograder.batch import command

    try:
        summary = command.main(assignment=assignment, folder=folder, out=out or command.DEFAULT_OUT,
                               workers=workers, dask=dask_address, force=force, figures=figures,
                               extras=dashboard_extras)
    except (manifest.UnknownAssignment, command.BatchError) as exc:
        fail(str(exc))
    click.echo(summary.describe())
    sys.exit(130 if summary.interrupted else 1 if summary.failed else 0)


@main.command()
@click.argument("assignment")
@click.option("--functions", default=None, metavar="F,G",
              help="Mutate only these graded functions (comma-separated).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Grade a sample of this many mutants (drawn with --seed).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Mutants graded at once [default: one per core].")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Write the audit as JSON here.")
@click.option("--html", "html_out", type=click.Path(path_type=Path), default=None,
              help="Write a page with every survivor's diff here.")
def audit(assignment: str, functions: str | None, limit: int | None, seed: int,
          workers: int | None, json_out: Path | None, html_out: Path | None) -> None:
    """Mutation-test ASSIGNMENT's hidden suite: grade small wrong versions of the reference and
    report the ones that keep their points."""
    from autograder.audit import command
    from autograder.audit.report import print_report
    from autograder.grading.hidden import SecretError

    names = [f.strip() for f in functions.split(",") if f.strip()] if functions else None
    try:
        result = command.main(assignment=assignment, functions=names, limit=limit, seed=seed,
                              workers=workers, json_out=json_out, html_out=html_out)
    except (manifest.UnknownAssignment, command.AuditError, SecretError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or json_out or html_out}: {exc.strerror}")
    print_report(result)
    sys.exit(0)


@main.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
def report(folder: Path) -> None:
    """Write FOLDER/index.html (the class dashboard) and each submission's report again from
    FOLDER/gradebook.sqlite, without grading anything."""
    from autograder.batch.gradebook import Gradebook
    from autograder.report import dashboard

    if not (folder / "gradebook.sqlite").is_file():
        fail(f"{folder}: holds no gradebook.sqlite (made by `autograder batch`)")
    try:
        book = Gradebook(folder)
        try:
            path = dashboard.build(folder, book.everything(), extras=dashboard_extras(folder))
        finally:
            book.close()
    except OSError as exc:
        fail(f"{exc.filename or folder}: {exc.strerror}")
    except Exception as exc:  # sqlite3.Error and a gradebook of another shape
        fail(f"{folder / 'gradebook.sqlite'}: cannot be read ({exc})")
    click.echo(f"wrote {path}")


@main.command()
@click.argument("assignment")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write the pages and tables into OUT/similarity/ASSIGNMENT/ [default: grades, "
                   "beside autograder batch's dashboard].")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, metavar="X",
              help="Flag the pairs scoring X or more, from 0 to 1 [default: 0.6].")
@click.option("--common", type=click.IntRange(min=1), default=None, metavar="N",
              help="Leave out code found in more than N submissions, as an idiom [default: 10, "
                   "or a tenth of the submissions if more].")
def similarity(assignment: str, folder: Path, out: Path | None, threshold: float | None,
               common: int | None) -> None:
    """Find submissions of ASSIGNMENT in FOLDER whose own code is alike, whatever their variable
    names, layout, comments and order of functions (the starter code does not count). Runs no
    code; writes a ranked list, side-by-side pages of the flagged pairs, pairs.json and CSV."""
    from autograder.similarity import command

    try:
        result = command.main(assignment=assignment, folder=folder,
                              out=out or command.DEFAULT_OUT,
                              threshold=command.THRESHOLD if threshold is None else threshold,
                              common=common)
    except (manifest.UnknownAssignment, command.SimilarityError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out}: {exc.strerror}")
    click.echo(command.describe(result))


@main.command(name="gradescope-run")
@click.argument("assignment")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False),
              default=Path("/autograder"), show_default=True,
              help="Gradescope's folder: submission/ in, results/results.json out.")
def gradescope_run(assignment: str, root: Path) -> None:
    """Grade the submission in ROOT/submission/ and write ROOT/results/results.json (what the
    package's run_autograder runs on Gradescope)."""
    from autograder.worker import template

    try:
        graded = manifest.get(assignment)
    except manifest.UnknownAssignment as exc:
        fail(str(exc))
    # TensorFlow's import begins; what cannot be graded is answered meanwhile
    template.start(tensorflow=graded.tensorflow)
    from autograder.export import runner

    try:
        results = runner.check(assignment=assignment, root=root)
        if results is not None:
            template.discard()
        else:
            in_template(tensorflow=graded.tensorflow)
            results = runner.run(assignment=assignment, root=root)
    except OSError as exc:
        template.discard()
        fail(f"{exc.filename or root}: {exc.strerror}")
    click.echo(f"{results['score']:g} / {results['max_score']:g}")
    from autograder.grading import isolation
    from autograder.grading.run import exit_without_teardown

    line = isolation.warning(results.get("extra_data", {}).get("isolation", {}))
    if line:  # Gradescope shows this output to instructors only (stdout_visibility hidden)
        click.echo(f"autograder: warning: {line}")

    exit_without_teardown(0)


@main.command(name="list")
def list_assignments() -> None:
    """List the course's assignments in order, with their points."""
    for i, a in enumerate(manifest.ASSIGNMENTS, start=1):
        click.echo(f"{i}. {a.name:<18} {a.points:>4} points  {a.title}")


@main.command()
@click.argument("assignments", nargs=-1)
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=Path("."),
              show_default=True, help="The repository root to write into.")
@click.option("--check", is_flag=True, help="Only compare; exit 1 if a generated file drifted.")
def generate(assignments: tuple[str, ...], root: Path, check: bool) -> None:
    """Write student notebooks, reference solutions and nbgrader sources from the masters.

    With no ASSIGNMENTS, every assignment of the manifest.
    """
    from autograder.generate import command

    names = list(assignments) or None
    try:
        for name in names or []:
            manifest.get(name)
        if check:
            problems = command.drift(root=root, assignments=names)
            for problem in problems:
                click.echo(problem)
            sys.exit(1 if problems else 0)
        for path in command.main(root=root, assignments=names):
            click.echo(f"wrote {path}")
    except (manifest.UnknownAssignment, ValueError, OSError) as exc:
        fail(str(exc))


@main.command()
def data() -> None:
    """Fetch MNIST into its cache (verified by sha256), test labels too, and say where it is;
    make the kit's answers unreadable to other users (see docs/threat-model.md)."""
    from autograder.grading.process import grader_data
    from autograder.worker import floor
    from coursekit.data import mnist

    try:
        directory = mnist.ensure()
    except mnist.MnistUnavailable as exc:
        fail(str(exc))
    click.echo(f"MNIST is ready in {directory}")
    changed = floor.protect(floor.answers(grader_data(), outside=False))
    if changed:
        click.echo(f"unreadable to other users now: {len(changed)} of the kit's answers "
                   f"({', '.join(Path(p).name for p in changed[:6])}"
                   f"{', ...' if len(changed) > 6 else ''})")


main.add_command(exporting.export)
for command in (serving.serve, serving.tokens, serving.checks):
    main.add_command(command)
