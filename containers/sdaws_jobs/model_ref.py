"""Finding a job's input models and files in its channels.

A channel holds what the caller resolved: a single checkpoint file, a diffusers
folder, or files named by the spec (LoRAs, VAE, init image). When the `model`
channel is empty and the name looks like a Hugging Face repo id ("org/name",
optionally "org/name:subfolder"), the model is loaded from the hub (HF cache and
$HF_TOKEN honoured).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sdaws.contract.model_tree import IMAGE_EXTENSIONS, is_repo_id

from .errors import SpecError

CHECKPOINT_EXTS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
IMAGE_EXTS = IMAGE_EXTENSIONS


@dataclass(frozen=True)
class ModelRef:
    kind: Literal["diffusers", "single_file", "hub"]
    location: str  # a path, or a repo id for "hub"
    subfolder: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.location)


def is_diffusers_folder(path: Path) -> bool:
    return path.is_dir() and (path / "model_index.json").is_file()


def _visible(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _is_checkpoint_file(path: Path) -> bool:
    # A file uploaded without an extension is a .ckpt (the model tree's rule).
    return path.is_file() and (path.suffix.lower() in CHECKPOINT_EXTS or path.suffix == "")


def find_model(channel: Path, name: str | None = None, strict: bool = False) -> ModelRef:
    """The model in `channel`: a diffusers folder or a single checkpoint file.

    A job channel holds just what the caller resolved, so its only model is taken even
    when its file name differs from `name`; `strict` (a whole model tree) insists on the name.
    """
    if is_diffusers_folder(channel):
        return ModelRef("diffusers", str(channel))
    entries = _visible(channel)
    folders = [p for p in entries if is_diffusers_folder(p)]
    files = [p for p in entries if _is_checkpoint_file(p)]
    candidates = folders + files
    if name:
        wanted = [p for p in candidates if p.name == name or p.stem == name or p.name == Path(name).name]
        if wanted or strict:
            candidates = wanted
    if len(candidates) == 1:
        found = candidates[0]
        return ModelRef("diffusers" if found.is_dir() else "single_file", str(found))
    if not candidates:
        # "Stable-diffusion/x.safetensors" looks like a repo id too, but names a missing file.
        if name and is_repo_id(name) and not entries and Path(name).suffix.lower() not in CHECKPOINT_EXTS:
            repo, _, sub = name.partition(":")
            return ModelRef("hub", repo, sub or None)
        raise SpecError(
            f"input channel {channel.name!r} holds no model"
            + (f" named {name!r}" if name else "")
            + ": expected a diffusers folder (model_index.json) or a .safetensors/.ckpt file"
        )
    names = ", ".join(p.name for p in candidates)
    raise SpecError(f"input channel {channel.name!r} holds several models ({names}); name one")


def find_file(channel: Path, name: str, exts: tuple[str, ...], what: str) -> Path:
    """The file (or folder) called `name` (with or without extension) in `channel`."""
    entries = _visible(channel)
    exact = [p for p in entries if p.name == name]
    if exact:
        return exact[0]
    by_stem = [p for p in entries if p.stem == name and (p.is_dir() or p.suffix.lower() in exts)]
    if len(by_stem) == 1:
        return by_stem[0]
    if not by_stem and len(entries) == 1 and not name:
        return entries[0]
    raise SpecError(
        f"{what} {name!r} not found in input channel {channel.name!r}"
        + (f" (has: {', '.join(p.name for p in entries)})" if entries else " (empty)")
    )
