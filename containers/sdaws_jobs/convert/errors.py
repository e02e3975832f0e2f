"""Errors the conversion engine raises on purpose.

All are `SpecError`s (the input is what needs fixing), so the job entrypoint and the
CLI map them to exit code 2 with the message alone, never a traceback.
"""

from __future__ import annotations

import functools

from sdaws.contract.architecture import UnknownArchitectureError

from ..errors import SpecError

__all__ = ["ConvertError", "CorruptCheckpointError", "UnknownArchitectureError", "UnsafeCheckpointError"]


class ConvertError(SpecError):
    """A conversion or export cannot proceed; the message says what to fix."""


class UnsafeCheckpointError(ConvertError):
    """A pickle references a global outside the allow-list; nothing in it was run."""


class CorruptCheckpointError(ConvertError):
    """The file is truncated, corrupt, or not a checkpoint format we read."""


def deep_input_is_convert_error(func):
    """Whatever in an input still nests deep enough to exhaust Python's recursion (a config,
    a pickle) is the input's fault: a ConvertError with one line, never a RecursionError."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except RecursionError:
            raise ConvertError("the input nests objects too deeply to be a model; it cannot be converted") from None

    return wrapper
