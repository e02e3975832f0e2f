"""Bodies of the catalog routes: hashes, search, duplicates, sidecar edits, previews, imports."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sdaws.contract.sidecars import MAX_TEXT_FIELD, SD_VERSIONS, WEIGHT_RANGE

from .schemas import STRICT, ModelInfo

# A preview sent in the JSON body, base64: API Gateway takes at most 10 MB of payload.
MAX_PREVIEW_BASE64 = 9_000_000


class HashState(BaseModel):
    status: str = Field(
        description="done, hashing (local, in the background), pending (AWS: the hash function's turn), or failed"
    )
    sha256: str | None = None
    autov2: str | None = Field(None, description="the WebUI's short hash: the sha256's first 10 hex digits")
    verified: bool | None = Field(None, description="computed from the stored bytes (not only claimed by an uploader)")
    claimed: str | None = Field(None, description="a different sha256 the uploader claimed")
    hashed_bytes: int | None = None
    size: int | None = None
    queued: bool | None = None
    error: str | None = None


class CatalogItem(BaseModel):
    type: str
    name: str
    size: int
    modified: str
    hash: HashState
    indexed: bool = Field(description="false: its facts were not read yet (a later page or request reads them)")
    kind: str | None = Field(None, description="checkpoint, lora, vae, embedding, … as the tensors say")
    family: str | None = Field(None, description="SD1, SD2 or SDXL when known")
    families: list[str] = []
    tags: list[str] = Field([], description="trigger words and top training tags")
    preview: str | None = Field(None, description="key of the preview sidecar (Lora/x.preview.png)")
    title: str | None = Field(None, description="model name from NAME.civitai.info")


class HashMatches(BaseModel):
    items: list[CatalogItem]
    next_cursor: str | None = None
    warnings: list[str] = []


class SearchPage(BaseModel):
    items: list[CatalogItem]
    next_cursor: str | None
    examined: int = Field(description="models looked at for this page")
    unindexed: int = Field(description="models skipped by a tag/family filter because their facts are not read yet")


class DuplicateGroup(BaseModel):
    sha256: str
    autov2: str
    size: int
    wasted_bytes: int
    models: list[str]


class Duplicates(BaseModel):
    groups: list[DuplicateGroup]


class CatalogDetails(BaseModel):
    """What the catalog knows of one model beyond the file's own summary."""

    model_config = ConfigDict(extra="allow")

    indexed: bool
    kind: str | None = None
    family: str | None = None
    families: list[str] = []
    family_source: str | None = None
    reasons: list[str] = []
    tags: list[str] = []
    preview: str | None = None
    preview_url: str | None = Field(None, description="a URL that downloads the preview for a while")
    title: str | None = None
    kohya: dict[str, Any] | None = Field(None, description="LoRA training facts from its ss_* metadata")
    user_metadata: dict[str, Any] | None = Field(None, description="NAME.json (the WebUI's user metadata)")
    civitai: dict[str, Any] | None = Field(None, description="NAME.civitai.info")
    description: str | None = Field(None, description="NAME.description.txt")
    sidecars: list[str] = []
    warnings: list[str] = []
    fit: dict[str, Any] | None = None


class UserMetadataEdit(BaseModel):
    """Fields of NAME.json to set (the WebUI's keys: description, activation text,
    preferred weight, negative text, notes, sd version); omitted fields stay as they are."""

    model_config = ConfigDict(strict=True, extra="forbid")

    description: str | None = Field(None, max_length=MAX_TEXT_FIELD)
    activation_text: str | None = Field(None, max_length=MAX_TEXT_FIELD)
    preferred_weight: float | None = Field(None, ge=WEIGHT_RANGE[0], le=WEIGHT_RANGE[1])
    negative_text: str | None = Field(None, max_length=MAX_TEXT_FIELD)
    notes: str | None = Field(None, max_length=MAX_TEXT_FIELD)
    sd_version: str | None = Field(None, description=f"one of {', '.join(SD_VERSIONS)}")


class UserMetadata(BaseModel):
    description: str
    activation_text: str
    preferred_weight: float | None
    negative_text: str
    notes: str
    sd_version: str | None


class SetPreview(BaseModel):
    """Either an image (base64 of PNG, JPEG, WebP or GIF bytes) or a job's output image."""

    model_config = STRICT

    image_base64: str | None = Field(None, max_length=MAX_PREVIEW_BASE64)
    job_id: str | None = Field(None, max_length=64)
    output: str | None = Field(None, max_length=300, description="the output's name in GET /jobs/{id}/outputs")


class PreviewSet(BaseModel):
    preview: str
    size: int
    from_job: str | None = None
    from_output: str | None = None


class CatalogModelInfo(ModelInfo):
    hash: HashState | None = Field(None, description="sha256, AutoV2 and whether it is still being computed")
    catalog: CatalogDetails | None = Field(
        None, description="sidecar fields (NAME.json, NAME.civitai.info), LoRA facts"
    )


class CreateImport(BaseModel):
    """POST /imports: bring a model from an https URL or Hugging Face into the tree,
    downloaded where the model will live (never through the caller's link)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    source: str = Field(min_length=1, max_length=2048, description="https://… or org/repo[:path]")
    type: str = Field(min_length=1, max_length=64, description="tree folder (Lora, Stable-diffusion…) or diffusers")
    name: str | None = Field(None, min_length=1, max_length=255, description="default: what the source says")
    sha256: str | None = Field(None, pattern=r"^[0-9a-fA-F]{64}$", description="fail, keeping nothing, unless equal")
    revision: str | None = Field(None, max_length=200, description="Hugging Face branch, tag or commit")
    overwrite: bool = False
    token: str | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="bearer token for the source (a Civitai API key, a Hugging Face token); handed to the job "
        "only, never stored in the job record or shown in a log",
    )
