"""Download one file over https, resuming from the last byte after a dropped connection.

Plain http.client, so every header is ours to control:
  * redirects are followed by hand (at most MAX_REDIRECTS), and the bearer token goes
    only to the origin it was given for: Civitai answers with a redirect to a presigned
    storage URL, which must not receive the key (and would reject a second credential);
  * a resumed request sends `Range: bytes=N-` with `If-Range` (the strong ETag or the
    Last-Modified of the first answer), so a file that changed on the server restarts
    from zero instead of splicing two versions; a server that ignores Range restarts too;
  * every attempt starts again at the source URL (a presigned redirect target may have
    expired) and consecutive attempts without progress are bounded, with backoff;
  * the file name comes from Content-Disposition (filename* first, RFC 6266), else the
    last segment of the final URL.
Bytes are hashed as they arrive, in the same pass that writes them.
"""

from __future__ import annotations

import email.message
import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from sdaws.contract.import_spec import redact_url

from ..errors import SpecError
from .meter import ByteMeter
from .pipeline import HashingWriter
from .secrets import scrub
from .sinks import Sink

MAX_REDIRECTS = 10
ATTEMPTS_WITHOUT_PROGRESS = 6
BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
TIMEOUT_S = 60.0
USER_AGENT = "sdaws-import/1"
_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
_NETWORK_ERRORS = (OSError, http.client.HTTPException, ssl.SSLError, socket.timeout)


class ImportFailed(Exception):
    """The transfer failed for good (after retries); the message is safe to show."""


class _Dropped(Exception):
    """The connection ended early or failed: resume from the last byte."""


@dataclass
class Fetched:
    sha256: str
    size: int
    filename: str | None
    final_url: str  # redacted


def content_disposition_name(value: str | None) -> str | None:
    """The file name a Content-Disposition header gives, reduced to its last path part."""
    if not value:
        return None
    message = email.message.Message()
    message["content-disposition"] = value
    name = message.get_filename()
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name or None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


class _Start:
    def __init__(self, response: http.client.HTTPResponse, conn: http.client.HTTPConnection, url: str) -> None:
        self.response, self.conn, self.url = response, conn, url

    def header(self, name: str) -> str | None:
        return self.response.getheader(name)

    def close(self) -> None:
        self.conn.close()


