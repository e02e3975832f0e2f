"""Errors a job raises on purpose.

`SpecError` means the request itself is wrong (bad field, missing input file): the
entrypoint maps it, like every contract `InvalidInput`, to exit code 2 so callers can
tell "fix your request" from "the job broke" (exit 1).
"""

from __future__ import annotations

from sdaws.contract.errors import InvalidInput


class SpecError(InvalidInput):
    """The job's spec or inputs are invalid; the message says what to fix."""
