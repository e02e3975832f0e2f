"""A real HTTP server on loopback for import tests, and a way to run the import job.

The server serves named files with what download hosts do: Content-Length, a strong
ETag, Range requests (206 + Content-Range, If-Range honoured), redirects, optional
Content-Disposition, and an optional bearer token. It can misbehave on purpose: drop
the connection after N bytes of the body (per request, in order), or ignore Range.
Every request's path and headers are recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sdaws.contract.progress import parse_line


@dataclass
class Served:
    data: bytes
    disposition: str | None = None
    drops: list[int] = field(default_factory=list)  # body bytes sent before each of the next drops
    ignore_range: bool = False
    stall_after: int | None = None  # send this many body bytes, then hang until the server stops

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.data, usedforsecurity=False).hexdigest() + '"'


class ModelServer:
    def __init__(self, token: str | None = None) -> None:
        self.files: dict[str, Served] = {}
        self.redirects: dict[str, str] = {}  # path -> absolute URL
        self.token = token
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers)})
                if self.path in server.redirects:
                    self.send_response(302)
                    self.send_header("Location", server.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._plain(401, b"missing or wrong token")
                    return
                served = server.files.get(self.path.split("?", 1)[0])
                if served is None:
                    self._plain(404, b"not found")
                    return
                data, start = served.data, 0
                wanted = self.headers.get("Range")
                if_range = self.headers.get("If-Range")
                partial = bool(wanted) and not served.ignore_range and (if_range in (None, served.etag))
                if partial:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", served.etag)
                self.send_header("Accept-Ranges", "bytes")
                if served.disposition:
                    self.send_header("Content-Disposition", served.disposition)
                self.end_headers()
                with server._lock:
                    drop = served.drops.pop(0) if served.drops else None
                if served.stall_after is not None:
                    self.wfile.write(body[: served.stall_after])
                    self.wfile.flush()
                    server.stopping.wait()
                    return
                if drop is None:
                    self.wfile.write(body)
                    return
                self.wfile.write(body[:drop])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # mid-stream: the client sees the body end early
                self.close_connection = True

            def _plain(self, status: int, text: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

        return Handler


@dataclass
class ImportRun:
    code: int
    events: list[dict]
    stdout: str
    stderr: str

    def outputs(self) -> list[dict]:
        return [e for e in self.events if e["event"] == "output"]

    def progress(self) -> list[dict]:
        return [e for e in self.events if e["event"] == "progress"]


def import_workdir(root: Path, spec: dict, token: str | None = None) -> Path:
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    if token is not None:  # as a launcher hands it over: a 0600 file, never in the spec
        fd = os.open(config / "import_token", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token)
    return root


def import_argv(workdir: Path) -> list[str]:
    return [sys.executable, "-m", "sdaws_jobs", "import", "--workdir", str(workdir)]


def import_env(env: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}


def run_import(workdir: Path, env: dict[str, str] | None = None, timeout: float = 300) -> ImportRun:
    """`python -m sdaws_jobs import --workdir DIR`, as a runner starts a job."""
    proc = subprocess.run(import_argv(workdir), capture_output=True, text=True, timeout=timeout, env=import_env(env))
    events = [e for e in map(parse_line, proc.stdout.splitlines()) if e is not None]
    return ImportRun(proc.returncode, events, proc.stdout, proc.stderr)


HF_COMMIT = "0123456789abcdef0123456789abcdef01234567"


def fill_hf_cache(root: Path, repo: str = "org/tiny-pipe") -> dict[str, bytes]:
    """The cache layout huggingface_hub reads offline: refs/main -> snapshots/<commit>/…"""
    mib = 1024 * 1024
    base = root / ("models--" + repo.replace("/", "--"))
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text(HF_COMMIT)
    snap = base / "snapshots" / HF_COMMIT
    files = {
        "model_index.json": b'{"_class_name": "StableDiffusionPipeline"}',
        "unet/config.json": b"{}",
        "unet/diffusion_pytorch_model.safetensors": os.urandom(2 * mib),
        "unet/diffusion_pytorch_model.bin": b"old pickle, same weights",
        "vae/config.json": b"{}",
        "vae/diffusion_pytorch_model.safetensors": os.urandom(mib),
        "v1-5-pruned.safetensors": os.urandom(mib + 1),
    }
    for rel, data in files.items():
        (snap / rel).parent.mkdir(parents=True, exist_ok=True)
        (snap / rel).write_bytes(data)
    return files
