"""Request and response bodies of the API (they generate the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Request bodies are validated strictly: numbers are JSON numbers, booleans true/false,
# strings strings; nothing is coerced ("size": "5" is a 422). See sdaws.contract.specs.
STRICT = ConfigDict(strict=True)


class ErrorBody(BaseModel):
    error: str
    message: str


class Ping(BaseModel):
    version: str
    mode: str = Field(description="aws when deployed, local for the embedded server")


class ModelType(BaseModel):
    name: str
    required: bool
    extensions: list[str] = Field(default_factory=list, description="the file extensions this folder holds")
    used_by: list[str] = Field(default_factory=list, description="which jobs read this folder, and through which field")
    unsupported: str | None = Field(None, description="why no job reads this folder (LDSR/, hypernetworks/, CLIP/)")


class ModelTypes(BaseModel):
    types: list[ModelType]
    extensions: list[str]
    default_extension: str


class ModelItem(BaseModel):
    type: str
    name: str
    size: int
    modified: str


class ModelPage(BaseModel):
    items: list[ModelItem]
    next_cursor: str | None
    warnings: list[str]


class SafetensorsSummary(BaseModel):
    tensor_count: int
    dtypes: dict[str, int]
    parameter_count: int
    metadata: dict[str, str | int | float | bool | None | list | dict]


class Architecture(BaseModel):
    """What the conversion engine detects from the checkpoint's tensor names and shapes."""

    arch: str
    prediction_type: str
    image_size: int
    upcast_attention: bool
    reasons: list[str]
    defaults_taken: list[str]


class ModelInfo(ModelItem):
    sha256: str | None
    format: str
    safetensors: SafetensorsSummary | None
    architecture: Architecture | None = Field(None, description="Stable-diffusion/ safetensors checkpoints only")
    conversions: list[str] = Field([], description="converted names (diffusers/<name>) made from this checkpoint")
    source: str | None = Field(None, description="converted models: the checkpoint they were made from")
    warnings: list[str] = []


class Deleted(BaseModel):
    deleted: bool


SHA256_HEX = r"^[0-9a-fA-F]{64}$"


class CreateUpload(BaseModel):
    model_config = STRICT

    type: str = Field(min_length=1, max_length=64, description="model folder, e.g. Stable-diffusion or Lora")
    filename: str = Field(min_length=1, max_length=255, description="file name; no extension gets .ckpt")
    size: int = Field(description="bytes; greater than 0 and at most the deployment's limit")
    sha256: str | None = Field(default=None, pattern=SHA256_HEX, description="when known before sending")
    overwrite: bool = False


class CompleteUpload(BaseModel):
    model_config = STRICT

    sha256: str | None = Field(
        default=None,
        pattern=SHA256_HEX,
        description="sha256 of the whole file, as the uploader computed it while sending; checked against the "
        "stored bytes where the storage can hash them (local), recorded where it cannot (S3)",
    )


class PartUrl(BaseModel):
    part_number: int
    url: str


class StoredPart(BaseModel):
    part_number: int
    size: int
    etag: str


class _UploadFacts(BaseModel):
    upload_id: str
    type: str
    name: str
    size: int
    part_size: int
    part_count: int
    expires_at: str


class UploadCreated(_UploadFacts):
    parts: list[PartUrl]


class UploadStatus(_UploadFacts):
    status: str
    parts_done: list[StoredPart]
    parts_missing: list[PartUrl]


class UploadCompleted(BaseModel):
    type: str
    name: str
    size: int
    sha256: str | None
    sha256_verified: bool = Field(description="true when the server hashed the stored bytes itself")


class Aborted(BaseModel):
    aborted: bool
