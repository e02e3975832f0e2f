"""Browse, inspect and delete models in the tree.

Converted models (`diffusers/<name>/`, folders a convert job made) are a branch of the
tree of their own: listed with their total size, inspected (architecture and source
checkpoint from the record the conversion engine writes beside the pipeline), deleted
as a whole. Everything else is one file per model.
"""

from __future__ import annotations

import json

from sdaws.contract.architecture import ARCHS, detect_architecture
from sdaws.contract.errors import InvalidInput, NotFound
from sdaws.contract.model_tree import (
    CONVERTED_PREFIX,
    MODEL_TYPES,
    REQUIRED_TYPE,
    canonical_type,
    check_name,
    is_plain_name,
    model_format,
    model_key,
    strip_model_extension,
)
from sdaws.contract.safetensors_header import (
    METADATA_VALUE_SHOWN,
    HeaderError,
    read_checked_header,
    shown_metadata,
    summarize,
    tensor_shapes,
)
from sdaws.contract.sidecars import is_sidecar

from . import cursor as cursors
from .ports import ModelCatalog, ObjectStore, StoredObject

DEFAULT_PAGE = 100
MAX_PAGE = 1000
# Key order is byte order, which is how S3 lists and how we sort local folders.
_TYPES_IN_KEY_ORDER = tuple(sorted((*MODEL_TYPES, CONVERTED_PREFIX)))
# A converted folder is a model when it holds this; the engine records how it was made in the other.
PIPELINE_MARKER = "model_index.json"
CONVERSION_RECORD = "sdaws_conversion.json"
MAX_RECORD_BYTES = 64 * 1024
_ARCH_KEYS = ("arch", "prediction_type", "image_size", "upcast_attention", "reasons", "defaults_taken")


def _folder_type(model_type: str) -> str:
    """The listing folder for `model_type`: a tree folder (any case) or the converted branch."""
    if (model_type or "").strip().lower() == CONVERTED_PREFIX:
        return CONVERTED_PREFIX
    return canonical_type(model_type)


def _converted_key(name: str) -> str:
    if not is_plain_name(name):
        raise InvalidInput(f"converted model name {name!r} is not a plain folder name")
    return f"{CONVERTED_PREFIX}/{name}"


def _item(obj: StoredObject) -> dict:
    model_type, name = obj.key.split("/", 1)
    return {"type": model_type, "name": name, "size": obj.size, "modified": obj.modified.isoformat()}


def _architecture(shapes: dict, name: str) -> dict | None:
    """What the conversion engine would detect from these shapes; None for a LoRA, VAE or
    foreign file put in the checkpoint folder."""
    try:
        return detect_architecture(shapes, name).as_dict()
    except InvalidInput:
        return None


