"""Fetching a job's outputs to a local folder (the TUI's Save and image view, `--out` in the CLI)."""

from __future__ import annotations

from pathlib import Path

from sdaws.client.api import ApiClient

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def save_outputs(client: ApiClient, job_id: str, folder: Path, images_only: bool = False) -> list[Path]:
    saved = []
    for output in client.job_outputs(job_id).get("outputs", []):
        name = Path(output.get("name") or "output").name  # a server-sent name never escapes the folder
        if images_only and not name.lower().endswith(IMAGE_SUFFIXES):
            continue
        saved.append(client.download(output["url"], folder / name))
    return saved
