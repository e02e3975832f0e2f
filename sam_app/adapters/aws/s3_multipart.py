"""Presigned S3 multipart uploads: the client PUTs parts straight to the bucket."""

from __future__ import annotations

from botocore.exceptions import ClientError

from sam_app.core.ports import StoredPart


def _no_upload(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("NoSuchUpload", "404")


class S3Multipart:
    def __init__(self, client, bucket: str) -> None:
        self.s3 = client
        self.bucket = bucket

    def create(self, key: str, sha256: str | None) -> str:
        extra = {"Metadata": {"sha256": sha256}} if sha256 else {}
        return self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, **extra)["UploadId"]

    def part_url(self, key: str, storage_upload_id: str, part_number: int, expires_s: int) -> str:
        return self.s3.generate_presigned_url(
            "upload_part",
            Params={"Bucket": self.bucket, "Key": key, "UploadId": storage_upload_id, "PartNumber": part_number},
            ExpiresIn=expires_s,
        )

    def list_parts(self, key: str, storage_upload_id: str) -> list[StoredPart]:
        parts: list[StoredPart] = []
        kwargs = {"Bucket": self.bucket, "Key": key, "UploadId": storage_upload_id}
        try:
            while True:
                page = self.s3.list_parts(**kwargs)
                parts.extend(StoredPart(p["PartNumber"], p["Size"], p["ETag"]) for p in page.get("Parts", []))
                if not page.get("IsTruncated"):
                    return parts
                kwargs["PartNumberMarker"] = page["NextPartNumberMarker"]
        except ClientError as exc:
            if _no_upload(exc):
                return []
            raise

    def complete(self, key: str, storage_upload_id: str, parts: list[StoredPart], sha256: str | None) -> str | None:
        self.s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=key,
            UploadId=storage_upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.part_number, "ETag": p.etag} for p in parts]},
        )
        return None  # S3 does not hash a multipart object whole; the service records the client's sha256

    def abort(self, key: str, storage_upload_id: str) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=storage_upload_id)
        except ClientError as exc:
            if not _no_upload(exc):
                raise
