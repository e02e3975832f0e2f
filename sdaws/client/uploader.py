"""Resumable, parallel multipart upload of one model file (used by the TUI and the CLI).

The API hands out one presigned URL per part (S3 on AWS, HMAC-signed locally); we
PUT raw bytes to each from a thread pool. Each worker streams its part from the file
in CHUNK reads (`os.pread`), so memory is a chunk per worker, not a part, whatever the
part size. The calling thread meanwhile hashes the whole file in order into one reused
buffer (SHA-256 is sequential; it runs ahead of the network, so the workers mostly read
what it has just brought into the page cache). Fresh part-sized buffers cost more CPU in page faults than the copy
itself, which on a machine that also runs the receiving server is upload speed
(benchmarks/upload.py). Parts the server already has (on resume) are hashed, not sent.
A file whose size or mtime changes while it is read is refused, so the recorded hash
is the sent bytes' hash. The
``upload_id`` is remembered per (path, size, mtime, API) in the config dir, so a
dropped connection or a restarted app resumes with only ``parts_missing``.

Part URLs signed on AWS expire with the API function's temporary credentials, often
long before a big upload ends: S3 then answers 403 "Request has expired". The uploader
asks the API again (GET /uploads/{id} re-issues URLs for the parts still missing) and
goes on, instead of failing the upload.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import httpx

from sdaws.client.api import ApiClient, ApiError, NotFound
from sdaws.client.config import config_dir
from sdaws.client.errors import transport_error
from sdaws.client.thread_clients import ThreadClients
from sdaws.contract.hashes import sha256_of_stream

CHUNK = 1 << 20  # progress granularity inside a part
PUT_ATTEMPTS = 4
URL_REFRESHES = 5  # times an upload may ask for fresh part URLs after they expired


class UploadCancelled(Exception):
    """The user stopped the upload; its state is kept so it can resume."""


class UploadFailed(ApiError):
    """A part could not be sent, or the checksum did not match."""


class PartUrlExpired(UploadFailed):
    """S3 refused a part URL as expired; GET /uploads/{id} gives fresh ones."""


class FileChanged(UploadFailed):
    """The file was written to while it was being sent: its hash would not be the sent bytes'."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} changed while uploading; upload it again", code="file_changed")


def _expired(response: httpx.Response) -> bool:
    return response.status_code == 403 and "expired" in response.text.lower()


@dataclass
class Progress:
    done: int
    total: int
    rate: float  # bytes/s over the last few seconds
    eta_s: float | None
    parts_done: int
    part_count: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressFn = Callable[[Progress], None]


class _Meter:
    """Thread-safe byte counter with a sliding-window rate, throttled callbacks."""

    WINDOW_S = 4.0

    def __init__(self, total: int, part_count: int, start: int, parts_done: int, callback: ProgressFn | None) -> None:
        self.total = total
        self.part_count = part_count
        self.done = start
        self.parts_done = parts_done
        self.callback = callback
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque([(time.monotonic(), start)])
        self._last_emit = 0.0

    def add(self, nbytes: int, part_finished: bool = False) -> None:
        with self._lock:
            self.done += nbytes
            if part_finished:
                self.parts_done += 1
            now = time.monotonic()
            self._samples.append((now, self.done))
            while len(self._samples) > 2 and now - self._samples[0][0] > self.WINDOW_S:
                self._samples.popleft()
            if self.callback and (now - self._last_emit >= 0.1 or part_finished):
                self._last_emit = now
                progress = self._snapshot(now)
            else:
                progress = None
        if progress is not None:
            self.callback(progress)

    def retract(self, nbytes: int) -> None:
        """Undo bytes counted for a part attempt that failed and will be retried."""
        with self._lock:
            self.done -= nbytes

    def _snapshot(self, now: float) -> Progress:
        t0, b0 = self._samples[0]
        rate = (self.done - b0) / (now - t0) if now > t0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 else None
        return Progress(self.done, self.total, rate, eta, self.parts_done, self.part_count)

    def emit(self) -> Progress:
        with self._lock:
            progress = self._snapshot(time.monotonic())
        if self.callback:
            self.callback(progress)
        return progress


