"""The catalog routes from the client's side: find by hash, search, duplicates, NAME.json
edits, previews and server-side imports. Functions over an ApiClient (the CLI and the
TUI share them); each is one request."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .api import ApiClient

# The API takes a preview in its JSON body; API Gateway caps a payload at 10 MB.
MAX_PREVIEW_FILE = 6 * 1024 * 1024


def _seg(text: str) -> str:
    return quote(text, safe="")


def find_by_hash(client: ApiClient, hash: str) -> dict:
    return client.request("GET", "models", params={"hash": hash})


def search(
    client: ApiClient,
    q: str | None = None,
    tag: str | None = None,
    family: str | None = None,
    hash: str | None = None,
    type: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict:
    params = {
        k: v
        for k, v in {
            "q": q,
            "tag": tag,
            "family": family,
            "hash": hash,
            "type": type,
            "limit": limit,
            "cursor": cursor,
        }.items()
        if v
    }
    return client.request("GET", "models/search", params=params)


def iter_search(client: ApiClient, max_items: int | None = None, **filters: Any) -> Iterator[dict]:
    """Every match, page after page (a page may be empty while the scan goes on)."""
    cursor, seen = None, 0
    while True:
        page = search(client, cursor=cursor, **filters)
        for item in page.get("items", []):
            yield item
            seen += 1
            if max_items is not None and seen >= max_items:
                return
        cursor = page.get("next_cursor")
        if not cursor:
            return


def duplicates(client: ApiClient) -> dict:
    return client.request("GET", "models/duplicates")


def edit_metadata(client: ApiClient, model_type: str, name: str, edits: dict[str, Any]) -> dict:
    return client.request("PATCH", f"models/{_seg(model_type)}/{_seg(name)}/metadata", json=edits)


def set_preview_image(client: ApiClient, model_type: str, name: str, path: Path) -> dict:
    size = path.stat().st_size
    if size > MAX_PREVIEW_FILE:
        raise ValueError(f"{path} is {size} bytes; a preview may be at most {MAX_PREVIEW_FILE}")
    body = {"image_base64": base64.b64encode(path.read_bytes()).decode("ascii")}
    return client.request("PUT", f"models/{_seg(model_type)}/{_seg(name)}/preview", json=body)


def set_preview_from_job(client: ApiClient, model_type: str, name: str, job_id: str, output: str) -> dict:
    body = {"job_id": job_id, "output": output}
    return client.request("PUT", f"models/{_seg(model_type)}/{_seg(name)}/preview", json=body)


def start_import(
    client: ApiClient,
    source: str,
    model_type: str,
    name: str | None = None,
    sha256: str | None = None,
    token: str | None = None,
    revision: str | None = None,
    overwrite: bool = False,
    idempotency_key: str | None = None,
) -> dict:
    """POST /imports: the import job, as GET /jobs/{id} shows it."""
    body: dict[str, Any] = {"source": source, "type": model_type}
    for key, value in (("name", name), ("sha256", sha256), ("token", token), ("revision", revision)):
        if value:
            body[key] = value
    if overwrite:
        body["overwrite"] = True
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return client.request("POST", "imports", json=body, headers=headers)
