"""Home Office reference records (records administrators)."""

from __future__ import annotations

from pathlib import Path

import typer

from cli import render
from cli.common import AsOption, api
from cli.files import read_json

app = typer.Typer(no_args_is_help=True, help="Home Office reference records (records administrators).")


@app.command("load")
def load(
    path: Path = typer.Argument(..., help="A records file shaped as examples/records.json."),
    actor: str | None = AsOption,
) -> None:
    """Load or refresh Home Office reference records (status and criminality) for screening."""
    counts = api(actor).post("/records", read_json(path))
    render.out.print(
        f"Loaded {counts['immigration_status']} immigration status record(s) and "
        f"{counts['criminal_records']} criminal record(s)."
    )