class HttpFetch:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        timeout_s: float = TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] = lambda _text: None,
    ) -> None:
        self.url = url
        self.token = token
        self.timeout_s = timeout_s
        self.sleep = sleep
        self._log = log
        self._token_origin = _origin(url)
        self._context = ssl.create_default_context()

    def log(self, text: str) -> None:
        self._log(scrub(text, self.token))

    # -- one request, redirects followed ------------------------------------------------
    def _connect(self, url: str) -> http.client.HTTPConnection:
        parts = urlsplit(url)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout_s, context=self._context
            )
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout_s)

    def _headers(self, url: str, offset: int, validator: str | None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", "Accept": "*/*"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator:
                headers["If-Range"] = validator
        if self.token and _origin(url) == self._token_origin:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def open(self, offset: int = 0, validator: str | None = None) -> _Start:
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            conn = self._connect(url)
            try:
                conn.request("GET", path, headers=self._headers(url, offset, validator))
                response = conn.getresponse()
            except _NETWORK_ERRORS as exc:
                conn.close()
                raise _Dropped(f"{type(exc).__name__}: {exc}") from None
            status = response.status
            if status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                conn.close()
                if not location:
                    raise ImportFailed(f"{redact_url(url)} answered {status} without a Location")
                target = urljoin(url, location)
                if urlsplit(target).scheme not in ("https", "http") or (
                    urlsplit(url).scheme == "https" and urlsplit(target).scheme == "http"
                ):
                    raise ImportFailed(f"refusing a redirect from {redact_url(url)} to {redact_url(target)}")
                self.log(f"redirect {status} -> {redact_url(target)}")
                url = target
                continue
            if status in (200, 206):
                return _Start(response, conn, url)
            body = response.read(2000).decode("utf-8", "replace").strip()
            conn.close()
            if status in _RETRYABLE_STATUS:
                raise _Dropped(f"HTTP {status}")
            if status == 416:
                raise _Dropped("HTTP 416 (range not satisfiable)")
            hint = {
                401: "the server wants credentials: pass a token (for Civitai, an API key)",
                403: "access refused: check the token and that the file is public or yours",
                404: "no such file at that URL",
            }.get(status, "the server refused the request")
            detail = scrub(body[:200], self.token)
            raise SpecError(f"{redact_url(url)}: HTTP {status}: {hint}" + (f" ({detail})" if detail else ""))
        raise ImportFailed(f"more than {MAX_REDIRECTS} redirects from {redact_url(self.url)}")

    # -- the whole transfer ------------------------------------------------------------
    def fetch(self, make_sink: Callable[[str | None], Sink], label: str) -> tuple[Fetched, Sink]:
        """Stream the file into the sink `make_sink(file name the server suggests)` returns,
        resuming on drops; returns what was fetched and the sink, not yet committed (the
        caller checks the hash first)."""
        writer: HashingWriter | None = None
        received = 0
        total: int | None = None
        validator: str | None = None
        filename: str | None = None
        final_url = self.url
        sink: Sink | None = None
        meter: ByteMeter | None = None
        failures = 0
        try:
            while True:
                try:
                    start = self.open(received, validator)
                except _Dropped as exc:
                    failures = self._backoff(failures, f"request failed ({exc})")
                    continue
                response = start.response
                before = received
                try:
                    if received and response.status == 200:
                        self.log("the server sent the whole file again (no Range support, or it changed); restarting")
                        received = before = 0
                        if writer is not None and sink is not None:
                            writer.restart(sink.reset)
                    elif received and response.status == 206:
                        begin, _end, length = _content_range(response.getheader("Content-Range"))
                        if begin != received or (total is not None and length not in (None, total)):
                            raise ImportFailed(f"the server resumed at byte {begin}, not {received}")
                    if sink is None:
                        total = _length(response)
                        validator = _validator(response)
                        disposition = response.getheader("Content-Disposition")
                        filename = content_disposition_name(disposition) or _url_name(start.url)
                        final_url = redact_url(start.url)
                        sink = make_sink(filename)
                        writer = HashingWriter(sink.write)
                        meter = ByteMeter(label, total)
                    assert meter is not None and writer is not None
                    meter.restart(received)
                    while True:
                        buffer = writer.buffer()
                        n = response.readinto(buffer)
                        writer.submit(buffer, n)
                        if not n:
                            break
                        received += n
                        meter.update(received)
                    if total is not None and received < total:
                        raise _Dropped(f"connection closed at byte {received} of {total}")
                    if total is not None and received > total:
                        raise ImportFailed(f"the server sent {received} bytes for a {total}-byte file")
                    digest = writer.hexdigest()
                    meter.update(received, force=True)
                    return Fetched(digest, received, filename, final_url), sink
                except (_Dropped, *_NETWORK_ERRORS) as exc:
                    if received > before:
                        failures = 0  # a drop after progress is a fresh start, not a strike
                    self.log(f"connection dropped at byte {received} ({type(exc).__name__}); resuming")
                    failures = self._backoff(failures, "dropped")
                finally:
                    start.close()
        except BaseException:
            if writer is not None:
                writer.abandon()
                writer = None
            if sink is not None:
                sink.abort()
            raise
        finally:
            if writer is not None:
                writer.close()

    def _backoff(self, failures: int, why: str) -> int:
        failures += 1
        if failures >= ATTEMPTS_WITHOUT_PROGRESS:
            raise ImportFailed(f"gave up on {redact_url(self.url)} after {failures} attempts without progress ({why})")
        self.sleep(min(BACKOFF_S * 2 ** (failures - 1), MAX_BACKOFF_S))
        return failures


def _length(response: http.client.HTTPResponse) -> int | None:
    if response.status == 206:
        return _content_range(response.getheader("Content-Range"))[2]
    value = response.getheader("Content-Length")
    return int(value) if value and value.isdigit() else None


def _content_range(value: str | None) -> tuple[int | None, int | None, int | None]:
    # "bytes 100-199/1000" (the total may be "*")
    try:
        unit, _, spec = (value or "").partition(" ")
        span, _, length = spec.partition("/")
        first, _, last = span.partition("-")
        return int(first), int(last), (int(length) if length.isdigit() else None)
    except ValueError:
        raise ImportFailed(f"unreadable Content-Range {value!r}") from None


def _validator(response: http.client.HTTPResponse) -> str | None:
    etag = response.getheader("ETag")
    if etag and not etag.startswith("W/"):  # If-Range takes strong validators only
        return etag
    return response.getheader("Last-Modified")


def _url_name(url: str) -> str | None:
    tail = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return tail or None


def describe(fetched: Fetched) -> dict[str, Any]:
    return {"sha256": fetched.sha256, "size": fetched.size, "source": fetched.final_url}
