"""A model's catalog entry: what its file and its sidecars say, computed once and kept in
the catalog until the model or a sidecar changes (their sizes and times are stamped).

Search reads these entries instead of opening every file on every query; the entry is
rebuilt when a stamp no longer matches what the listing shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sdaws.contract.errors import Conflict, InvalidInput
from sdaws.contract.model_facts import (
    FOLDER_KINDS,
    detect_family,
    family_from_civitai,
    family_from_modelspec,
    family_from_sd_version,
    kohya_facts,
)
from sdaws.contract.safetensors_header import HeaderError, metadata_of, read_header, tensor_shapes
from sdaws.contract.sidecars import (
    MAX_CIVITAI_INFO_BYTES,
    MAX_DESCRIPTION_BYTES,
    MAX_USER_METADATA_BYTES,
    parse_civitai_info,
    parse_description,
    parse_user_metadata,
    sidecars_of,
)

from .ports import StoredObject
from .tree_groups import ModelGroup

INDEX_VERSION = 1
INDEX_KEY = "index"  # where the entry lives inside the model's catalog facts
MAX_DESCRIPTION_KEPT = 4000

ReadRange = Callable[[int, int], bytes]
ReadSidecar = Callable[[str, int], bytes | None]  # (file name, max bytes) -> bytes or None


def stamp(obj: StoredObject) -> list:
    return [obj.size, obj.modified.isoformat()]


def stamps(group: ModelGroup) -> dict[str, Any]:
    return {"model": stamp(group.model), "sidecars": {n: stamp(o) for n, o in sorted(group.sidecars.items())}}


def is_fresh(entry: dict | None, group: ModelGroup) -> bool:
    return entry is not None and entry.get("v") == INDEX_VERSION and entry.get("stamps") == stamps(group)


def _split_tags(text: str) -> list[str]:
    return [t.strip() for t in re.split(r"\s*,\s*", text or "") if t.strip()]


def _tags(user: dict | None, civitai: dict | None, kohya: dict | None) -> list[str]:
    """Trigger words in the order a user would reach for them: their own activation text,
    Civitai's trained words, then the most frequent training tags."""
    found: list[str] = []
    seen: set[str] = set()
    candidates = _split_tags((user or {}).get("activation_text", ""))
    for words in (civitai or {}).get("trained_words", []):
        candidates += _split_tags(words)
    candidates += [str(tag) for tag, _count in (kohya or {}).get("trigger_tags", [])]
    for tag in candidates:
        if tag.lower() not in seen:
            seen.add(tag.lower())
            found.append(tag)
    return found


def _narrow(families: list[str], claimed: str | None) -> list[str]:
    if not claimed:
        return families
    if not families or claimed in families:
        return [claimed]
    return families


def build_entry(group: ModelGroup, read_range: ReadRange, read_sidecar: ReadSidecar) -> dict[str, Any]:
    """The catalog entry of one model, from its header and its sidecars."""
    name, folder = group.name, group.folder
    warnings: list[str] = []
    expected_kind = FOLDER_KINDS.get(folder)
    kind, families, reasons, kohya = expected_kind or "unknown", [], [], None
    metadata: dict[str, str] = {}
    if name.lower().endswith(".safetensors"):
        try:
            header = read_header(read_range, group.model.size)
        except HeaderError as exc:
            warnings.append(f"not a readable safetensors file: {exc}")
        else:
            metadata = metadata_of(header)
            guess = detect_family(tensor_shapes(header), name)
            kind, families, reasons = guess.kind, list(guess.families), list(guess.reasons)
            if expected_kind and kind not in (expected_kind, "unknown"):
                warnings.append(f"this file is a {kind}, not a {expected_kind}: it belongs in another folder")
            found = kohya_facts(metadata)
            kohya = found.as_dict() if found else None
    else:
        reasons.append("kind and family are read from .safetensors files; this one is not")

    present = sidecars_of(name, frozenset(group.sidecars))
    user = civitai = None
    description = None
    if present["user_metadata"]:
        raw = read_sidecar(present["user_metadata"], MAX_USER_METADATA_BYTES)
        if raw is not None:
            try:
                user = parse_user_metadata(raw).as_dict()
            except (Conflict, InvalidInput) as exc:
                warnings.append(f"{present['user_metadata']}: {exc}")
    if present["civitai_info"]:
        raw = read_sidecar(present["civitai_info"], MAX_CIVITAI_INFO_BYTES)
        info = parse_civitai_info(raw) if raw is not None else None
        civitai = info.as_dict() if info else None
        if raw is not None and info is None:
            warnings.append(f"{present['civitai_info']} is not Civitai's model-version JSON")
    if present["description"]:
        raw = read_sidecar(present["description"], MAX_DESCRIPTION_BYTES)
        description = parse_description(raw)[:MAX_DESCRIPTION_KEPT] if raw is not None else None

    # Shapes first; what the metadata, Civitai or the user say only narrows what shapes allow.
    family_source = "shapes" if len(families) == 1 else None
    for source, claimed in (
        ("kohya metadata", (kohya or {}).get("family")),
        ("model spec", family_from_modelspec(metadata.get("modelspec.architecture"))),
        ("civitai", family_from_civitai((civitai or {}).get("base_model"))),
        ("your sd version", family_from_sd_version((user or {}).get("sd_version"))),
    ):
        narrowed = _narrow(families, claimed)
        if narrowed != families:
            families, family_source = narrowed, source
    if kohya and kohya.get("family") and len(families) == 1 and kohya["family"] != families[0]:
        warnings.append(f"its metadata says {kohya['family']} but its shapes say {families[0]}")
    return {
        "v": INDEX_VERSION,
        "stamps": stamps(group),
        "kind": kind,
        "family": families[0] if len(families) == 1 else None,
        "families": families,
        "family_source": family_source,
        "reasons": reasons,
        "kohya": kohya,
        "user": user,
        "civitai": civitai,
        "description": description,
        "preview": present["preview"],
        "tags": _tags(user, civitai, kohya),
        "warnings": warnings,
    }
