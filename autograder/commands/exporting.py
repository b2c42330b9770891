"""``autograder export``: the kit packaged for another place (Gradescope, the students, an LMS)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from autograder import manifest
from autograder.commands.common import fail


@click.group()
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