def part_range(part_number: int, part_size: int, size: int) -> tuple[int, int]:
    start = (part_number - 1) * part_size
    return start, min(start + part_size, size)


class _PartSender:
    """PUTs part bodies; one httpx.Client per worker thread, no auth header."""

    def __init__(self, path: Path, meter: _Meter, cancel: _AnyEvent | threading.Event) -> None:
        self.path = path
        self.meter = meter
        self.cancel = cancel
        self._clients = ThreadClients(lambda: httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0)))

    def _http(self) -> httpx.Client:
        return self._clients.get()

    def close(self) -> None:
        self._clients.close()

    def _body(self, fd: int, start: int, end: int, sent: list[int]):
        for offset in range(start, end, CHUNK):
            if self.cancel.is_set():
                raise UploadCancelled()
            piece = os.pread(fd, min(CHUNK, end - offset), offset)
            if len(piece) != min(CHUNK, end - offset):
                raise FileChanged(self.path)
            yield piece
            sent[0] += len(piece)
            self.meter.add(len(piece))

    def put(self, part_number: int, url: str, fd: int, start: int, end: int) -> str:
        last_error = ""
        for attempt in range(PUT_ATTEMPTS):
            if self.cancel.is_set():
                raise UploadCancelled()
            sent = [0]
            try:
                # An explicit Content-Length keeps httpx from chunked encoding,
                # which S3 presigned PUTs refuse.
                response = self._http().put(
                    url, content=self._body(fd, start, end, sent), headers={"Content-Length": str(end - start)}
                )
            except httpx.HTTPError as exc:
                last_error = str(transport_error(exc, f"send part {part_number} to", url))
                response = None
            self.meter.retract(sent[0])
            if response is not None:
                if response.is_success:
                    self.meter.add(end - start, part_finished=True)
                    return response.headers.get("etag", "").strip()
                last_error = f"HTTP {response.status_code} {response.text[:200]}"
                if _expired(response):
                    raise PartUrlExpired(f"part {part_number}: the part URL expired", code="part_url_expired")
                if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                    break  # expired or bad signature: retrying the same URL cannot help
            time.sleep(min(0.5 * 2**attempt, 4.0))
        raise UploadFailed(f"part {part_number} failed: {last_error}", code="part_failed")


