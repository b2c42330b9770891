"""The ``autograder`` command: thin click wrappers over keyword-only functions."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import click

from autograder import manifest


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, and exit 2 (or ``code``); the message may quote a file's name:
    printed inert."""
    from autograder.text import for_terminal

    click.echo(f"autograder: error: {for_terminal(message)}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def status_line() -> Iterator[Callable[[str], None] | None]:
    """A spinner with what is being done, on a terminal's stderr; nothing elsewhere.

    It writes to its own copy of the stderr descriptor: pytest captures fd 2 while the suite runs.
    """
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.markup import escape

    with open(os.dup(sys.stderr.fileno()), "w") as terminal:
        console = Console(file=terminal)
        with console.status("starting") as status:
            yield lambda text: status.update(escape(text))


def dashboard_extras(folder: Path) -> list[str]:
    """Sections of the class dashboard made by other commands (the similar pairs)."""
    from autograder.similarity.summary import section

    found = section(folder)
    return [found] if found else []


def in_template() -> None:
    """Run this command in a fork of the warm template and exit as it does (once per command:
    TensorFlow is imported by the template only; see autograder/worker/zygote.py). Where there
    is no template, return and let the command run here."""
    from autograder.worker import template

    code = template.delegate("autograder.cli:main", [sys.argv[1:]])
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
        manifest.get(assignment)  # a mistyped name is said at once, before anything starts
    except manifest.UnknownAssignment as exc:
        fail(str(exc))
    template.start()  # TensorFlow's import begins; what cannot be graded is said meanwhile
    from autograder.grading.hidden import SecretError, course_secret
    from autograder.submission.load import SubmissionError, load

    try:
        load(path, assignment)
        course_secret()
    except (SubmissionError, SecretError) as exc:
        template.discard()
        fail(str(exc))
    in_template()
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


@main.group()
def export() -> None:
    """Package the kit for another grading service, or its grades for an LMS."""


@export.command()
@click.argument("assignment")
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("autograder.zip"),
              show_default=True, help="The zip to write.")
def gradescope(assignment: str, out: Path) -> None:
    """Build Gradescope's autograder package (setup.sh, run_autograder, the kit, MNIST) for
    ASSIGNMENT; upload the zip as the assignment's autograder."""
    from autograder.export import gradescope as package
    from autograder.grading.hidden import SecretError

    try:
        path = package.main(assignment=assignment, out=out,
                            progress=lambda text: click.echo(f"{text} ...", err=True))
    except (manifest.UnknownAssignment, package.ExportError, SecretError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out}: {exc.strerror}")
    size = path.stat().st_size / 1e6
    click.echo(f"wrote {path} ({size:.1f} MB): upload it as the autograder of {assignment} "
               "(base image Ubuntu 22.04; see the README's \"Grading on Gradescope\")")


@export.command()
@click.argument("assignments", nargs=-1)
@click.option("-o", "--out", type=click.Path(path_type=Path), default=Path("nn-tf-course.zip"),
              show_default=True, help="The folder to write, or a zip (a name ending in .zip).")
@click.option("--service", metavar="URL", default=None,
              help="The course's grading service (autograder serve), written into the bundle.")
def student(assignments: tuple[str, ...], out: Path, service: str | None) -> None:
    """Build the student bundle: the released notebooks of ASSIGNMENTS (default: all) and the
    package they import, with no reference solution, hidden test or secret in it."""
    from autograder.export import student as bundle

    try:
        path, note = bundle.main(assignments=list(assignments), out=out, service=service,
                                 progress=lambda text: click.echo(f"{text} ...", err=True))
    except (manifest.UnknownAssignment, bundle.ExportError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or out}: {exc.strerror}")
    if note:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {path}: give it to the students (its README.md says how to set up)")


def _grade_export(lms: str, default_out: Path) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The arguments and options that ``export canvas``, ``moodle`` and ``csv`` share."""
    roster_help = ("The LMS's list of students: its own export (Canvas's gradebook CSV, Moodle's "
                   "grades export or participants list) or a CSV with a header"
                   + (" [optional]." if lms == "csv" else "."))
    shared = [
        click.argument("grades", type=click.Path(path_type=Path)),
        click.argument("assignments", nargs=-1),
        click.option("--roster", type=click.Path(path_type=Path), required=lms != "csv",
                     help=roster_help),
        click.option("--name-column", metavar="COLUMN", default=None,
                     help="The roster's column holding the kit's student names "
                          "[default: the best match of its usual columns, see docs/lms.md]."),
        click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False),
                     default=default_out, show_default=True, help="The file to write."),
    ]

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(shared):
            function = option(function)
        return function
    return decorate


def _export_grades(lms: str, **options: object) -> None:
    from autograder.lms import command

    try:
        summary = command.main(lms=lms, **options)  # type: ignore[arg-type]
    except command.LmsError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{exc.filename or options.get('out')}: {exc.strerror}")
    for line in summary.problems:
        click.echo(line, err=True)
    click.echo(summary.headline())


@export.command()
@_grade_export("canvas", Path("canvas.csv"))
@click.option("--column", "columns", multiple=True, metavar="ASSIGNMENT=HEADER",
              help="The Canvas column of an assignment, e.g. mlp_mnist='Lab 5 (4567)' "
                   "[default: found in a Canvas export by title, else a new assignment].")
def canvas(grades: Path, assignments: tuple[str, ...], roster: Path, name_column: str | None,
           out: Path, columns: tuple[str, ...]) -> None:
    """Write Canvas's Gradebook import CSV of ASSIGNMENTS (default: all) from GRADES (a batch's
    output folder or nbgrader's course folder)."""
    pairs = dict(c.split("=", 1) for c in columns if "=" in c)
    if len(pairs) != len(columns):
        fail("--column takes ASSIGNMENT=HEADER, e.g. mlp_mnist='Lab 5 (4567)'")
    _export_grades("canvas", gradebook=grades, assignments=assignments, roster=roster,
                   name_column=name_column, out=out, columns=pairs)


