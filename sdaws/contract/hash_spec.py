"""The `hash` utility job's spec: the sha256 of one model object in the bucket, for objects
the hash Lambda cannot finish within its limits (sam_app/adapters/aws/s3_hasher.py says
why). The job reads the object from the tree bucket named by TREE_BUCKET_ENV."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .import_spec import DESTINATION_ENV
from .model_tree import MAX_NAME_LENGTH, canonical_type, is_plain_name

KIND = "hash"
TREE_BUCKET_ENV = DESTINATION_ENV  # s3://<bucket>: the same variable the import job reads
# {key, sha256, size, etag} in the job's output/ (jobs/<id>/output/ on AWS), which the
# job events record in the catalog.
RESULT_FILE = "hash.json"


class HashSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, Field(min_length=3, max_length=MAX_NAME_LENGTH + 40)]
    etag: str | None = Field(None, max_length=200, description="hash only this version of the object")

    @model_validator(mode="after")
    def _tree_key(self) -> HashSpec:
        folder, _, name = self.key.partition("/")
        canonical_type(folder)
        if not name or "/" in name or not is_plain_name(name):
            raise ValueError(f"{self.key!r} is not a model key (<Type>/<file name>)")
        return self
