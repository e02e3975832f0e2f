"""JobOutputs in the model bucket: what a finished job produced, with download URLs.

Named results (merge, export, convert, train) land in the model tree where
sdaws.contract.outputs places them: processing jobs upload their tree folder straight into
the tree, the training state machine copies the trained file there. Images
(txt2img/img2img) stay under `jobs/<job id>/output/<type>/…`, where the endpoint wrote
them. `discover` finds them once a job has finished, so the record can list them; while
it runs, its live previews are listed as the endpoint uploads them.
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from sam_app.core.jobs_ports import JobRecord
from sdaws.contract.import_spec import KIND as IMPORT_KIND
from sdaws.contract.import_spec import MANIFEST_FILE
from sdaws.contract.job_status import is_final
from sdaws.contract.model_tree import CONVERTED_PREFIX
from sdaws.contract.outputs import IMAGE_KINDS, PREVIEWS_FOLDER, result_key

from .sagemaker_launcher import job_folder

DOWNLOAD_URL_SECONDS = 3600
MAX_DISCOVERED = 1000


def _output(type_: str, name: str, key: str, size: int | None) -> dict:
    return {"type": type_, "name": name, "key": key, "size": size}


class S3JobOutputs:
    def __init__(self, s3, bucket: str, url_seconds: int = DOWNLOAD_URL_SECONDS) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._url_seconds = url_seconds

    @property
    def s3(self):
        return self._s3

    @property
    def bucket(self) -> str:
        return self._bucket

    # JobOutputs
    def list(self, job: JobRecord) -> list[dict]:
        listed = []
        for output in job.outputs if is_final(job.status) else self._live(job):
            key = output.get("key") or ""
            is_file = bool(key) and not key.endswith("/") and output.get("type") != CONVERTED_PREFIX
            url = self._url(key) if is_file else None
            listed.append({k: output.get(k) for k in ("type", "name", "key", "size")} | {"url": url})
        return listed

    def download_url(self, key: str) -> str:
        return self._url(key)

    def _url(self, key: str) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._url_seconds
        )

    def _size(self, key: str) -> int | None:
        try:
            return self._s3.head_object(Bucket=self._bucket, Key=key)["ContentLength"]
        except ClientError:
            return None

    def _listing(self, prefix: str) -> list[dict]:
        objects: list[dict] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
            objects.extend(page.get("Contents", []))
            if len(objects) >= MAX_DISCOVERED:
                break
        return objects[:MAX_DISCOVERED]

    def _live(self, job: JobRecord) -> list[dict]:
        """A running generation's previews so far: the endpoint uploads each as it is made."""
        if job.kind not in IMAGE_KINDS:
            return []
        prefix = f"{job_folder(job.job_id)}/output/{PREVIEWS_FOLDER}/"
        return [
            _output(PREVIEWS_FOLDER, obj["Key"][len(prefix) :], obj["Key"], obj["Size"])
            for obj in self._listing(prefix)
        ]

    def forget_secrets(self, job_id: str) -> None:
        from .s3_job_secrets import S3JobSecrets

        S3JobSecrets(self._s3, self._bucket).discard(job_id)

    def _imported(self, job: JobRecord) -> list[dict]:
        """An import names what it stored in output/import.json (the name may come from the server)."""
        try:
            found = self._s3.get_object(Bucket=self._bucket, Key=f"{job_folder(job.job_id)}/output/{MANIFEST_FILE}")
            record = json.loads(found["Body"].read(64 * 1024))
        except (ClientError, ValueError):
            return []
        key = str(record.get("key") or "")
        if "/" not in key:
            return []
        folder, name = key.split("/", 1)
        return [_output(folder, name, key, record.get("size"))]

    def discover(self, job: JobRecord) -> list[dict]:
        """What the finished job wrote, as output records ({type, name, key, size})."""
        if job.kind in IMAGE_KINDS:
            prefix = f"{job_folder(job.job_id)}/output/"
            found = []
            for obj in self._listing(prefix):
                rel = obj["Key"][len(prefix) :]
                type_, _, name = rel.partition("/")
                found.append(_output(type_ if name else "files", name or rel, obj["Key"], obj["Size"]))
            return found
        if job.kind == IMPORT_KIND:
            return self._imported(job)
        key = result_key(job.kind, job.spec or {})
        if key is None:
            return []
        folder, name = key.split("/", 1)
        if job.kind == "convert":
            files = self._listing(key + "/")
            return [_output(folder, name, key, sum(o["Size"] for o in files))] if files else []
        size = self._size(key)
        return [_output(folder, name, key, size)] if size is not None else []
