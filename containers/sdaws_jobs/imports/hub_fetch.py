"""Hugging Face sources: one file (`org/repo:path/file.safetensors`) or a whole diffusers
folder (`org/repo` or `org/repo:subfolder`).

huggingface_hub does the network part (its cache, resumable downloads, Xet storage,
HF_HUB_OFFLINE): a file already in the cache — or the whole source, offline — never
touches the network. The result is then streamed from the cache into the sink, hashed
on the way, so a hub import verifies and lands exactly like an https one.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from pathlib import Path

from sdaws.contract.hashes import sha256_of_stream

from ..errors import SpecError
from .secrets import scrub
from .sinks import Sink

# Files a diffusers pipeline never needs: other frameworks' weights and exported graphs.
IGNORED = ["*.ckpt", "*.msgpack", "*.onnx", "*.onnx_data", "*.pb", "*.h5", "*.ot", "*.tflite", "*.mlmodel*", "*.gguf"]
MARKER = "model_index.json"


def _hub():
    # Imported late: it reads HF_HUB_OFFLINE / HF_HOME from the environment at import.
    import huggingface_hub

    return huggingface_hub


def _explain(exc: Exception, repo_id: str, token: str | None) -> SpecError:
    hub = _hub()
    errors = hub.errors
    name = type(exc).__name__
    if isinstance(exc, getattr(errors, "LocalEntryNotFoundError", ())):  # before EntryNotFoundError, its base
        why = "not in the Hugging Face cache, and downloading is off (HF_HUB_OFFLINE) or the hub is unreachable"
    elif isinstance(exc, getattr(errors, "GatedRepoError", ())):
        why = "the repo is gated: accept its terms on huggingface.co and pass a token (HF_TOKEN)"
    elif isinstance(exc, getattr(errors, "RepositoryNotFoundError", ())):
        why = "no such repo, or it is private (pass a token)"
    elif isinstance(exc, getattr(errors, "RevisionNotFoundError", ())):
        why = "no such revision"
    elif isinstance(exc, getattr(errors, "EntryNotFoundError", ())):
        why = "no such file in the repo"
    else:
        why = f"{name}: {exc}"
    return SpecError(scrub(f"Hugging Face {repo_id}: {why}", token))


def cached_file(repo_id: str, path: str, revision: str | None, token: str | None) -> Path:
    """The file in the HF cache, downloaded first when it is not there (and not offline)."""
    hub = _hub()
    subfolder, _, filename = path.rpartition("/")
    try:
        found = hub.hf_hub_download(
            repo_id, filename, subfolder=subfolder or None, revision=revision, token=token or None
        )
    except Exception as exc:  # the hub's own errors, each explained; never a traceback to the user
        raise _explain(exc, repo_id, token) from None
    return Path(found)


def cached_folder(repo_id: str, subfolder: str | None, revision: str | None, token: str | None) -> Path:
    """The diffusers folder (holding model_index.json) in the HF cache."""
    hub = _hub()
    prefix = f"{subfolder.strip('/')}/" if subfolder else ""
    try:
        root = hub.snapshot_download(
            repo_id,
            revision=revision,
            token=token or None,
            allow_patterns=[f"{prefix}{MARKER}", f"{prefix}*/*"],
            ignore_patterns=IGNORED,
        )
    except Exception as exc:
        raise _explain(exc, repo_id, token) from None
    folder = Path(root) / (subfolder or "")
    if not (folder / MARKER).is_file():
        raise SpecError(
            f"Hugging Face {repo_id}{':' + subfolder if subfolder else ''} holds no {MARKER}: not a diffusers folder"
        )
    return folder


def folder_files(folder: Path) -> list[str]:
    """The files of a diffusers folder to import, relative, the marker last: model_index.json
    and the component folders' files (a single-file checkpoint beside them is another
    model), without other frameworks' weights, and without a `.bin` where the same
    weights are there as `.safetensors`. The cache may hold more than was asked for."""
    files = sorted(
        rel
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith(".")
        for rel in [p.relative_to(folder).as_posix()]
        if (rel == MARKER or "/" in rel) and not any(fnmatch.fnmatch(p.name, pattern) for pattern in IGNORED)
    )
    present = set(files)
    keep = [f for f in files if not (f.endswith(".bin") and f.removesuffix(".bin") + ".safetensors" in present)]
    return sorted(keep, key=lambda f: (f == MARKER, f))


def copy_into(source: Path, sink: Sink, progress: Callable[[int], None]) -> tuple[str, int]:
    """Stream a cached file into the sink, hashing it; returns (sha256, size)."""

    class _Tee:
        def __init__(self, fh) -> None:
            self.fh = fh

        def readinto(self, buffer) -> int:
            n = self.fh.readinto(buffer)
            if n:
                sink.write(memoryview(buffer)[:n])
            return n

    with open(source, "rb", buffering=0) as fh:
        digest = sha256_of_stream(_Tee(fh), progress=progress)  # type: ignore[arg-type]
    return digest, os.path.getsize(source)
