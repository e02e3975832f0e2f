"""An HTTP front of moto's S3 that answers the first use of each presigned part URL the
way S3 answers an expired one (403 AccessDenied "Request has expired"), as happens when
the API function's temporary credentials expire during a long upload. Everything else,
and a URL's later uses, pass through to moto unchanged."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import requests

EXPIRED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired'
    "</Message><X-Amz-Expires>21600</X-Amz-Expires><Expires>2026-11-23T12:00:00Z</Expires>"
    "<ServerTime>2026-11-23T18:00:01Z</ServerTime><RequestId>4442587FB7D0A2F9</RequestId></Error>"
)


class _Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ExpiringS3

    def log_message(self, fmt: str, *args) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(urlsplit(self.path).query)
        if self.command == "PUT" and "partNumber" in query and "X-Amz-Signature" in query:
            with self.server.lock:
                first_use = self.path not in self.server.used
                self.server.used.add(self.path)
            if first_use:
                self.server.expired += 1
                data = EXPIRED.encode()
                self.send_response(403)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        answer = requests.request(self.command, self.server.target + self.path, headers=headers, data=body, timeout=60)
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward


class ExpiringS3(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _Front)
        self.target = target
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.used: set[str] = set()
        self.expired = 0
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
