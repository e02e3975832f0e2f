"""Multipart uploads into the local model folder.

Parts land in `<data>/uploads/<id>/<n>.part` (written to a temp name and renamed,
so a dropped connection never leaves a partial part that looks complete). Complete
concatenates them into a hidden temp file beside the target, checks the sha256,
then renames: the model appears whole or not at all, and the parts are removed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

from sam_app.core.ports import StoredPart
from sdaws.contract.errors import Conflict, InvalidInput

from .signing import PartSigner
from .tree_store import LocalTreeStore

CHUNK = 8 * 1024 * 1024


class LocalMultipart:
    def __init__(
        self, tree: LocalTreeStore, uploads_dir: Path, signer: PartSigner, base_url: Callable[[], str]
    ) -> None:
        self.tree = tree
        self.uploads_dir = Path(uploads_dir)
        self.signer = signer
        self.base_url = base_url

    def _dir(self, storage_upload_id: str) -> Path:
        return self.uploads_dir / uuid.UUID(storage_upload_id).hex

    def create(self, key: str, sha256: str | None) -> str:
        storage_id = uuid.uuid4().hex
        self._dir(storage_id).mkdir(parents=True)
        return storage_id

    def part_url(self, key: str, storage_upload_id: str, part_number: int, expires_s: int) -> str:
        query = self.signer.query(storage_upload_id, part_number, expires_s)
        return f"{self.base_url()}/_parts/{storage_upload_id}/{part_number}?{query}"

    def write_part(self, storage_upload_id: str, part_number: int, stream, length: int, max_size: int) -> str:
        """Store one part from `stream`; returns its ETag (md5, as S3 does)."""
        directory = self._dir(storage_upload_id)
        if not directory.is_dir():
            raise InvalidInput("this upload is no longer open")
        if length <= 0 or length > max_size:
            raise InvalidInput(f"part length {length} is not within 1..{max_size}")
        md5 = hashlib.md5(usedforsecurity=False)
        temp = directory / f".{part_number}.{uuid.uuid4().hex}.tmp"
        remaining = length
        try:
            with open(temp, "wb") as fh:
                while remaining:
                    chunk = stream.read(min(CHUNK, remaining))
                    if not chunk:
                        raise InvalidInput(f"connection ended {remaining} bytes early; send the part again")
                    fh.write(chunk)
                    md5.update(chunk)
                    remaining -= len(chunk)
            etag = f'"{md5.hexdigest()}"'
            os.replace(temp, directory / f"{part_number}.part")
            (directory / f"{part_number}.etag").write_text(etag)
        finally:
            temp.unlink(missing_ok=True)
        return etag

    def list_parts(self, key: str, storage_upload_id: str) -> list[StoredPart]:
        directory = self._dir(storage_upload_id)
        parts = []
        if directory.is_dir():
            for entry in os.scandir(directory):
                stem, dot, ext = entry.name.partition(".")
                if ext == "part" and stem.isdigit():
                    etag_file = directory / f"{stem}.etag"
                    etag = etag_file.read_text() if etag_file.exists() else ""
                    parts.append(StoredPart(int(stem), entry.stat().st_size, etag))
        return sorted(parts, key=lambda p: p.part_number)

    def complete(self, key: str, storage_upload_id: str, parts: list[StoredPart], sha256: str | None) -> str | None:
        directory = self._dir(storage_upload_id)
        target = self.tree.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.parent / f".{target.name}.{uuid.uuid4().hex}.sdaws-upload"
        digest = hashlib.sha256()
        try:
            with open(temp, "wb") as out:
                for part in parts:
                    with open(directory / f"{part.part_number}.part", "rb") as src:
                        while chunk := src.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
            computed = digest.hexdigest()
            if sha256 and computed != sha256:
                raise Conflict(
                    f"sha256 of the uploaded bytes is {computed}, not {sha256}; "
                    "abort this upload and upload the file again"
                )
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        shutil.rmtree(directory, ignore_errors=True)
        return computed

    def abort(self, key: str, storage_upload_id: str) -> None:
        shutil.rmtree(self._dir(storage_upload_id), ignore_errors=True)
