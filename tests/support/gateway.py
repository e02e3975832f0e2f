"""An HTTP front for the real Lambda handler, so the real client (ApiClient, the
uploader, the CLI) can talk to the AWS side of the API the way it talks to API Gateway.

It turns each request into the proxy event API Gateway sends (the local server's own
`to_event`) and the handler's answer back into HTTP. API Gateway's own checks stay
out: the handler verifies the key itself, as it does behind the real gateway. One event
at a time, as a Lambda process runs them.
"""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sam_app.local_server.server import to_event
from tests.support.api_world import FakeLambdaContext


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayServer

    def log_message(self, fmt: str, *args) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name, []).append(value)
        event = to_event(self.command, self.path, headers, body, self.client_address[0])
        with self.server.lock:
            response = self.server.handler(event, FakeLambdaContext())
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        self.send_response(int(response["statusCode"]))
        for name, value in (response.get("headers") or {}).items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _forward


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.handler = handler
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
