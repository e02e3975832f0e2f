"""Local files a job needs (an img2img init image, a training dataset folder): checked
before anything is sent, then uploaded as job inputs just before the submit.

The CLI (`generate --init-image`, `train --dataset`) and the TUI's forms both go
through here, so a text file passed as an init image is refused the same way in both,
and the params name what the server got (`job-inputs/<group>/<file>`, or the group).
"""

from __future__ import annotations

from pathlib import Path

from sdaws.client.api import ApiClient
from sdaws.contract.model_tree import CAPTION_EXTENSIONS, IMAGE_EXTENSIONS

# Job param -> what it takes on this machine.
LOCAL_FILE_PARAMS = {"init_image": "file", "dataset": "folder"}


def dataset_files(folder: Path) -> list[Path]:
    """The files of a dataset folder a training job reads: images and their .txt captions."""
    wanted = IMAGE_EXTENSIONS + CAPTION_EXTENSIONS
    return sorted(
        p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in wanted
    )


def check_local_input(param: str, path: Path, label: str | None = None) -> Path:
    """``path`` if it can be sent as ``param``; else ValueError with what to fix.

    ``label`` is how the caller names the field (``--init-image`` in the CLI).
    """
    label = label or param.replace("_", " ")
    path = Path(path).expanduser()
    if LOCAL_FILE_PARAMS[param] == "file":
        if not path.is_file():
            raise ValueError(f"{label} {path} is not a file")
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            raise ValueError(f"{label} {path.name} is not an image; use one of {', '.join(IMAGE_EXTENSIONS)}")
        return path
    if not path.is_dir():
        raise ValueError(f"{label} {path} is not a folder")
    if not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in dataset_files(path)):
        raise ValueError(f"{label} {path} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    return path


def placeholder(param: str, path: Path) -> str:
    """A valid stand-in for the param while the spec is checked, before the upload gives the key."""
    return path.name if LOCAL_FILE_PARAMS[param] == "file" else "local"


def upload_job_inputs(client: ApiClient, params: dict, files: dict[str, Path]) -> dict:
    """``params`` with each local file in ``files`` (param -> path) uploaded and named by its key."""
    params = dict(params)
    for param, path in files.items():
        if LOCAL_FILE_PARAMS[param] == "file":
            params[param] = client.upload_job_input(path)["key"]
            continue
        group = None
        for member in dataset_files(path):
            group = client.upload_job_input(member, group)["group"]
        params[param] = group
    return params
