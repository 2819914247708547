"""Reading a document (a referral, a records file) that a person names on the command line."""

from __future__ import annotations

import stat
from pathlib import Path

from infra.errors import InputError
from protocol.intake import MAX_DOCUMENT_BYTES, DocumentRefused, read_json_document


def read_json_file(path: Path) -> object:
    """The JSON in the file at `path`, or InputError (exit 2) with one sentence: no such file, a directory
    or other non-file, unreadable, too large, binary, not UTF-8, nested too deep, or not valid JSON."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{path} is a folder, not a file; name the JSON file in it.")
        if not stat.S_ISREG(mode):
            raise InputError(f"{path} is not a regular file; name a JSON file.")
        with path.open("rb") as handle:
            data = handle.read(MAX_DOCUMENT_BYTES + 1)  # never more than the limit, whatever stat said
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except PermissionError:
        raise InputError(f"{path} cannot be read: permission denied.") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a file; name the JSON file in it.") from None
    except OSError as error:
        raise InputError(f"{path} cannot be read ({error.strerror or type(error).__name__}).") from None
    try:
        return read_json_document(data)
    except DocumentRefused as refused:
        raise InputError(f"{path} {refused}.") from None
