"""Files the WebUI keeps beside a model, named from the model's stem (its name without
the last extension, as the WebUI's `os.path.splitext` cuts it):

    STEM.preview.png|jpg|jpeg|webp|gif  preview image (what the WebUI's "Replace preview" writes)
    STEM.png|jpg|jpeg|webp|gif          preview image (what users and Civitai Helper drop in)
    STEM.json                           extra-networks user metadata (the card's edit dialog)
    STEM.civitai.info                   Civitai's model-version JSON (Civitai Helper writes it)
    STEM.txt / STEM.description.txt     a description (read by the WebUI's cards)
    STEM.yaml / STEM.yml                a checkpoint's config

Sidecars are never models: listings and searches skip them, and they move and delete
with their model. The user-metadata JSON is rewritten the way the WebUI writes it
(indent 4, UTF-8, not ASCII-escaped) with every key it held kept, so an edit made here
and one made in the WebUI never erase each other.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import Conflict, InvalidInput

# The WebUI's default_allowed_preview_extensions, in the order we look them up. The WebUI
# keeps them in a set (no fixed order) and tries STEM.EXT before STEM.preview.EXT; we
# try STEM.preview.EXT first because that is the name both programs write, so a preview
# just set here or in the WebUI is the one shown.
PREVIEW_EXTENSIONS: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "gif")
PREVIEW_MARK = ".preview"
USER_METADATA_SUFFIX = ".json"
CIVITAI_INFO_SUFFIX = ".civitai.info"
DESCRIPTION_SUFFIXES: tuple[str, ...] = (".txt", ".description.txt")
CONFIG_SUFFIXES: tuple[str, ...] = (".yaml", ".yml")
_SIDECAR_SUFFIXES: tuple[str, ...] = (
    *(f".{ext}" for ext in PREVIEW_EXTENSIONS),
    USER_METADATA_SUFFIX,
    ".info",
    *DESCRIPTION_SUFFIXES,
    *CONFIG_SUFFIXES,
)
IMAGE_CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}
# Sidecars are small; a bigger one is not what it claims to be and is not read whole.
MAX_USER_METADATA_BYTES = 1024 * 1024
MAX_CIVITAI_INFO_BYTES = 8 * 1024 * 1024
MAX_DESCRIPTION_BYTES = 256 * 1024
MAX_PREVIEW_BYTES = 32 * 1024 * 1024

# The WebUI's user-metadata keys (extensions-builtin/Lora/ui_edit_user_metadata.py and
# modules/ui_extra_networks_user_metadata.py), exactly as it spells them.
DESCRIPTION = "description"
ACTIVATION_TEXT = "activation text"
PREFERRED_WEIGHT = "preferred weight"
NEGATIVE_TEXT = "negative text"
NOTES = "notes"
SD_VERSION = "sd version"
# API field name -> WebUI key. Only these are edited; every other key is kept as found.
EDITABLE_FIELDS: dict[str, str] = {
    "description": DESCRIPTION,
    "activation_text": ACTIVATION_TEXT,
    "preferred_weight": PREFERRED_WEIGHT,
    "negative_text": NEGATIVE_TEXT,
    "notes": NOTES,
    "sd_version": SD_VERSION,
}
# The WebUI's "Stable Diffusion version" dropdown.
SD_VERSIONS: tuple[str, ...] = ("SD1", "SD2", "SDXL", "SD3", "Unknown")
MAX_TEXT_FIELD = 20_000
WEIGHT_RANGE = (-10.0, 10.0)  # a LoRA weight any job accepts (specs.LoraRef)


def stem(model_name: str) -> str:
    """`x.safetensors` -> `x`, `x.vae.pt` -> `x.vae` (the WebUI's os.path.splitext)."""
    dot = model_name.rfind(".")
    return model_name[:dot] if dot > 0 else model_name


def preview_candidates(model_name: str) -> list[str]:
    """Names a preview of this model may have, in lookup order."""
    base = stem(model_name)
    names = []
    for ext in PREVIEW_EXTENSIONS:
        names += [f"{base}{PREVIEW_MARK}.{ext}", f"{base}.{ext}"]
    return names


def preview_name(model_name: str, ext: str = "png") -> str:
    """The name a preview set from here gets (the WebUI's `local_preview`)."""
    ext = ext.lower().lstrip(".")
    if ext == "jpeg":
        ext = "jpg"
    if ext not in PREVIEW_EXTENSIONS:
        raise InvalidInput(f"a preview must be one of {', '.join(PREVIEW_EXTENSIONS)}, not {ext!r}")
    return f"{stem(model_name)}{PREVIEW_MARK}.{ext}"


def user_metadata_name(model_name: str) -> str:
    return stem(model_name) + USER_METADATA_SUFFIX


def civitai_info_name(model_name: str) -> str:
    return stem(model_name) + CIVITAI_INFO_SUFFIX


def description_names(model_name: str) -> list[str]:
    return [stem(model_name) + s for s in DESCRIPTION_SUFFIXES]


def sidecar_names(model_name: str) -> list[str]:
    """Every sidecar name this model may own: what moves and deletes with it."""
    base = stem(model_name)
    return [
        *preview_candidates(model_name),
        user_metadata_name(model_name),
        civitai_info_name(model_name),
        *description_names(model_name),
        *(base + s for s in CONFIG_SUFFIXES),
    ]


def is_sidecar(file_name: str) -> bool:
    """Whether a file in a model folder is a sidecar (never a model), by its name alone:
    an orphaned preview is still no model."""
    lowered = file_name.lower()
    return any(lowered.endswith(s) and len(lowered) > len(s) for s in _SIDECAR_SUFFIXES)


def owner_stem(file_name: str) -> str | None:
    """The stem of the model a sidecar belongs to (`x.preview.png` -> `x`), None for a non-sidecar."""
    if not is_sidecar(file_name):
        return None
    lowered = file_name.lower()
    for marker in (PREVIEW_MARK + ".", ".description.", ".civitai."):
        cut = lowered.rfind(marker)
        if cut > 0 and "." not in lowered[cut + len(marker) :]:
            return file_name[:cut]
    return stem(file_name)


def sidecars_of(model_name: str, names: set[str] | frozenset[str]) -> dict[str, Any]:
    """Which of this model's sidecars are among `names` (one folder's file names)."""
    preview = next((n for n in preview_candidates(model_name) if n in names), None)
    return {
        "preview": preview,
        "user_metadata": user_metadata_name(model_name) if user_metadata_name(model_name) in names else None,
        "civitai_info": civitai_info_name(model_name) if civitai_info_name(model_name) in names else None,
        "description": next((n for n in description_names(model_name) if n in names), None),
    }


def preview_extension(data: bytes) -> str:
    """The image type of a preview from its first bytes (never from a client's word)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    raise InvalidInput("a preview must be a PNG, JPEG, WebP or GIF image")


# -- NAME.json: the WebUI's extra-networks user metadata ---------------------------------


@dataclass
class UserMetadata:
    """What the WebUI's edit dialog shows; `raw` is the whole JSON object as found."""

    description: str = ""
    activation_text: str = ""
    preferred_weight: float | None = None
    negative_text: str = ""
    notes: str = ""
    sd_version: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("raw")
        return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _weight(value: Any) -> float | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def parse_user_metadata(data: bytes) -> UserMetadata:
    """NAME.json as the WebUI reads it; raises Conflict when it is not a JSON object (so an
    edit never overwrites a file a person wrote by hand and got wrong)."""
    if len(data) > MAX_USER_METADATA_BYTES:
        raise Conflict(f"user metadata is {len(data)} bytes, over {MAX_USER_METADATA_BYTES}; fix it by hand")
    try:
        raw = json.loads(data.decode("utf-8-sig")) if data.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise Conflict(f"user metadata is not valid JSON ({exc}); fix or delete the file") from None
    if not isinstance(raw, dict):
        raise Conflict("user metadata is not a JSON object; fix or delete the file")
    version = raw.get(SD_VERSION)
    return UserMetadata(
        description=_text(raw.get(DESCRIPTION)),
        activation_text=_text(raw.get(ACTIVATION_TEXT)),
        preferred_weight=_weight(raw.get(PREFERRED_WEIGHT)),
        negative_text=_text(raw.get(NEGATIVE_TEXT)),
        notes=_text(raw.get(NOTES)),
        sd_version=version if isinstance(version, str) and version else None,
        raw=raw,
    )


def _check_edit(api_field: str, value: Any) -> Any:
    if api_field == "preferred_weight":
        weight = _weight(value)
        if weight is None or not WEIGHT_RANGE[0] <= weight <= WEIGHT_RANGE[1]:
            raise InvalidInput(f"preferred_weight must be a number from {WEIGHT_RANGE[0]} to {WEIGHT_RANGE[1]}")
        return weight
    if api_field == "sd_version":
        if value not in SD_VERSIONS:
            raise InvalidInput(f"sd_version must be one of {', '.join(SD_VERSIONS)}")
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{api_field} must be text")
    if len(value) > MAX_TEXT_FIELD:
        raise InvalidInput(f"{api_field} is {len(value)} characters; use at most {MAX_TEXT_FIELD}")
    return value


def apply_user_metadata_edit(raw: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """`raw` with the edited fields set under the WebUI's keys; every other key kept.
    `edits` uses the API's field names (EDITABLE_FIELDS)."""
    unknown = sorted(set(edits) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput(f"cannot edit {', '.join(unknown)}; editable: {', '.join(EDITABLE_FIELDS)}")
    updated = dict(raw)
    for api_field, value in edits.items():
        updated[EDITABLE_FIELDS[api_field]] = _check_edit(api_field, value)
    return updated


def encode_user_metadata(raw: dict[str, Any]) -> bytes:
    """The bytes the WebUI's write_user_metadata writes for this object."""
    return json.dumps(raw, indent=4, ensure_ascii=False).encode("utf-8")


# -- NAME.civitai.info: Civitai's model-version JSON ----------------------------------


@dataclass
class CivitaiInfo:
    model_name: str | None = None
    version_name: str | None = None
    trained_words: list[str] = field(default_factory=list)
    base_model: str | None = None
    model_type: str | None = None
    model_id: int | None = None
    version_id: int | None = None
    sha256: str | None = None  # the primary file's SHA256 as Civitai lists it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_civitai_info(data: bytes) -> CivitaiInfo | None:
    """The fields we show from a NAME.civitai.info; None when it is not Civitai's JSON."""
    if len(data) > MAX_CIVITAI_INFO_BYTES:
        return None
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    model = _dict(raw.get("model"))
    words = raw.get("trainedWords")
    words = words if isinstance(words, list) else []
    files_raw = raw.get("files")
    files = [f for f in files_raw if isinstance(f, dict)] if isinstance(files_raw, list) else []
    primary = next((f for f in files if f.get("primary")), files[0] if files else {})
    hashes = _dict(primary.get("hashes"))
    sha = _str(hashes.get("SHA256"))
    return CivitaiInfo(
        model_name=_str(model.get("name")),
        version_name=_str(raw.get("name")),
        trained_words=[w.strip() for w in words if isinstance(w, str) and w.strip()],
        base_model=_str(raw.get("baseModel")),
        model_type=_str(model.get("type")),
        model_id=_int(raw.get("modelId")),
        version_id=_int(raw.get("id")),
        sha256=sha.lower() if sha else None,
    )


def parse_description(data: bytes) -> str:
    """STEM.txt / STEM.description.txt as the WebUI reads it (UTF-8, bad bytes replaced)."""
    return data[:MAX_DESCRIPTION_BYTES].decode("utf-8", errors="replace")
