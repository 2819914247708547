"""`mvp`: the command line of the case service, a client of the case API grouped by who uses it.

Each command parses, calls the API with httpx, and hands the answer to the one renderer (`cli.render`). It
imports nothing of the server side (only `mvp stack run`, `worker`, `api`, `db migrate` and `keys rotate`,
which run the server, import it when they run). Errors are printed as sentences, without a traceback, with
the exit code the API gave (bad input 2, refused or not signed in 3, not found 4, unavailable 5, tampered 6).
"""

from __future__ import annotations

import os
import sys


def run(argv: list[str]) -> int:
    """Run the CLI and return its exit code (never raises). Usage errors exit 2, as click's do."""
    import typer

    from cli import render
    from cli.app import app
    from cli.client import CliError
    from cli.session import SessionError

    command = typer.main.get_command(app)
    render.training_mode(False)  # each run learns it from the API's answers
    try:
        command.main(args=argv, prog_name="mvp", standalone_mode=True)
        return 0
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except CliError as error:
        if str(error):
            render.err.print(str(error), markup=False, highlight=False)
        return error.exit_code
    except SessionError as error:
        render.err.print(str(error), markup=False, highlight=False)
        return error.exit_code


def main() -> None:
    code = run(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(
        code
    )  # the server commands hold a Temporal client whose runtime can crash at exit (sdk-python#300)
