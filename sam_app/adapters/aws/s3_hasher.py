"""sha256 of model objects in the bucket, computed server-side, and the HashTracker the API
reads them through.

Where the hashing runs — a streaming Lambda, with a utility job only past its limits:
  * A model is 2-7 GB (SD1.5 2 GB, SDXL 6.9 GB). A Lambda with 1,769 MB (one full vCPU)
    reads S3 at roughly 90-300 MB/s with a few ranged GETs in flight, and OpenSSL's
    SHA-256 is faster than that, so a typical model is hashed in well under a minute,
    seconds after it lands, for a fraction of a cent. Nothing touches /tmp: ranges
    stream through a few 16 MiB buffers, so memory stays flat whatever the size.
  * A SageMaker processing job (the utility-job route) takes minutes to start, bills
    the instance from start to stop and competes for the account's job quota — a poor
    trade for a minute of I/O, but it has no time limit.
  * Lambda stops at 15 minutes and hashlib cannot save a half-computed SHA-256 to
    continue in another invocation. So objects over MAX_LAMBDA_BYTES (sized so a slow
    90 MB/s run still ends inside the limit) and any run whose measured rate says it
    would not finish before the deadline return NEEDS_JOB: the caller launches the
    utility job (stage-2 wiring), which runs this same streaming code without a limit.
Events come from S3 (straight, through SQS, or as EventBridge "Object Created"), for
every way an object arrives: the uploader's multipart upload (whose client-computed
sha256 is then verified), a server-side import, or a user's `aws s3 cp`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from sam_app.core.hash_records import hashed_record
from sam_app.core.ports import ModelCatalog, StoredObject
from sdaws.contract.hashes import sha256_of_ranges
from sdaws.contract.model_tree import MODEL_TYPES
from sdaws.contract.sidecars import is_sidecar

logger = logging.getLogger(__name__)

GiB = 1024**3
MiB = 1024**2
MAX_LAMBDA_BYTES = 60 * GiB  # 60 GiB at a slow 90 MB/s is ~12 min: inside 15 with margin
CHUNK = 16 * MiB
PREFETCH = 4
SAFETY_MARGIN_S = 60.0  # stop early enough to record "needs job" before Lambda kills us
RANGE_ATTEMPTS = 5

HASHED, SKIPPED, NEEDS_JOB, GONE, CHANGED = "hashed", "skipped", "needs_job", "gone", "changed"


@dataclass(frozen=True)
class HashOutcome:
    key: str
    status: str
    sha256: str | None = None
    detail: str = ""


class _OutOfTime(Exception):
    pass


class _ObjectChanged(Exception):
    pass


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_model_key(key: str) -> bool:
    """Only files directly in a tree folder that are not sidecars get hashed."""
    folder, _, name = key.partition("/")
    return (
        folder in MODEL_TYPES and bool(name) and "/" not in name and not name.startswith(".") and not is_sidecar(name)
    )


def created_objects(event: dict) -> Iterator[tuple[str, str, bool]]:
    """(bucket, key, key_may_be_encoded) of each ObjectCreated in an S3 notification sent
    straight to Lambda, wrapped in SQS messages, or an EventBridge "Object Created" event."""
    if event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created":
        detail = event.get("detail") or {}
        yield (detail.get("bucket") or {}).get("name", ""), (detail.get("object") or {}).get("key", ""), True
        return
    for record in event.get("Records") or []:
        if record.get("eventSource") == "aws:sqs":
            try:
                body = json.loads(record.get("body") or "{}")
            except ValueError:
                continue
            if isinstance(body, dict):
                yield from created_objects(body)  # s3:TestEvent bodies carry no Records
        elif record.get("eventSource") == "aws:s3" and str(record.get("eventName", "")).startswith("ObjectCreated:"):
            s3 = record.get("s3") or {}
            # Notification keys are URL-encoded with '+' for spaces.
            yield (s3.get("bucket") or {}).get("name", ""), unquote_plus((s3.get("object") or {}).get("key", "")), False


class S3Hasher:
    def __init__(
        self,
        client,
        bucket: str,
        catalog: ModelCatalog,
        max_lambda_bytes: int = MAX_LAMBDA_BYTES,
        chunk: int = CHUNK,
        prefetch: int = PREFETCH,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.s3 = client
        self.bucket = bucket
        self.catalog = catalog
        self.max_lambda_bytes = max_lambda_bytes
        self.chunk = chunk
        self.prefetch = prefetch
        self.clock = clock

    # -- hashing -------------------------------------------------------------------------
    def _reader(self, key: str, etag: str, deadline: float | None) -> Callable[[int, int], bytes]:
        def read_range(start: int, length: int) -> bytes:
            for attempt in range(RANGE_ATTEMPTS):
                if deadline is not None and self.clock() > deadline:
                    raise _OutOfTime()
                try:
                    found = self.s3.get_object(
                        Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}", IfMatch=etag
                    )
                    return found["Body"].read()
                except ClientError as exc:
                    if _code(exc) in ("PreconditionFailed", "412"):
                        raise _ObjectChanged() from None  # overwritten mid-hash: its own event follows
                    if _code(exc) in ("NoSuchKey", "404") or attempt == RANGE_ATTEMPTS - 1:
                        raise
                except OSError:  # dropped connection: read the same range again
                    if attempt == RANGE_ATTEMPTS - 1:
                        raise
                time.sleep(min(0.2 * 2**attempt, 3.0))
            raise OSError(f"could not read {key} at {start}")

        return read_range

    def hash_object(self, key: str, remaining_s: Callable[[], float] | None = None) -> HashOutcome:
        """Hash one object and record it; `remaining_s` is the Lambda's time left."""
        if not is_model_key(key):
            return HashOutcome(key, SKIPPED, detail="not a model file")
        try:
            head = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return HashOutcome(key, GONE)
            raise
        size, etag = head["ContentLength"], head["ETag"]
        facts = self.catalog.get(key) or {}
        if facts.get("sha256_verified") and facts.get("etag") == etag and facts.get("size") == size:
            return HashOutcome(key, SKIPPED, facts["sha256"], "already hashed")  # S3 delivers events at least once
        if size > self.max_lambda_bytes:
            return HashOutcome(
                key, NEEDS_JOB, detail=f"{size} bytes is over the {self.max_lambda_bytes} hashed in Lambda"
            )
        start = self.clock()
        deadline = start + remaining_s() - SAFETY_MARGIN_S if remaining_s else None
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done = n
            if deadline is None or n < 4 * self.chunk:
                return
            rate = n / max(self.clock() - start, 1e-6)
            if self.clock() + (size - n) / rate > deadline:
                raise _OutOfTime()

        try:
            digest = sha256_of_ranges(self._reader(key, etag, deadline), size, self.chunk, self.prefetch, progress)
        except _OutOfTime:
            return HashOutcome(key, NEEDS_JOB, detail=f"would not finish in this invocation ({done} of {size} bytes)")
        except _ObjectChanged:
            return HashOutcome(key, CHANGED, detail="overwritten while hashing; its own event hashes it")
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return HashOutcome(key, GONE)
            raise
        self.record(key, size, etag, digest)
        return HashOutcome(key, HASHED, digest)

    def record(self, key: str, size: int, etag: str, digest: str) -> None:
        """Store a computed sha256 (this Lambda's, or the hash job's output/hash.json)."""
        facts = self.catalog.get(key) or {}
        claimed = facts.get("sha256") if facts.get("size") == size and not facts.get("sha256_verified") else None
        record = hashed_record(facts, digest, claimed, datetime.now(UTC).isoformat(), size=size, etag=etag)
        if "sha256_claimed" in record:  # the uploader's hash disagrees with the stored bytes: say so
            logger.warning("%s: the uploader claimed sha256 %s, the stored bytes hash to %s", key, claimed, digest)
        self.catalog.put(key, record)

    def handle_event(self, event: dict, remaining_s: Callable[[], float] | None = None) -> list[HashOutcome]:
        """The hash Lambda's body: every created model object in `event`, hashed."""
        outcomes = []
        for bucket, key, maybe_encoded in created_objects(event):
            if bucket != self.bucket or not key:
                continue
            outcome = self.hash_object(key, remaining_s)
            if outcome.status == GONE and maybe_encoded and unquote_plus(key) != key:
                outcome = self.hash_object(unquote_plus(key), remaining_s)
            logger.info("hash %s: %s %s", outcome.key, outcome.status, outcome.detail)
            outcomes.append(outcome)
        return outcomes


class S3HashState:
    """The HashTracker the API uses on AWS: answers from the catalog; hashing itself is
    driven by the bucket's events, so an unknown hash is "pending", never waited for."""

    def __init__(self, catalog: ModelCatalog) -> None:
        self.catalog = catalog

    def state(self, obj: StoredObject) -> dict:
        facts = self.catalog.get(obj.key) or {}
        if not facts.get("sha256") or facts.get("size") != obj.size:
            return {"status": "pending"}
        state = {"status": "done", "sha256": facts["sha256"], "verified": bool(facts.get("sha256_verified"))}
        if facts.get("sha256_claimed"):
            state["claimed"] = facts["sha256_claimed"]
        return state
