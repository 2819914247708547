"""Reading an input file (a referral, a records file) before it is sent: one sentence for each way it can be
wrong, never a traceback. The API checks the content again; this only refuses what is not a JSON document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.client import CliError

MAX_BYTES = 1024 * 1024  # a referral is a few kilobytes; a records file for a batch, well under this
MAX_DEPTH = 32  # the deepest real input nests five levels


def read_json(path: Path) -> Any:
    if path.is_dir():
        raise CliError(f"{path}: is a folder; give the JSON file.", 2)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CliError(f"{path}: no such file.", 2) from None
    except OSError as error:
        raise CliError(f"{path}: cannot be read ({error.strerror}).", 2) from None
    if size > MAX_BYTES:
        raise CliError(f"{path}: is {size:,} bytes; an input file may be at most {MAX_BYTES:,} bytes.", 2)
    data = path.read_bytes()
    if b"\x00" in data:
        raise CliError(f"{path}: is a binary file, not JSON text.", 2)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{path}: is not UTF-8 text; save it as UTF-8 JSON.", 2) from None
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise CliError(f"{path}: nests {depth} levels deep; at most {MAX_DEPTH} are allowed.", 2)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(
            f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}).", 2
        ) from None


def _depth(text: str) -> int:
    """How deep brackets nest, outside strings: checked before parsing so that nothing recurses on it."""
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
