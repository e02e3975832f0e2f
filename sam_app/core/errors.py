"""Domain errors. Each carries a stable code; the API maps codes to HTTP in one place."""

from __future__ import annotations


class SdawsError(Exception):
    """Base for errors whose message tells the user what to fix."""

    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(SdawsError):
    code = "invalid_input"


class NotFound(SdawsError):
    code = "not_found"


class Conflict(SdawsError):
    code = "conflict"