def send_parts(
    path: Path,
    size: int,
    part_size: int,
    part_count: int,
    todo: Mapping[int, str],
    *,
    workers: int = 4,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> tuple[dict[int, str], str]:
    """Send the parts in ``todo`` (part_number -> URL); return their ETags and the file's SHA-256.

    Parts not in ``todo`` are hashed only. Memory is one CHUNK per worker plus the
    hash buffer, whatever the part size.
    """
    user_cancel = cancel or threading.Event()
    # Internal stop: set on the user's cancel or on any failure, without
    # touching the caller's event.
    stop = _AnyEvent(user_cancel)
    already = sum(
        part_range(n, part_size, size)[1] - part_range(n, part_size, size)[0]
        for n in range(1, part_count + 1)
        if n not in todo
    )
    meter = _Meter(size, part_count, already, part_count - len(todo), on_progress)
    sender = _PartSender(path, meter, stop)
    futures: dict[Future, int] = {}

    def check(_: int) -> None:  # between hash reads: stop early on a cancel or a failed part
        if user_cancel.is_set():
            raise UploadCancelled()
        _raise_first_failure(futures)

    meter.emit()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sdaws-put")
    try:
        with path.open("rb", buffering=0) as fh:
            before = os.fstat(fh.fileno())
            if before.st_size != size:
                raise FileChanged(path)
            for number in sorted(todo):
                start, end = part_range(number, part_size, size)
                futures[pool.submit(sender.put, number, todo[number], fh.fileno(), start, end)] = number
            digest = sha256_of_stream(fh, progress=check)
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                _raise_first_failure({f: futures[f] for f in done})
                if user_cancel.is_set():
                    raise UploadCancelled()
            after = os.stat(path)
            if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
                raise FileChanged(path)
        etags = {number: future.result() for future, number in futures.items()}
    except BaseException:
        stop.set()  # the other workers stop at their next chunk
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        sender.close()
    meter.emit()
    return etags, digest


class _AnyEvent:
    """Set when either our own flag or the caller's cancel event is set."""

    def __init__(self, other: threading.Event) -> None:
        self._own = threading.Event()
        self._other = other

    def set(self) -> None:
        self._own.set()

    def is_set(self) -> bool:
        return self._own.is_set() or self._other.is_set()


def _raise_first_failure(futures: Mapping[Future, int]) -> None:
    for future in futures:
        if future.done() and future.exception() is not None:
            raise future.exception()


class UploadState:
    """upload_id per (file path, size, mtime, API URL), kept in the config dir as JSON."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or (config_dir() / "uploads.json")
        self._lock = threading.Lock()

    @staticmethod
    def key(file: Path, api_url: str) -> str:
        st = file.stat()
        return f"{file.resolve()}|{st.st_size}|{st.st_mtime_ns}|{api_url}"

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)

    def get(self, key: str) -> dict | None:
        with self._lock:
            return self._read().get(key)

    def put(self, key: str, record: dict) -> None:
        with self._lock:
            data = self._read()
            data[key] = record
            self._write(data)

    def drop(self, key: str) -> None:
        with self._lock:
            data = self._read()
            if data.pop(key, None) is not None:
                self._write(data)

    def pending(self) -> dict[str, dict]:
        with self._lock:
            return self._read()


def upload_file(
    client: ApiClient,
    path: Path,
    model_type: str,
    *,
    name: str | None = None,
    workers: int = 4,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    state: UploadState | None = None,
    scope: str | None = None,
    overwrite: bool = False,
) -> dict:
    """Upload (or resume uploading) ``path`` into folder ``model_type``; return the completed model.

    ``scope`` names the API the state belongs to (default its URL); the embedded
    server gets a new port each start, so the TUI passes its model root instead.
    ``overwrite`` replaces a model of the same name (the caller has asked the user).
    Raises UploadCancelled (state kept), UploadFailed, Conflict (the name is taken),
    or another ApiError.
    """
    path = Path(path)
    state = state or UploadState()
    size = path.stat().st_size
    key = UploadState.key(path, scope or client.base_url)
    filename = name or path.name
    record = state.get(key)
    session = None
    if record and record.get("type") == model_type and record.get("filename") == filename:
        try:
            info = client.get_upload(record["upload_id"])
        except NotFound:
            info = None
        if info and info.get("status") == "open":
            session = info
            todo = {p["part_number"]: p["url"] for p in info.get("parts_missing", [])}
        elif info and info.get("status") == "completed":
            state.drop(key)
            return {"type": info["type"], "name": info["name"], "size": info["size"], "sha256": None, "resumed": True}
    if session is None:
        state.drop(key)
        session = client.create_upload(model_type, filename, size, overwrite=overwrite)
        todo = {p["part_number"]: p["url"] for p in session.get("parts", [])}
        state.put(
            key,
            {
                "upload_id": session["upload_id"],
                "type": model_type,
                "filename": filename,
                "name": session.get("name", filename),
                "size": size,
            },
        )
    for refresh in range(URL_REFRESHES + 1):
        try:
            _, digest = send_parts(
                path,
                size,
                int(session["part_size"]),
                int(session["part_count"]),
                todo,
                workers=workers,
                on_progress=on_progress,
                cancel=cancel,
            )
            break
        except PartUrlExpired:
            if refresh == URL_REFRESHES:
                raise
            fresh = client.get_upload(session["upload_id"])  # new URLs for the parts still missing
            todo = {p["part_number"]: p["url"] for p in fresh.get("parts_missing", [])}
        except (UploadCancelled, UploadFailed):
            raise
        except OSError as exc:
            raise UploadFailed(f"reading {path} failed: {exc}", code="read_failed") from exc
    result = client.complete_upload(session["upload_id"], digest)
    state.drop(key)
    remote = result.get("sha256")
    if remote and remote.lower() != digest:
        raise UploadFailed(
            f"checksum mismatch for {result.get('name')}: sent {digest}, server has {remote}", code="checksum"
        )
    result.setdefault("sha256", digest)
    return result
