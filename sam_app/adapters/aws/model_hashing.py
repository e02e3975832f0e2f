"""The hash function's body: sha256 of every model object the bucket says was created,
in this Lambda while that fits its limits, else by a `hash` utility job (s3_hasher.py
says why), and the hash job's result recorded when it ends."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping

from botocore.exceptions import ClientError

from sdaws.contract.hash_spec import KIND as HASH_KIND
from sdaws.contract.hash_spec import RESULT_FILE

from .s3_hasher import NEEDS_JOB, HashOutcome, S3Hasher

logger = logging.getLogger(__name__)


def hash_job_key(key: str, etag: str) -> str:
    """Idempotency key of the hash job for one version of one object: S3 delivers events
    at least once, and a retried delivery must not start a second job."""
    return "hash-" + hashlib.sha256(f"{key}\0{etag}".encode()).hexdigest()[:48]


class ModelHashing:
    def __init__(self, hasher: S3Hasher, submit: Callable[..., tuple[dict, bool]] | None) -> None:
        self.hasher = hasher
        self.submit = submit  # JobsService.submit; None while the stack has no job image

    def handle(self, event: dict, remaining_s: Callable[[], float] | None = None) -> list[dict]:
        report = []
        for outcome in self.hasher.handle_event(event, remaining_s):
            entry = {"key": outcome.key, "status": outcome.status, "sha256": outcome.sha256}
            if outcome.status == NEEDS_JOB:
                entry["job_id"] = self._job(outcome)
            report.append(entry)
        return report

    def _job(self, outcome: HashOutcome) -> str | None:
        if self.submit is None:
            logger.warning("%s needs a hash job but no job image is configured: %s", outcome.key, outcome.detail)
            return None
        head = self.hasher.s3.head_object(Bucket=self.hasher.bucket, Key=outcome.key)
        spec = {"key": outcome.key, "etag": head["ETag"]}
        job, created = self.submit(
            HASH_KIND, spec, f"hash {outcome.key}"[:100], hash_job_key(outcome.key, head["ETag"])
        )
        logger.info("hash job %s for %s (%s)", job["job_id"], outcome.key, "started" if created else "already running")
        return job["job_id"]


def record_hash_job(s3, bucket: str, catalog, job_id: str) -> bool:
    """When a hash job succeeded: its output/hash.json into the catalog (S3Hasher.record)."""
    from .sagemaker_launcher import job_folder

    try:
        found = s3.get_object(Bucket=bucket, Key=f"{job_folder(job_id)}/output/{RESULT_FILE}")
        result = json.loads(found["Body"].read(64 * 1024))
    except (ClientError, ValueError):
        logger.warning("hash job %s left no readable %s", job_id, RESULT_FILE)
        return False
    S3Hasher(s3, bucket, catalog).record(result["key"], int(result["size"]), result["etag"], result["sha256"])
    return True


def hashing_from_environment(env: Mapping[str, str] = os.environ) -> ModelHashing:
    import boto3

    from .dynamo_tables import DynamoModelCatalog
    from .jobs_wiring import build_aws_jobs
    from .s3_store import S3TreeStore
    from .wiring import s3_config

    s3 = boto3.client("s3", config=s3_config(os.environ))
    dynamodb = boto3.resource("dynamodb")
    bucket = env["MODELS_BUCKET"]
    catalog = DynamoModelCatalog(dynamodb.Table(env["MODELS_TABLE"]))
    jobs = build_aws_jobs(env, s3, dynamodb, S3TreeStore(s3, bucket))
    return ModelHashing(S3Hasher(s3, bucket, catalog), jobs.submit if jobs else None)
