"""Where a finished local job's results go.

Model files the job wrote under output/<Type>/ (Stable-diffusion, Lora, VAE …) and
converted folders under output/diffusers/ move into the model tree, where the next
job and the WebUI find them — unless that name is taken, in which case the result
stays with the job rather than overwrite someone's model. Everything else (images,
training samples) moves to job-outputs/<job id>/<type>/.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from sdaws.contract.errors import InvalidInput
from sdaws.contract.model_tree import CONVERTED_PREFIX, MODEL_TYPES, check_name

from .job_files import JOB_OUTPUTS_PREFIX, KeyPaths, tree_size

_TREE_TYPES = frozenset(MODEL_TYPES) | {CONVERTED_PREFIX}


def _tree_key(folder: str, entry: Path) -> str | None:
    """The model-tree key for a result, or None when it does not belong in the tree."""
    if folder not in _TREE_TYPES:
        return None
    try:
        if folder == CONVERTED_PREFIX:
            return f"{folder}/{entry.name}" if entry.is_dir() and (entry / "model_index.json").is_file() else None
        return f"{folder}/{check_name(entry.name)}" if entry.is_file() else None
    except InvalidInput:
        return None


def _place(paths: KeyPaths, src: Path, key: str) -> Path:
    dest = paths.path(key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(dest))
    return dest


def register_announced(out_dir: Path, type_: str, name: str, paths: KeyPaths) -> dict | None:
    """A model file the job announced while it runs (an intermediate training checkpoint),
    moved into the tree at once, so it is usable — to resume from, say — even if the job
    later fails or is cancelled. None where it does not go there now (collect_results
    deals with it at the end, saying why)."""
    if type_ not in MODEL_TYPES or "/" in name or name in ("", ".", ".."):
        return None
    entry = out_dir / type_ / name
    if entry.is_symlink() or not entry.is_file():
        return None
    key = _tree_key(type_, entry)
    if key is None or paths.path(key).exists():
        return None
    dest = _place(paths, entry, key)
    return {"type": type_, "name": name, "key": key, "size": tree_size(dest)}


def collect_results(out_dir: Path, job_id: str, paths: KeyPaths, note: Callable[[str], None]) -> list[dict]:
    """Move everything under `out_dir` to its place; returns the output records {type, name, key, size}."""
    outputs: list[dict] = []
    folders = sorted(p for p in out_dir.iterdir() if p.is_dir() and not p.is_symlink()) if out_dir.is_dir() else []
    for folder in folders:
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink():  # never a result: a download must not follow it out of the job's files
                note(f"{folder.name}/{entry.name} is a link, not a result; skipped")
                continue
            key = _tree_key(folder.name, entry)
            if key is not None and paths.path(key).exists():
                note(f"{key} already exists in the tree; this result stays with the job")
                key = None
            if key is not None:
                dest = _place(paths, entry, key)
                outputs.append({"type": folder.name, "name": entry.name, "key": key, "size": tree_size(dest)})
                continue
            files = (
                [entry]
                if entry.is_file()
                else sorted(f for f in entry.rglob("*") if f.is_file() and not f.is_symlink())
            )
            for file in files:
                name = file.relative_to(folder).as_posix()
                key = f"{JOB_OUTPUTS_PREFIX}/{job_id}/{folder.name}/{name}"
                dest = _place(paths, file, key)
                outputs.append({"type": folder.name, "name": name, "key": key, "size": dest.stat().st_size})
    return outputs
