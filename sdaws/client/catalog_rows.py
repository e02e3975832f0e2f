"""The catalog's part of a model's details (`hash` and `catalog` of GET /models/{type}/{name})
as labelled rows: hashes, base family, LoRA training facts, the WebUI's NAME.json fields.

Every value comes from a file's author (kohya metadata, NAME.json, NAME.civitai.info) and
passes through `printable`; the TUI shows the rows as plain Text, never markup, and
`sdaws models info` prints them.
"""

from __future__ import annotations

from sdaws.client.safe_text import printable

TRIGGER_TAGS_SHOWN = 5
HASH_SHOWN = 12  # like `git log --oneline`: enough to tell files apart; the AutoV2 row has the short form


def hash_rows(state: dict | None) -> list[tuple[str, str]]:
    if not state:
        return []
    status = state.get("status")
    if status == "done" and state.get("sha256"):
        sha = str(state["sha256"])
        rows = [
            ("SHA-256", f"{sha[:HASH_SHOWN]}…" + ("" if state.get("verified", True) else "  (claimed, not verified)"))
        ]
        rows.append(("AutoV2", str(state.get("autov2") or sha[:10])))
        return rows
    if status == "hashing":
        done, size = state.get("hashed_bytes"), state.get("size")
        part = f" {100 * done // size}%" if isinstance(done, int) and isinstance(size, int) and size else ""
        return [("SHA-256", f"hashing…{part}")]
    if status == "failed":
        return [("SHA-256", f"failed: {state.get('error') or 'unknown error'}")]
    return [("SHA-256", f"{status or 'unknown'} (computed on the server soon)")]


def family_row(catalog: dict) -> list[tuple[str, str]]:
    kind = catalog.get("kind")
    family = catalog.get("family")
    families = catalog.get("families") or []
    if family:
        text = f"fits {family}"
    elif families:
        text = "fits " + " or ".join(families)
    else:
        return [("Family", "unknown")] if kind and kind != "unknown" else []
    source = catalog.get("family_source")
    return [("Family", f"{text}" + (f"  ({source})" if source else ""))]


def kohya_rows(kohya: dict | None) -> list[tuple[str, str]]:
    if not kohya:
        return []
    rows = []
    if kohya.get("base_model_version"):
        rows.append(("Trained on", str(kohya["base_model_version"])))
    dim, alpha = kohya.get("network_dim"), kohya.get("network_alpha")
    if dim is not None or alpha is not None:
        rows.append(("Dim / alpha", f"{dim if dim is not None else '?'} / {alpha if alpha is not None else '?'}"))
    if kohya.get("resolution"):
        rows.append(("Resolution", "×".join(str(v) for v in kohya["resolution"])))
    tags = [f"{tag} ({count})" for tag, count in (kohya.get("trigger_tags") or [])[:TRIGGER_TAGS_SHOWN]]
    if tags:
        rows.append(("Top tags", ", ".join(tags)))
    return rows


USER_FIELDS = (
    ("description", "Description"),
    ("activation_text", "Activation text"),
    ("preferred_weight", "Weight"),
    ("negative_text", "Negative text"),
    ("notes", "Notes"),
)


def user_rows(user: dict | None) -> list[tuple[str, str]]:
    rows = []
    for key, label in USER_FIELDS:
        value = (user or {}).get(key)
        if value not in (None, ""):
            rows.append((label, str(value)))
    return rows


def catalog_rows(info: dict, *, single_line: bool = False) -> list[tuple[str, str]]:
    """Rows to add after the file's own rows (none for a model the catalog does not cover)."""
    catalog = info.get("catalog") or {}
    rows = hash_rows(info.get("hash"))
    rows += family_row(catalog)
    civitai = catalog.get("civitai") or {}
    if civitai.get("model_name"):
        rows.append(("Civitai", str(civitai["model_name"])))
    rows += kohya_rows(catalog.get("kohya"))
    rows += user_rows(catalog.get("user_metadata"))
    if catalog.get("tags"):
        rows.append(("Trigger words", ", ".join(str(t) for t in catalog["tags"][:8])))
    if catalog.get("preview"):
        rows.append(("Preview", str(catalog["preview"])))
    rows += [("Warning", str(w)) for w in catalog.get("warnings") or []]
    return [(printable(label, single_line=True), printable(value, single_line=single_line)) for label, value in rows]


def is_hashing(info: dict) -> bool:
    return (info.get("hash") or {}).get("status") in ("hashing", "pending")
