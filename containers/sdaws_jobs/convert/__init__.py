"""Stable Diffusion single-file checkpoints <-> diffusers folders, offline and streamed.

Public API (used by the CLI and by the convert/export/train jobs):
    detect(path_or_state_dict) -> Detection
    convert_checkpoint(src, output, ...) -> summary dict
    export_pipeline(src_dir, output_file, half=False) -> summary dict
    export_lora(state_dict_or_folder, output_file, ...) -> summary dict
    load_checkpoint(path, ema=False) -> dict[str, Tensor]   (safe for untrusted .ckpt)
"""

from __future__ import annotations

from .convert import convert_checkpoint
from .detect import ARCHS, Detection, detect
from .errors import ConvertError, CorruptCheckpointError, UnknownArchitectureError, UnsafeCheckpointError
from .source import load_checkpoint

__all__ = [
    "ARCHS", "ConvertError", "CorruptCheckpointError", "Detection", "UnknownArchitectureError",
    "UnsafeCheckpointError", "convert_checkpoint", "detect", "export_lora", "export_pipeline", "load_checkpoint",
]


def __getattr__(name):  # export modules load lazily: most callers only convert
    if name == "export_pipeline":
        from .export import export_pipeline

        return export_pipeline
    if name == "export_lora":
        from .lora_export import export_lora

        return export_lora
    raise AttributeError(name)
