"""An HTTP front for the real Lambda handler, so the real client (ApiClient, the
uploader, the CLI) can talk to the AWS side of the API the way it talks to API Gateway.

It turns each request into the proxy event API Gateway sends (the local server's own
`to_event`) and the handler's answer back into HTTP. One event at a time, as a Lambda
process runs them.

By default API Gateway's own checks stay out (the handler verifies the key itself, as
it does behind the real gateway). With `stage` and `api_key` the front also answers
as API Gateway does before any function runs: a path outside the stage or the deployed
routes (template.yaml's Api events) gets 403 {"message": "Missing Authentication
Token"}, a missing or wrong x-api-key 403 {"message": "Forbidden"}, each with its
x-amzn-ErrorType header.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from sam_app.local_server.server import to_event
from tests.support.api_world import FakeLambdaContext


class _Forward(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GatewayServer

    def log_message(self, fmt: str, *args) -> None:
        pass

    def _answer(self, status: int, payload: dict, error_type: str) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _gateway_refuses(self) -> str | None:
        """The path the function gets, or None when API Gateway answered itself."""
        path = self.path
        if self.server.stage is None:
            return path
        split = urlsplit(path)
        prefix = f"/{self.server.stage}"
        inner = split.path[len(prefix) :] if split.path.startswith(prefix + "/") else None
        if inner is None or not self.server.routes_match(self.command, inner):
            self._answer(403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException")
            return None
        if self.headers.get("x-api-key") != self.server.api_key:
            self._answer(403, {"message": "Forbidden"}, "ForbiddenException")
            return None
        return inner + (f"?{split.query}" if split.query else "")

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self._gateway_refuses()
        if path is None:
            return
        headers: dict[str, list[str]] = {}
        for name, value in self.headers.items():
            headers.setdefault(name, []).append(value)
        event = to_event(self.command, path, headers, body, self.client_address[0])
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

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler, *, stage: str | None = None, api_key: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Forward)
        self.handler = handler
        self.stage = stage
        self.api_key = api_key
        self._routes = _deployed_routes() if stage else []
        self.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def routes_match(self, method: str, path: str) -> bool:
        return any(m == method and pattern.match(path) for m, pattern in self._routes)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)


def _deployed_routes() -> list[tuple[str, re.Pattern]]:
    """(method, path regex) of every Api event in template.yaml: what API Gateway routes."""
    from tests.support.template_tables import load_template

    routes = []
    for resource in load_template()["Resources"].values():
        for event in ((resource.get("Properties") or {}).get("Events") or {}).values():
            if event["Type"] == "Api":
                props = event["Properties"]
                pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(props["Path"]))
                routes.append((props["Method"].upper(), re.compile(f"^{pattern}/?$")))
    return routes
