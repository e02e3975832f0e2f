"""What the catalog records once a model's bytes are hashed, in both worlds."""

from __future__ import annotations

from typing import Any


def hashed_record(facts: dict, digest: str, claimed: str | None, hashed_at: str, **identity: Any) -> dict:
    """`facts` with the computed sha256, marked verified and stamped with the file's
    `identity` (size, and etag or modified). A `claimed` sha256 (the uploader's, or one
    recorded before) that disagrees is kept beside it as `sha256_claimed`."""
    record: dict[str, Any] = {**facts, "sha256": digest, **identity, "sha256_verified": True, "hashed_at": hashed_at}
    record.pop("sha256_claimed", None)
    if claimed and claimed != digest:
        record["sha256_claimed"] = claimed
    return record
