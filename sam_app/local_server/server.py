"""The embedded local server: the very same API app on loopback.

HTTP requests become API Gateway (REST, v1) proxy events for the same Dispatcher
the Lambda handler uses, so both worlds share routing, validation, auth and
errors. One extra route, `PUT /_parts/<upload>/<n>`, plays S3's part of a
presigned multipart upload: it is authorised by the URL's HMAC signature instead
of the token, exactly as S3 presigned URLs are. Connections, timeouts and the
worker pool are connections.PooledHTTPServer's.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sam_app.api.dispatch import Dispatcher
from sdaws.contract.errors import Conflict, NotFound, SdawsError, StorageFull

from .announce import announce, withdraw
from .connections import BODY_TIMEOUT_S, PooledHTTPServer
from .job_files_route import FILES_ROUTE, serve_job_file
from .wiring import build_local_services

logger = logging.getLogger(__name__)

MAX_API_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
# A refused part's unread bytes are read and dropped up to this much, so the client gets
# to read the answer (a 507, a 400) instead of a connection reset mid-send.
DRAIN_LIMIT = 256 * 1024 * 1024
_DIGITS = re.compile(r"[0-9]{1,19}")
_PART_NUMBER = re.compile(r"[0-9]{1,5}")  # S3's part numbers: 1..10000, ASCII digits only
STATUS_BY_ERROR = {NotFound: 404, Conflict: 409, StorageFull: 507}


def to_event(method: str, raw_path: str, headers: dict[str, list[str]], body: bytes, client_ip: str) -> dict:
    url = urlsplit(raw_path)
    query = parse_qs(url.query, keep_blank_values=True)
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": {k: v[-1] for k, v in headers.items()},
        "multiValueHeaders": headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "requestId": uuid.uuid4().hex,
            "stage": "local",
            "httpMethod": method,
            "path": url.path,
            "resourcePath": url.path,
            "identity": {"sourceIp": client_ip},
        },
        "body": text if body else None,
        "isBase64Encoded": is_b64,
    }


class _Handler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"
    server_version = "sdaws"
    timeout = BODY_TIMEOUT_S  # each read or write of a body waits at most this long for the peer
    disable_nagle_algorithm = True  # small answers on kept-alive connections go out at once

    def setup(self) -> None:
        self.timeout = self.server.body_timeout_s
        super().setup()

    def log_message(self, fmt: str, *args) -> None:  # requests go to logging, never the token
        logger.debug("%s %s", self.address_string(), fmt % args)

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        self.server.headers_read(self)
        if not parsed:
            return False
        lengths = set(self.headers.get_all("Content-Length") or [])
        if self.headers.get("Transfer-Encoding") is not None:
            # Honouring one and parsing the rest as a next request is how requests get smuggled.
            self.close_connection = True
            if lengths:
                self._send_error(400, "bad_request", "send Content-Length or Transfer-Encoding, not both")
            else:
                self._send_error(411, "length_required", "chunked bodies are not supported; send Content-Length")
            return False
        if len(lengths) > 1:
            self.close_connection = True
            self._send_error(400, "bad_request", "the request has several different Content-Length headers")
            return False
        return True

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """Status line, headers and body in one write (two small writes meet Nagle and delayed ACK)."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        data = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(data)

    def _send_error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": code, "message": message}).encode()
        self._send(status, body, {"Content-Type": "application/json"})

    def _length(self) -> int | None:
        value = self.headers.get("Content-Length")
        if value is None:
            return 0 if self.command in ("GET", "DELETE", "HEAD") else None
        value = value.strip()
        return int(value) if _DIGITS.fullmatch(value) else None

    def _dispatch(self) -> None:
        if self.path.startswith("/_parts/"):
            return self._put_part()
        if self.path.startswith(FILES_ROUTE):
            return serve_job_file(self, self.server.jobs.files)
        length = self._length()
        if length is None:
            self.close_connection = True
            return self._send_error(411, "length_required", "send a Content-Length header")
        if length > MAX_API_BODY:
            self.close_connection = True
            return self._send_error(413, "too_large", f"request body over {MAX_API_BODY} bytes")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name, []).append(value)
        event = to_event(self.command, self.path, headers, body, self.client_address[0])
        response = self.server.dispatcher(event)
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        out_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers.setdefault(name, values[-1])
        out_headers.pop("Content-Length", None)
        self._send(int(response["statusCode"]), data, out_headers)

    def _put_part(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if self.command != "PUT" or len(parts) != 3 or not _PART_NUMBER.fullmatch(parts[2]):
            self.close_connection = True
            return self._send_error(404, "no_route", "part URLs take PUT /_parts/<upload>/<part>")
        storage_id, part_number = parts[1], int(parts[2])
        if not self.server.multipart.signer.valid(
            storage_id, part_number, query.get("expires"), query.get("signature")
        ):
            self.close_connection = True
            return self._send_error(
                403, "forbidden", "part URL signature is invalid or expired; GET /uploads/<id> for fresh URLs"
            )
        length = self._length()
        if length is None:
            self.close_connection = True
            return self._send_error(411, "length_required", "send a Content-Length header")
        body = _CountingReader(self.rfile)
        try:
            etag = self.server.multipart.write_part(storage_id, part_number, body, length)
        except (SdawsError, ValueError) as exc:
            self.close_connection = True
            _drain(self.rfile, length - body.read_bytes)
            if isinstance(exc, SdawsError):
                return self._send_error(STATUS_BY_ERROR.get(type(exc), 400), exc.code, exc.message)
            return self._send_error(404, "not_found", "no such upload")
        self._send(200, b"", {"ETag": etag})

    def _guarded(self) -> None:
        try:
            self._dispatch()
        except ConnectionError:  # the peer went away (reset, broken pipe, stopped sending)
            self.close_connection = True
        except TimeoutError:  # the peer stopped sending (or reading) mid-body
            self.close_connection = True
            try:
                self._send_error(408, "timeout", f"no bytes for {self.timeout:.0f} s; send the request again")
            except OSError:
                pass
        except StorageFull as exc:
            self.close_connection = True
            self._send_error(507, exc.code, exc.message)
        except Exception:  # never a traceback to the client; the log has it
            logger.exception("local server error")
            self.close_connection = True
            try:
                self._send_error(500, "internal", "internal error; see the server log")
            except OSError:
                pass

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        self._send_error(405, "method_not_allowed", f"{self.command} is not supported; see sam_app/openapi.json")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _guarded

    def __getattr__(self, name: str):
        # http.server answers any other method (TRACE, QUERY, ...) with a 501 HTML page.
        if name.startswith("do_"):
            return self._method_not_allowed
        raise AttributeError(name)


class _CountingReader:
    def __init__(self, stream) -> None:
        self.stream, self.read_bytes = stream, 0

    def read(self, n: int) -> bytes:
        data = self.stream.read(n)
        self.read_bytes += len(data)
        return data


def _drain(stream, remaining: int) -> None:
    if not 0 < remaining <= DRAIN_LIMIT:
        return
    try:
        while remaining > 0:
            chunk = stream.read(min(remaining, 1024 * 1024))
            if not chunk:
                return
            remaining -= len(chunk)
    except OSError:
        pass


class LocalApiServer(PooledHTTPServer):
    def __init__(
        self, models_dir: Path, data_dir: Path, token: str, host: str = "127.0.0.1", port: int = 0, **options
    ) -> None:
        super().__init__((host, port), _Handler)
        try:
            bound_host, bound_port = self.server_address[:2]
            shown = "127.0.0.1" if bound_host in ("0.0.0.0", "") else bound_host
            self.url = f"http://{shown}:{bound_port}"
            services, self.multipart, self.jobs, self.sweeper = build_local_services(
                models_dir, data_dir, token, lambda: self.url, **options
            )
        except BaseException:
            super().server_close()  # the socket, the workers: a refused start leaves nothing open
            raise
        self.services = services
        self.dispatcher = Dispatcher(services)
        self.jobs.start()  # jobs a previous server left running are marked FAILED; queued ones run
        self._sweeping = threading.Event()
        if self.jobs.runner.owns_data_dir:  # a second server on this data dir leaves the first's uploads alone
            self.sweeper.recover()
            threading.Thread(target=self._sweep_periodically, name="sdaws-upload-sweeper", daemon=True).start()
        self._data_dir = Path(data_dir)
        # Local clients find the server that owns this data dir (and its jobs) here.
        self._announced = (
            announce(self._data_dir, self.url, models_dir, token) if self.jobs.runner.owns_data_dir else None
        )

    def _sweep_periodically(self) -> None:
        from sam_app.adapters.local.upload_sweeper import SWEEP_INTERVAL_S

        while not self._sweeping.wait(SWEEP_INTERVAL_S):
            try:
                self.sweeper.sweep()
            except Exception:
                logger.exception("upload sweep failed")

    def server_close(self) -> None:
        if getattr(self, "_announced", None) is not None:
            withdraw(self._data_dir, self._announced)
            self._announced = None
        if getattr(self, "jobs", None) is not None:  # absent when binding failed
            self._sweeping.set()
            self.jobs.stop()
            self.services.catalog.hashes.close()  # type: ignore[union-attr]  # the background hasher's worker
        super().server_close()


@dataclass
class ServerHandle:
    server: LocalApiServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def serve_in_thread(
    models_dir: Path, data_dir: Path, token: str, host: str = "127.0.0.1", port: int = 0, **options
) -> ServerHandle:
    server = LocalApiServer(models_dir, data_dir, token, host, port, **options)
    thread = threading.Thread(target=server.serve_forever, name="sdaws-local-server", daemon=True)
    thread.start()
    return ServerHandle(server, thread)
