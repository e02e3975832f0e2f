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
        """One page: a ListObjectsV2 from `start_after` (the cursor), continued only while
        hidden keys left it short, so a page of a 100,000-model folder costs one request."""
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
            if len(objects) == limit:
                # Full, and S3 has more keys: asking again only to see one more would cost a
                # request per page. Were the rest all hidden, the next page is empty and final.
                return objects, True
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
            kwargs["MaxKeys"] = min(1000, limit - len(objects) + 1)
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

    # -- converted (diffusers) folders: one model is a key prefix holding `marker` ---------

    def _keys(self, prefix: str, start_after: str | None = None):
        kwargs = {"Bucket": self.bucket, "Prefix": prefix}
        if start_after:
            kwargs["StartAfter"] = start_after
        while True:
            page = self.s3.list_objects_v2(**kwargs)
            yield from page.get("Contents", [])
            if not page.get("IsTruncated"):
                return
            kwargs["ContinuationToken"] = page["NextContinuationToken"]
            kwargs.pop("StartAfter", None)

    def list_folders(
        self, prefix: str, start_after: str | None, limit: int, marker: str
    ) -> tuple[list[StoredObject], bool]:
        """Folders directly under the folder part of `prefix` that hold `marker`, in key order,
        after `start_after` (a folder's key: every key of that folder is skipped too)."""
        folder = prefix.partition("/")[0]
        # "x0" sorts after every "x/..." key ('0' follows '/') and before any later folder's keys.
        keys = self._keys(prefix, start_after + "0" if start_after else None)
        objects: list[StoredObject] = []
        current: dict | None = None

        def finish() -> bool:
            """Add the folder just read if it is a model; True when the page is already full."""
            if current is None or not current["marked"]:
                return False
            if len(objects) == limit:
                return True
            objects.append(StoredObject(f"{folder}/{current['name']}", current["size"], current["modified"]))
            return False

        for item in keys:
            name, sep, rest = item["Key"][len(folder) + 1 :].partition("/")
            if not sep or not rest or name.startswith("."):
                continue  # a file beside the folders, or a folder marker
            if current is None or current["name"] != name:
                if finish():
                    return objects, True
                current = {"name": name, "size": 0, "modified": item["LastModified"], "marked": False}
            current["size"] += item["Size"]
            if rest == marker:
                current["marked"], current["modified"] = True, item["LastModified"]
        if finish():
            return objects, True
        return objects, False

    def head_folder(self, key: str, marker: str) -> StoredObject | None:
        size, stamp = 0, None
        for item in self._keys(key + "/"):
            size += item["Size"]
            if item["Key"] == f"{key}/{marker}":
                stamp = item["LastModified"]
        return StoredObject(key, size, stamp) if stamp is not None else None

    def delete_folder(self, key: str) -> None:
        # One DeleteObject per key: what the API role's policy allows (no batch action needed).
        for item in list(self._keys(key + "/")):
            self.s3.delete_object(Bucket=self.bucket, Key=item["Key"])
