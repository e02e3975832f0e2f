"""SidecarFiles in the model bucket: previews and NAME.json beside the models.

A PutObject replaces an object atomically. The conditional replace uses S3's
conditional writes (If-Match on the ETag read, If-None-Match: * for a new file), so an
edit made meanwhile (another client, a user's `aws s3 cp`) is refused, never lost.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from sam_app.core.catalog_ports import SmallFile
from sdaws.contract.errors import Conflict, InvalidInput


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3SidecarFiles:
    def __init__(self, client, bucket: str) -> None:
        self.s3 = client
        self.bucket = bucket

    def read(self, key: str, max_bytes: int) -> SmallFile | None:
        try:
            found = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        body = found["Body"]
        try:
            if found["ContentLength"] > max_bytes:
                raise InvalidInput(f"{key} is {found['ContentLength']} bytes, over the {max_bytes} a sidecar may have")
            data = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise InvalidInput(f"{key} is over the {max_bytes} bytes a sidecar may have")
        return SmallFile(data, found["ETag"])

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def replace(self, key: str, data: bytes, content_type: str, expected_version: str | None) -> None:
        condition = {"IfMatch": expected_version} if expected_version else {"IfNoneMatch": "*"}
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **condition)
        except ClientError as exc:
            # 412: the object changed (or appeared); 409: a concurrent conditional write won.
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey"):
                raise Conflict(f"{key} changed while it was being edited; load it again and retry") from None
            raise

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)
