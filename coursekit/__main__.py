"""``python -m coursekit``: a student's commands outside the notebook.

::

    python -m coursekit login TOKEN [--service URL]   remember the token (and the service)
    python -m coursekit check NOTEBOOK [FUNCTION]      what check() shows, in the terminal (--json)
    python -m coursekit data                           fetch MNIST into its cache now
    python -m coursekit status                         where check() sends notebooks

Each error is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from coursekit import client, config


def _fail(message: str) -> int:
    print(f"coursekit: error: {message}", file=sys.stderr)
    return 2


def login(token: str, service: str | None) -> int:
    try:
        current = config.settings()
    except config.ConfigError as exc:
        return _fail(str(exc))
    where = service or (current.service if current.service != config.LOCAL else None)
    if not where:
        return _fail("no grading service is known: give its address with --service URL")
    try:
        me = client.whoami(where, token)
    except client.ServiceError as exc:
        return _fail(f"{where}: {exc}")
    path = config.save(service=service, token=token)
    print(f"logged in to {where} as {me.get('student', '?')}; saved in {path}")
    return 0


def status() -> int:
    try:
        current = config.settings()
    except config.ConfigError as exc:
        return _fail(str(exc))
    if current.service is None:
        print("no grading service configured: check() runs the notebooks' self-checks only")
    else:
        token = "a token" if current.token else "no token"
        print(f"check() sends notebooks to {current.service} (from {current.source}), with "
              f"{token}")
    return 0


def data() -> int:
    from coursekit.data import mnist

    try:
        folder = mnist.ensure(names=mnist.NOTEBOOK_FILES)
    except mnist.MnistUnavailable as exc:
        return _fail(str(exc))
    print(f"MNIST is ready in {folder}")
    return 0


def check_notebook(notebook: str, function: str | None, as_json: bool) -> int:
    from coursekit.checker import check

    result = check(function, path=notebook)
    if as_json:
        print(json.dumps({"assignment": result.assignment, "problem": result.problem,
                          "score": result.score, "max_score": result.max_score,
                          "tests": result.tests, "selfchecks": result.selfchecks,
                          "notes": result.notes, "notice": result.notice}, indent=1))
    else:
        print(repr(result))
    return 2 if result.problem else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit",
                                     description="The course's notebooks, from a terminal.")
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("login", help="remember your token for the grading service")
    p.add_argument("token")
    p.add_argument("--service", help="the grading service's address (https://...)")
    p = commands.add_parser("check", help="grade a saved notebook, as check() does")
    p.add_argument("notebook")
    p.add_argument("function", nargs="?")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    commands.add_parser("data", help="fetch MNIST into its cache")
    commands.add_parser("status", help="say where check() sends notebooks")
    args = parser.parse_args(argv)
    if args.command == "login":
        return login(args.token, args.service)
    if args.command == "check":
        return check_notebook(args.notebook, args.function, args.json)
    if args.command == "data":
        return data()
    return status()


if __name__ == "__main__":
    sys.exit(main())
