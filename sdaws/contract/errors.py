"""Domain errors and how a validation error reads.

Each error carries a stable code; the API maps codes to HTTP in one place, the job code
maps `InvalidInput` to exit code 2 and the CLI to one line on stderr.
"""

from __future__ import annotations

from pydantic import ValidationError

MAX_LISTED_PROBLEMS = 8


class SdawsError(Exception):
    """Base for errors whose message tells the user what to fix."""

    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(SdawsError, ValueError):
    """The request (params, spec, name, file) is wrong; the message says what to fix."""

    code = "invalid_input"


class NotFound(SdawsError):
    code = "not_found"


class Conflict(SdawsError):
    code = "conflict"


class StorageFull(SdawsError):
    """The disk (or quota) holding the named place is full; nothing was half-written."""

    code = "disk_full"


def describe_validation_error(exc: ValidationError, root: str = "") -> str:
    """One sentence for all problems: `root.field: message; …` (at most 8 listed)."""
    parts = []
    for err in exc.errors()[:MAX_LISTED_PROBLEMS]:
        where = ".".join(str(p) for p in (root, *err.get("loc", ())) if p != "") or root or "value"
        parts.append(f"{where}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)
