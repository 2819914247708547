"""Reading an input file (a referral, a records file) before it is sent: one sentence for each way it can be
wrong, never a traceback, with the same rules the API applies to request bodies (`models.documents`)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from cli.client import CliError
from models.documents import MAX_DOCUMENT_BYTES, DocumentRefused, read_json_document


def read_json(path: Path) -> Any:
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise CliError(f"{path} is a folder, not a file; name the JSON file in it.", 2)
        if not stat.S_ISREG(mode):
            raise CliError(f"{path} is not a regular file; name a JSON file.", 2)
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)  # never more than the limit, whatever stat said
    except FileNotFoundError:
        raise CliError(f"{path}: no such file.", 2) from None
    except PermissionError:
        raise CliError(f"{path} cannot be read: permission denied.", 2) from None
    except OSError as error:
        raise CliError(f"{path} cannot be read ({error.strerror or type(error).__name__}).", 2) from None
    try:
        return read_json_document(data)
    except DocumentRefused as refused:
        raise CliError(f"{path} {refused}.", 2) from None