class ModelService:
    def __init__(self, store: ObjectStore, catalog: ModelCatalog) -> None:
        self.store = store
        self.catalog = catalog

    def warnings(self) -> list[str]:
        if self.store.folder_exists(REQUIRED_TYPE):
            return []
        return [f"the {REQUIRED_TYPE}/ folder is missing; create it and put at least one checkpoint in it"]

    def list_models(
        self,
        model_type: str | None = None,
        prefix: str = "",
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> dict:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        if "/" in prefix or "\\" in prefix:
            raise InvalidInput("prefix must not contain path separators; it filters file names")
        types = [_folder_type(model_type)] if model_type else list(_TYPES_IN_KEY_ORDER)
        after = cursors.decode(cursor) if cursor else None
        if after is not None and after.split("/", 1)[0] not in types:
            raise InvalidInput("cursor does not belong to this listing; start again without cursor")

        items: list[dict] = []
        more = False
        for folder in types:
            if after is not None and folder < after.split("/", 1)[0]:
                continue
            start = after if after is not None and after.startswith(folder + "/") else None
            if folder == CONVERTED_PREFIX:
                objects, more = self.store.list_folders(
                    f"{folder}/{prefix}", start, limit - len(items), PIPELINE_MARKER
                )
                items.extend(_item(o) for o in objects)
            else:
                while True:  # sidecars (x.preview.png, x.json) are never models: skip them, fill the page
                    objects, more = self.store.list_files(f"{folder}/{prefix}", start, limit - len(items))
                    items.extend(_item(o) for o in objects if not is_sidecar(o.key.split("/", 1)[1]))
                    if not more or not objects or len(items) >= limit:
                        break
                    start = objects[-1].key
            if len(items) >= limit:
                more = more or folder != types[-1]
                break
        next_cursor = None
        if more and items:
            last = items[-1]
            next_cursor = cursors.encode(f"{last['type']}/{last['name']}")
        return {"items": items, "next_cursor": next_cursor, "warnings": self.warnings()}

    def model_info(self, model_type: str, name: str) -> dict:
        if _folder_type(model_type) == CONVERTED_PREFIX:
            return self._converted_info(name)
        key = model_key(model_type, name)
        obj = self.store.head(key)
        if obj is None:
            raise NotFound(f"no model {key}; list the folder to see what is there")
        facts = self.catalog.get(key) or {}
        # A sha256 is only trusted for the bytes it was computed on.
        sha256 = facts.get("sha256") if facts.get("size") == obj.size else None
        info = _item(obj) | {
            "sha256": sha256,
            "format": model_format(key),
            "safetensors": None,
            "architecture": None,
            "conversions": [],
        }
        if info["format"] == "safetensors":
            try:
                header, entries = read_checked_header(
                    lambda start, length: self.store.read_range(key, start, length), obj.size
                )
            except HeaderError as exc:  # a hostile or broken file is information about the file, not an error
                info["warnings"] = [f"not a readable safetensors file: {exc}"]
            else:
                info["safetensors"] = summarize(header, entries)
                if shown_metadata(header)[1]:
                    info["warnings"] = [f"metadata values over {METADATA_VALUE_SHOWN:,} characters are shortened"]
                if info["type"] == REQUIRED_TYPE:
                    info["architecture"] = _architecture(tensor_shapes(header, entries), info["name"])
        if info["type"] == REQUIRED_TYPE:
            info["conversions"] = self._conversions(info["name"])
        return info

    def _conversions(self, name: str) -> list[str]:
        """Converted names of this checkpoint: the convert job's default name is its stem."""
        stem = strip_model_extension(name)
        if self.store.head(f"{CONVERTED_PREFIX}/{stem}/model_index.json") is not None:
            return [stem]
        return []

    def _converted_info(self, name: str) -> dict:
        key = _converted_key(name)
        obj = self.store.head_folder(key, PIPELINE_MARKER)
        if obj is None:
            raise NotFound(f"no converted model {key}; `diffusers` lists them")
        info = _item(obj) | {
            "sha256": None,
            "format": "diffusers",
            "safetensors": None,
            "architecture": None,
            "conversions": [],
            "source": None,
        }
        record = self._conversion_record(key)
        if record is not None:
            if record.get("arch") in ARCHS and all(k in record for k in _ARCH_KEYS):
                info["architecture"] = {k: record[k] for k in _ARCH_KEYS}
            source = record.get("source")
            if isinstance(source, str) and source:
                info["source"] = f"{REQUIRED_TYPE}/{source.rsplit('/', 1)[-1]}"
        return info

    def _conversion_record(self, key: str) -> dict | None:
        """What the engine recorded about the conversion (None for folders made elsewhere)."""
        record_key = f"{key}/{CONVERSION_RECORD}"
        found = self.store.head(record_key)
        if found is None or found.size > MAX_RECORD_BYTES:
            return None
        try:
            record = json.loads(self.store.read_range(record_key, 0, found.size))
        except (ValueError, UnicodeDecodeError):
            return None
        return record if isinstance(record, dict) else None

    def delete_model(self, model_type: str, name: str) -> dict:
        if _folder_type(model_type) == CONVERTED_PREFIX:
            key = _converted_key(name)
            if self.store.head_folder(key, PIPELINE_MARKER) is None:
                raise NotFound(f"no converted model {key}; nothing was deleted")
            self.store.delete_folder(key)
            self.catalog.delete(key)
            return {"deleted": True}
        key = model_key(model_type, check_name(name))
        if self.store.head(key) is None:
            raise NotFound(f"no model {key}; nothing was deleted")
        self.store.delete(key)
        self.catalog.delete(key)
        return {"deleted": True}
