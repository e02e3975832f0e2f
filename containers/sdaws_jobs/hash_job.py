"""The `hash` utility job: the sha256 of one model object in the bucket, for objects the
hash Lambda cannot finish in its 15 minutes (see sam_app/adapters/aws/s3_hasher.py).

Same streaming as everywhere (sdaws.contract.hashes.sha256_of_ranges: ranged GETs
prefetched while the previous range is hashed), pinned to the ETag it started with, no
time limit. The result is an output event {file: key, sha256, size, etag} and the same
as output/hash.json (what a processing job's output upload carries back to the bucket,
for the job-events handler to record through S3Hasher.record).

    python -m sdaws_jobs.hash_job --workdir DIR   (spec: {"key": "Lora/x.safetensors"})
"""

from __future__ import annotations

import json
import os
import sys
import time

from sdaws.contract.hash_spec import KIND as HASH_KIND
from sdaws.contract.hash_spec import RESULT_FILE, TREE_BUCKET_ENV, HashSpec
from sdaws.contract.hashes import sha256_of_ranges

from . import progress
from .errors import SpecError
from .imports.meter import ByteMeter
from .layout import Layout

CHUNK = 64 * 1024 * 1024
PREFETCH = 4
ATTEMPTS = 5


def _code(exc: Exception) -> str:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code", ""))


def run(spec: HashSpec, layout: Layout, kind: str = HASH_KIND) -> None:
    import boto3

    bucket = (os.environ.get(TREE_BUCKET_ENV) or "").removeprefix("s3://").strip("/")
    if not bucket:
        raise SpecError(f"{TREE_BUCKET_ENV}=s3://<bucket> is not set")
    s3 = boto3.client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=spec.key, **({"IfMatch": spec.etag} if spec.etag else {}))
    except Exception as exc:
        if _code(exc) in ("404", "NoSuchKey", "NotFound", "PreconditionFailed", "412"):
            raise SpecError(f"{spec.key} is gone or was replaced; its newer version has its own hash") from None
        raise
    size, etag = head["ContentLength"], head["ETag"]

    def read_range(start: int, length: int) -> bytes:
        for attempt in range(ATTEMPTS):
            try:
                answer = s3.get_object(
                    Bucket=bucket, Key=spec.key, Range=f"bytes={start}-{start + length - 1}", IfMatch=etag
                )
                return answer["Body"].read()
            except OSError:
                if attempt == ATTEMPTS - 1:
                    raise
                time.sleep(min(0.5 * 2**attempt, 8.0))
        raise OSError("unreachable")

    meter = ByteMeter(f"hashing {spec.key}", size)
    digest = sha256_of_ranges(read_range, size, CHUNK, PREFETCH, meter.update)
    meter.update(size, force=True)
    folder, name = spec.key.split("/", 1)
    result = {"key": spec.key, "sha256": digest, "size": size, "etag": etag}
    layout.output_path(RESULT_FILE).write_text(json.dumps(result), encoding="utf-8")
    progress.output(spec.key, folder, name, sha256=digest, size=size, etag=etag)


def main(argv: list[str] | None = None) -> int:
    """`python -m sdaws_jobs.hash_job ARGS` is `python -m sdaws_jobs hash ARGS`."""
    from . import __main__ as entry

    return entry.main(["hash", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
