"""Where an import's bytes go, with nothing visible until the whole, verified file is there.

FileSink       output/<Type>/.<name>.partial, renamed to output/<Type>/<name> on commit
               (the local runner then moves it into the tree, as for every job)
S3Sink         a multipart upload straight to the tree key: S3 shows the object only
               when CompleteMultipartUpload runs, after the hash was checked; an abort
               leaves nothing. Parts go up from a bounded buffer while the next bytes
               arrive, so a 7 GB model needs 2 parts of memory, never local disk.
FolderSink     a diffusers folder: files under a hidden staging folder renamed whole
               (local), or uploaded with model_index.json last (S3: the folder only
               counts as a converted model once that marker exists), all removed on abort.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from ..errors import SpecError

MiB = 1024 * 1024
FLUSH_EVERY = 128 * MiB
PART_SIZE = 64 * MiB
PARTS_IN_FLIGHT = 2
MARKER = "model_index.json"


class Sink(Protocol):
    where: str  # for the output event: "<Type>/<name>"

    def write(self, data: memoryview | bytes) -> None: ...

    def reset(self) -> None:
        """Forget everything written (the server restarted the transfer from byte 0)."""

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class _Flusher:
    """fdatasync a file every FLUSH_EVERY bytes on a thread of its own, so the disk writes
    while the network reads and the fsync before the rename has only the tail left."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._due = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="sdaws-import-flush", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            if self._stop:
                return
            with contextlib.suppress(OSError):  # the final fsync reports real errors
                os.fdatasync(self.fd)

    def poke(self) -> None:
        self._due.set()

    def stop(self, wait: bool = True) -> None:
        self._stop = True
        self._due.set()
        if wait:
            self._thread.join()


class FileSink:
    def __init__(self, final: Path, where: str) -> None:
        self.final = final
        self.where = where
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.partial"
        self._fh = open(self.partial, "wb", buffering=0)
        self._flusher = _Flusher(self._fh.fileno())
        self._unflushed = 0

    def write(self, data: memoryview | bytes) -> None:
        view = memoryview(data)
        while view:  # an unbuffered write may take less than asked
            view = view[self._fh.write(view) :]
        self._unflushed += len(data)
        if self._unflushed >= FLUSH_EVERY:
            self._unflushed = 0
            self._flusher.poke()

    def reset(self) -> None:
        self._fh.seek(0)
        self._fh.truncate()

    def commit(self) -> None:
        self._flusher.stop()
        os.fsync(self._fh.fileno())  # durable before it gets its name: never a half file in the tree
        self._fh.close()
        os.replace(self.partial, self.final)

    def abort(self) -> None:
        self._flusher.stop(wait=False)  # a cancel must not wait on the disk
        if not self._fh.closed:
            self._fh.close()
        self.partial.unlink(missing_ok=True)


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3Sink:
    def __init__(self, client, bucket: str, key: str, overwrite: bool = False, part_size: int = PART_SIZE) -> None:
        self.s3, self.bucket, self.key = client, bucket, key
        self.where = key
        self.overwrite = overwrite
        self.part_size = part_size
        self._pool = ThreadPoolExecutor(max_workers=PARTS_IN_FLIGHT)
        self._buffer = bytearray()
        self._parts: list[Future] = []
        self._upload_id: str | None = None
        if not overwrite and self._exists():
            raise SpecError(f"{key} already exists in the tree; delete it first or import with overwrite")
        self._start()

    def _exists(self) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:  # botocore's ClientError; the job image keeps boto3 optional
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _start(self) -> None:
        self._upload_id = self.s3.create_multipart_upload(Bucket=self.bucket, Key=self.key)["UploadId"]
        self._parts = []

    def _send(self, number: int, data: bytes) -> dict:
        answer = self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=data
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def _flush_part(self, data: bytes) -> None:
        # Bounded memory: wait for the oldest part before queueing more than PARTS_IN_FLIGHT.
        pending = [f for f in self._parts if not f.done()]
        if len(pending) >= PARTS_IN_FLIGHT:
            pending[0].result()
        self._parts.append(self._pool.submit(self._send, len(self._parts) + 1, data))

    def write(self, data: memoryview | bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= self.part_size:
            chunk = bytes(self._buffer[: self.part_size])
            del self._buffer[: self.part_size]
            self._flush_part(chunk)

    def reset(self) -> None:
        self._abort_upload()
        self._buffer = bytearray()
        self._start()

    def commit(self) -> None:
        if self._buffer or not self._parts:
            self._flush_part(bytes(self._buffer))
            self._buffer = bytearray()
        parts = [f.result() for f in self._parts]
        extra = {} if self.overwrite else {"IfNoneMatch": "*"}  # never replace a model that appeared meanwhile
        try:
            self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, MultipartUpload={"Parts": parts}, **extra
            )
        except Exception as exc:
            if _code(exc) in ("PreconditionFailed", "412"):
                self._abort_upload()
                raise SpecError(f"{self.key} appeared in the tree during the import; nothing was replaced") from None
            raise
        self._upload_id = None
        self._pool.shutdown()

    def _abort_upload(self) -> None:
        for future in self._parts:
            future.cancel()
        for future in self._parts:
            if not future.cancelled():
                try:
                    future.result()
                except Exception:  # the upload is being thrown away; its part errors do not matter
                    pass
        if self._upload_id:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self._upload_id)
            self._upload_id = None

    def abort(self) -> None:
        self._abort_upload()
        self._pool.shutdown(wait=False)


class LocalFolderSink:
    """A diffusers folder into output/diffusers/<name>/, staged under a hidden name."""

    def __init__(self, output_dir: Path, folder: str, name: str) -> None:
        self.final = output_dir / folder / name
        self.where = f"{folder}/{name}"
        self.staging = output_dir / folder / f".{name}.{uuid.uuid4().hex[:8]}.partial"
        self.staging.mkdir(parents=True)

    def file(self, relative: str) -> FileSink:
        return FileSink(self.staging / relative, relative)

    def commit_file(self, sink: FileSink) -> None:
        sink.commit()

    def commit(self) -> None:
        os.replace(self.staging, self.final)

    def abort(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class S3FolderSink:
    """A diffusers folder into diffusers/<name>/ in the bucket, its marker written last."""

    def __init__(self, client, bucket: str, prefix: str, overwrite: bool = False) -> None:
        self.s3, self.bucket = client, bucket
        self.prefix = prefix.rstrip("/")
        self.where = self.prefix
        self.written: list[str] = []
        self._marker: S3Sink | None = None
        if not overwrite:
            listed = client.list_objects_v2(Bucket=bucket, Prefix=self.prefix + "/", MaxKeys=1)
            if listed.get("KeyCount", 0):
                raise SpecError(f"{self.prefix}/ already exists in the tree; delete it first or import with overwrite")

    def file(self, relative: str) -> S3Sink:
        sink = S3Sink(self.s3, self.bucket, f"{self.prefix}/{relative}", overwrite=True)
        if relative == MARKER:
            self._marker = sink  # committed by commit(), after every other file
        else:
            self.written.append(sink.key)
        return sink

    def commit_file(self, sink: S3Sink) -> None:
        if sink is not self._marker:
            sink.commit()

    def commit(self) -> None:
        if self._marker is None:
            raise SpecError(f"the folder has no {MARKER}: it is not a diffusers pipeline")
        self._marker.commit()

    def abort(self) -> None:
        if self._marker is not None:
            self._marker.abort()
        for key in self.written:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
