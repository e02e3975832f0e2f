"""The model tree in an S3 bucket."""

from __future__ import annotations

from botocore.exceptions import ClientError

from sam_app.core.ports import StoredObject


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class S3TreeStore:
    def __init__(self, client, bucket: str) -> None:
        self.s3 = client
        self.bucket = bucket

    def list_files(self, prefix: str, start_after: str | None, limit: int) -> tuple[list[StoredObject], bool]:
        objects: list[StoredObject] = []
        kwargs = {"Bucket": self.bucket, "Prefix": prefix, "Delimiter": "/", "MaxKeys": min(1000, limit + 1)}
        if start_after:
            kwargs["StartAfter"] = start_after
        while True:
            page = self.s3.list_objects_v2(**kwargs)
            for item in page.get("Contents", []):
                name = item["Key"].rpartition("/")[2]
                if not name or name.startswith("."):  # folder markers, hidden files
                    continue
                if len(objects) == limit:
                    return objects, True
                objects.append(StoredObject(item["Key"], item["Size"], item["LastModified"]))
            if not page.get("IsTruncated"):
                return objects, False
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
            kwargs.pop("StartAfter", None)

    def head(self, key: str) -> StoredObject | None:
        try:
            found = self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return StoredObject(key, found["ContentLength"], found["LastModified"])

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        found = self.s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")
        return found["Body"].read()

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def folder_exists(self, folder: str) -> bool:
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{folder}/", MaxKeys=1)
        return page.get("KeyCount", 0) > 0
