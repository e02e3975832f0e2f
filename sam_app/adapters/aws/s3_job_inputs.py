"""JobInputs in the model bucket: clients PUT images and datasets to presigned URLs under job-inputs/."""

from __future__ import annotations

from botocore.exceptions import ClientError

from sdaws.contract.model_tree import JOB_INPUTS_PREFIX


class S3JobInputs:
    def __init__(self, s3, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def upload_url(self, key: str, size: int, expires_s: int) -> str:
        # ContentLength is signed, so the URL takes exactly the declared bytes.
        return self._s3.generate_presigned_url(
            "put_object", Params={"Bucket": self._bucket, "Key": key, "ContentLength": size}, ExpiresIn=expires_s
        )

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list_group(self, group: str) -> list[str]:
        prefix = f"{JOB_INPUTS_PREFIX}/{group}/"
        keys: list[str] = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix, Delimiter="/"
        ):
            keys.extend(o["Key"] for o in page.get("Contents", []) if not o["Key"].rpartition("/")[2].startswith("."))
        return keys
