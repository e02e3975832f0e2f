"""`GET|PUT /_files/<key>`: job output downloads and job input uploads by signed URL.

Like S3 presigned URLs, these are authorised by their HMAC signature (bound to
method, key and size), not by the API token. Uploads go to a temporary file and
are renamed only when every byte arrived, so a dropped upload leaves nothing.
"""

from __future__ import annotations

import mimetypes
import os
import tempfile
from urllib.parse import parse_qs, unquote, urlsplit

from sam_app.adapters.local.disk_full import disk_full_is_reported
from sam_app.adapters.local.job_files import FILES_ROUTE, LocalJobFiles
from sdaws.contract.model_tree import JOB_INPUTS_PREFIX

CHUNK = 1024 * 1024


def serve_job_file(handler, files: LocalJobFiles) -> None:
    url = urlsplit(handler.path)
    key = unquote(url.path[len(FILES_ROUTE) :])
    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
    method = handler.command
    if method not in ("GET", "PUT"):
        handler.close_connection = True
        return handler._send_error(405, "method_not_allowed", "file URLs take GET (outputs) or PUT (job inputs)")
    if not files.signer.valid(method, key, query):
        handler.close_connection = True
        return handler._send_error(403, "forbidden", "URL signature is invalid or expired; ask the API for a fresh URL")
    try:
        path = files.paths.readable(key) if method == "GET" else files.paths.path(key)
    except ValueError:
        handler.close_connection = True
        return handler._send_error(404, "not_found", "no such file")
    if method == "GET":
        return _download(handler, path)
    return _upload(handler, key, path, int(query["size"]))


def _download(handler, path) -> None:
    try:
        fh = open(path, "rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return handler._send_error(404, "not_found", "the file is gone; the job or model was deleted")
    with fh:
        size = os.fstat(fh.fileno()).st_size
        handler.send_response(200)
        handler.send_header("Content-Type", mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        while chunk := fh.read(CHUNK):
            handler.wfile.write(chunk)


def _upload(handler, key: str, path, size: int) -> None:
    handler.close_connection = True  # any early answer leaves unread bytes on the socket
    if not key.startswith(JOB_INPUTS_PREFIX + "/"):
        return handler._send_error(403, "forbidden", "only job inputs are uploaded this way")
    length = handler._length()
    if length != size:
        return handler._send_error(400, "wrong_size", f"send exactly {size} bytes, as declared to POST /job-inputs")
    with disk_full_is_reported(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                remaining = size
                while remaining:
                    chunk = handler.rfile.read(min(CHUNK, remaining))
                    if not chunk:
                        raise ConnectionError("client stopped sending")
                    out.write(chunk)
                    remaining -= len(chunk)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    handler.close_connection = False
    handler._send(200, b"")
