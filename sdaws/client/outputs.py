"""Fetching a job's outputs to a local folder (the TUI's Save and image view, `--out` in the CLI).

An output is either a file with a download URL (images, samples, a merged checkpoint)
or a folder that went into the model tree (a converted `diffusers/<name>`): the latter
has no URL and stays where jobs and the WebUI find it; it is reported, not fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sdaws.client.api import ApiClient

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass
class SavedOutputs:
    saved: list[Path] = field(default_factory=list)
    in_tree: list[str] = field(default_factory=list)  # keys of outputs kept in the model tree only


def save_outputs(client: ApiClient, job_id: str, folder: Path, images_only: bool = False) -> SavedOutputs:
    result = SavedOutputs()
    for output in client.job_outputs(job_id).get("outputs", []):
        name = Path(output.get("name") or "output").name  # a server-sent name never escapes the folder
        if images_only and not name.lower().endswith(IMAGE_SUFFIXES):
            continue
        if not output.get("url"):
            result.in_tree.append(str(output.get("key") or f"{output.get('type')}/{name}"))
            continue
        result.saved.append(client.download(output["url"], folder / name))
    return result