@export.command()
@_grade_export("moodle", Path("moodle.csv"))
@click.option("--id-column", metavar="COLUMN", default=None,
              help="The roster's column that identifies students to Moodle [default: Email "
                   "address, else Username, else ID number].")
@click.option("--feedback", is_flag=True, help="Add a feedback column after each grade column.")
def moodle(grades: Path, assignments: tuple[str, ...], roster: Path, name_column: str | None,
           out: Path, id_column: str | None, feedback: bool) -> None:
    """Write a CSV for Moodle's "Import grades from CSV file" of ASSIGNMENTS (default: all) from
    GRADES (a batch's output folder or nbgrader's course folder)."""
    _export_grades("moodle", gradebook=grades, assignments=assignments, roster=roster,
                   name_column=name_column, out=out, id_column=id_column, feedback=feedback)


@export.command(name="csv")
@_grade_export("csv", Path("grades.csv"))
@click.option("--id-column", metavar="COLUMN", default=None,
              help="The roster's column written as lms_id [default: its first LMS identifier].")
def plain_csv(grades: Path, assignments: tuple[str, ...], roster: Path | None,
              name_column: str | None, out: Path, id_column: str | None) -> None:
    """Write a plain CSV (student, lms_id, each assignment's score, max, status, note) of
    ASSIGNMENTS (default: all) from GRADES (a batch's output folder or nbgrader's course folder)."""
    _export_grades("csv", gradebook=grades, assignments=assignments, roster=roster,
                   name_column=name_column, out=out, id_column=id_column)


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
        manifest.get(assignment)
    except manifest.UnknownAssignment as exc:
        fail(str(exc))
    template.start()  # TensorFlow's import begins; what cannot be graded is answered meanwhile
    from autograder.export import runner

    try:
        results = runner.check(assignment=assignment, root=root)
        if results is not None:
            template.discard()
        else:
            in_template()
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


def _parsed(parse: Callable[[str], object]) -> Callable[..., object]:
    """A click callback turning a parser's ValueError into click's "Invalid value" line."""
    def callback(_ctx: click.Context, _param: click.Parameter, value: str) -> object:
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return callback


def _serve_options(function: Callable[..., None]) -> Callable[..., None]:
    from autograder.serve.limits import parse_rate, parse_size
    from autograder.serve.settings import DEFAULTS, help_of

    options = [
        click.option("--db", type=click.Path(path_type=Path, dir_okay=False), required=True,
                     help=help_of("db")),
        click.option("--host", default=DEFAULTS.host, show_default=True, help=help_of("host")),
        click.option("--port", type=click.IntRange(0, 65535), default=DEFAULTS.port,
                     show_default=True, help=help_of("port")),
        click.option("--rate", default=str(DEFAULTS.rate), show_default=True,
                     callback=_parsed(parse_rate), help=help_of("rate")),
        click.option("--max-upload", default="10MB", show_default=True,
                     callback=_parsed(parse_size), help=help_of("max_upload")),
        click.option("--workers", type=click.IntRange(min=1), default=None, help=help_of("workers")),
        click.option("--dask", "dask_address", metavar="ADDRESS", default=None, help=help_of("dask")),
        click.option("--assignment", "assignments", multiple=True, help=help_of("assignments")),
        click.option("--log", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help=help_of("log")),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@main.command()
@_serve_options
def serve(db: Path, host: str, port: int, rate: Any, max_upload: int, workers: int | None,
          dask_address: str | None, assignments: tuple[str, ...], log: Path | None) -> None:
    """Serve checks: students' check() sends a saved notebook and gets its grade, graded as
    `autograder grade` does (see docs/service.md). Stop it with Ctrl-C or SIGTERM."""
    from autograder.serve import command
    from autograder.serve.settings import Settings

    settings = Settings(db=db, host=host, port=port, rate=rate, max_upload=max_upload,
                        workers=workers, dask=dask_address, assignments=assignments, log=log)
    try:
        command.main(settings=settings, ready=lambda url: click.echo(
            f"autograder serve: listening on {url} ({dask_address or settings.graders} graders, "
            f"database {db})"))
    except command.ServeError as exc:
        fail(str(exc))


@main.command()
@click.argument("roster", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The service's database (as for `autograder serve`); made if missing.")
@click.option("-o", "--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Add student,token rows to this CSV (mode 0600) [default: print them].")
@click.option("--rotate", is_flag=True,
              help="Issue a new token to every student (the old ones stop working).")
def tokens(roster: Path, db: Path, out: Path | None, rotate: bool) -> None:
    """Issue a token to each student of ROSTER who has none: nbgrader's gradebook.db, or a CSV
    with a column student (or id, or the first column). Only the tokens' hashes are kept."""
    from autograder.serve import command

    try:
        done = command.issue_tokens(roster=roster, db=db, out=out, rotate=rotate)
    except command.ServeError as exc:
        fail(str(exc))
    if out is None:
        click.echo(command.tokens_csv(done.issued), nl=False)
    click.echo(done.describe(out), err=True)


@main.command()
@click.option("--db", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The service's database.")
@click.option("--csv", "csv_out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the table to this CSV file.")
def checks(db: Path, csv_out: Path | None) -> None:
    """How often each student checked each assignment with the service, their last and best
    score."""
    from autograder.serve import command

    try:
        rows = command.report(db=db, csv_out=csv_out)
    except command.ServeError as exc:
        fail(str(exc))
    click.echo(command.table(rows))


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
