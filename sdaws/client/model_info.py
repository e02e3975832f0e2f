"""One model's info (`GET /models/{type}/{name}`) as labelled rows, for the TUI's details
pane and `sdaws models info` alike.

Names, metadata and warnings come from the model file's author: every value passes
through `printable` here, so neither a terminal nor the TUI can be made to run an
escape sequence, and callers show the rows as plain text (never markup).
"""

from __future__ import annotations

from sdaws.client import fmt
from sdaws.client.safe_text import printable
from sdaws.contract.model_tree import CONVERTED_PREFIX, REQUIRED_TYPE

METADATA_ROWS = 8


def describe_architecture(info: dict) -> str:
    """The server's detection (the conversion engine's rules), in one line."""
    found = info.get("architecture")
    if not found:
        if info.get("type") in (REQUIRED_TYPE, CONVERTED_PREFIX):
            return "— (not a checkpoint the engine recognises)"
        return "—"
    return f"{found['arch']} · {found['prediction_type']} · {found['image_size']}px"


def is_base_model(model_type: str) -> bool:
    """Whether models of this folder can be a job's model (a checkpoint or a converted folder)."""
    return model_type in (REQUIRED_TYPE, CONVERTED_PREFIX)


def info_rows(
    info: dict, metadata_limit: int | None = METADATA_ROWS, *, single_line: bool = False
) -> list[tuple[str, str]]:
    """(label, value) pairs, safe to show; ``single_line`` also escapes newlines (one row per line)."""
    model_type = info.get("type")
    rows = [
        ("Model", f"{model_type}/{info['name']}"),
        ("Size", f"{fmt.size(info.get('size'))} ({fmt.count(info.get('size') or 0)} bytes)"),
        ("Modified", fmt.timestamp(info.get("modified"))),
        ("Format", str(info.get("format") or "—")),
    ]
    if model_type != CONVERTED_PREFIX:
        rows.append(("SHA-256", info.get("sha256") or "not computed yet"))
    if is_base_model(str(model_type)):
        rows.append(("Architecture", describe_architecture(info)))
    if model_type == CONVERTED_PREFIX:
        rows.append(("Source", info.get("source") or "not recorded"))
    summary = info.get("safetensors")
    if summary:
        dtypes = ", ".join(f"{k} ×{v}" for k, v in sorted(summary.get("dtypes", {}).items()))
        rows.append(("Tensors", f"{summary.get('tensor_count')}  ({dtypes})"))
        rows.append(("Parameters", fmt.count(summary.get("parameter_count") or 0)))
        metadata = sorted((summary.get("metadata") or {}).items())
        for key, value in metadata if metadata_limit is None else metadata[:metadata_limit]:
            rows.append((f"meta {key}", str(value)[:120]))
    if model_type == REQUIRED_TYPE:
        conversions = info.get("conversions")
        rows.append(
            ("Conversions", ", ".join(f"{CONVERTED_PREFIX}/{c}" for c in conversions) if conversions else "none yet")
        )
    rows.extend(("Warning", warning) for warning in info.get("warnings") or [])
    return [(printable(label, single_line=True), printable(value, single_line=single_line)) for label, value in rows]


def details_rows(
    info: dict, metadata_limit: int | None = METADATA_ROWS, *, single_line: bool = False
) -> list[tuple[str, str]]:
    """The file's rows with the catalog's (hashes, family, LoRA facts, NAME.json) after Format."""
    from .catalog_rows import catalog_rows

    rows = info_rows(info, metadata_limit, single_line=single_line)
    if info.get("hash") is not None:  # the catalog's hash rows say more than the bare sha256
        rows = [row for row in rows if row[0] != "SHA-256"]
    at = next((i + 1 for i, (label, _) in enumerate(rows) if label == "Format"), len(rows))
    return rows[:at] + catalog_rows(info, single_line=single_line) + rows[at:]
