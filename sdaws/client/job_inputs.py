"""Local files a job needs (an img2img init image or mask, a ControlNet unit's image, the
image to upscale, a training dataset folder): checked before anything is sent, then
uploaded as job inputs just before the submit.

The CLI (`generate --init-image`, `train --dataset`, `upscale IMAGE`) and the TUI's forms
both go through here, so a text file passed as an init image is refused the same way in
both, and the params name what the server got (`job-inputs/<group>/<file>`, or the group).
A file sits at a *slot* of the params: a top-level name (``mask``) or a dotted path into a
list (``controlnet.0.image``); the last part says what it takes.
"""

from __future__ import annotations

import copy
from pathlib import Path

from sdaws.client.api import ApiClient
from sdaws.contract.model_tree import CAPTION_EXTENSIONS, IMAGE_EXTENSIONS
from sdaws.contract.outputs import is_job_output_key

# Job param -> what it takes on this machine.
LOCAL_FILE_PARAMS = {"init_image": "file", "mask": "file", "image": "file", "dataset": "folder"}
# ControlNet units' images, at controlnet.<i>.image.
UNIT_IMAGE = "image"


def file_slots(params: dict) -> list[str]:
    """The slots of ``params`` that name a local file: top-level file params, units' images."""
    slots = [name for name in LOCAL_FILE_PARAMS if name in params]
    units = params.get("controlnet")
    if isinstance(units, list):
        slots += [f"controlnet.{i}.{UNIT_IMAGE}" for i, unit in enumerate(units) if isinstance(unit, dict)]
    return slots


def get_slot(params: dict, slot: str):
    node = params
    for part in slot.split("."):
        node = node[int(part)] if isinstance(node, list) else node.get(part)
        if node is None:
            return None
    return node


def set_slot(params: dict, slot: str, value) -> None:
    *path, last = slot.split(".")
    node = params
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[last] = value


def _what(slot: str) -> str:
    return LOCAL_FILE_PARAMS[slot.rsplit(".", 1)[-1]]


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
    label = label or param.rsplit(".", 1)[-1].replace("_", " ")
    path = Path(path).expanduser()
    if _what(param) == "file":
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
    return path.name if _what(param) == "file" else "local"


def upload_job_inputs(client: ApiClient, params: dict, files: dict[str, Path]) -> dict:
    """``params`` with each local file in ``files`` (slot -> path) uploaded and named by its key."""
    params = copy.deepcopy(params)
    for slot, path in files.items():
        if _what(slot) == "file":
            set_slot(params, slot, client.upload_job_input(path)["key"])
            continue
        group = None
        for member in dataset_files(path):
            group = client.upload_job_input(member, group)["group"]
        set_slot(params, slot, group)
    return params


def take_local_files(
    values: dict, required: tuple[str, ...] = (), labels: dict[str, str] | None = None
) -> dict[str, Path]:
    """Check every local file ``values`` names and put a placeholder in its place (until the
    upload gives the key); return slot -> path. An image a job made (its output key) is sent
    as it is. A blank slot is dropped, or refused if it is in ``required`` (top-level names).
    ``labels``: how the caller names a slot (``--mask``). Raises ValueError "slot: problem"."""
    files: dict[str, Path] = {}
    for slot in file_slots(values):
        value = get_slot(values, slot)
        text = value.strip() if isinstance(value, str) else value
        if isinstance(text, str) and is_job_output_key(text):
            set_slot(values, slot, text)
            continue
        if not text:
            if slot in required or "." in slot:  # a unit's image is what makes the unit
                raise ValueError(f"{slot}: choose a {_what(slot)} on this machine")
            values.pop(slot, None)
            continue
        label = (labels or {}).get(slot)
        try:
            files[slot] = check_local_input(slot, Path(str(text)), label)
        except ValueError as exc:
            raise ValueError(exc if label else f"{slot}: {exc}") from None
        set_slot(values, slot, placeholder(slot, files[slot]))
    return files
