"""``autograder serve``, ``tokens`` and ``checks``: the course's grading service and its records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from autograder.commands.common import fail


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


@click.command()
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


@click.command()
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


@click.command()
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
