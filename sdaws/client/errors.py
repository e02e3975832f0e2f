"""The client's errors, and the one place an httpx failure becomes one of them.

Every failure surfaces as an :class:`ApiError` subclass whose ``str()`` is a sentence a
user can act on; callers (TUI, CLI) never see raw httpx exceptions. The API calls, the
job-input and output transfers and the uploader's part sender all map transport
failures through :func:`transport_error`, so a refused connection reads the same
wherever it happens.
"""

from __future__ import annotations

import httpx


class ApiError(Exception):
    """An API call failed; ``str(exc)`` says what to fix."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class AuthError(ApiError):
    """401 (no token sent) or 403 (token refused)."""


class NotFound(ApiError):
    """404: the model, upload or job does not exist."""


class Conflict(ApiError):
    """409: the name is taken (an upload without overwrite, a job output name)."""


class ValidationFailed(ApiError):
    """422: the request body or parameters are wrong."""


class ConnectFailed(ApiError):
    """The API could not be reached: bad URL, refused, DNS, TLS."""


class WrongUrl(ApiError):
    """API Gateway has no such route or stage (its 403 "Missing Authentication Token")."""


class TimedOut(ApiError):
    """The API did not answer in time."""


def _shown(url: str) -> str:
    # A presigned URL's query is a (short-lived) signature: never print it.
    return url.split("?", 1)[0]


def transport_error(exc: httpx.HTTPError, doing: str, url: str) -> ApiError:
    """The ApiError for an httpx failure; ``doing`` reads before the URL ("reach the API at")."""
    where = _shown(url)
    if isinstance(exc, httpx.TimeoutException):
        return TimedOut(f"Could not {doing} {where}: no answer in time ({type(exc).__name__}).", code="timeout")
    if isinstance(exc, httpx.InvalidURL):
        return ConnectFailed(f"'{where}' is not a valid URL: {exc}", code="bad_url")
    if isinstance(exc, httpx.TransportError):
        return ConnectFailed(f"Cannot {doing} {where}: {exc or type(exc).__name__}. Check the URL.", code="connect")
    return ApiError(f"Could not {doing} {where}: {type(exc).__name__}: {exc}")


def status_error(response: httpx.Response, doing: str) -> ApiError:
    """The ApiError for a non-2xx answer from a presigned URL (no JSON body to read)."""
    return ApiError(
        f"Could not {doing} {_shown(str(response.url))}: HTTP {response.status_code}", status=response.status_code
    )
