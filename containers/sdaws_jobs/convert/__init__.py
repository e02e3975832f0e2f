"""Stable Diffusion single-file checkpoints <-> diffusers folders, offline and streamed.

Public API (used by the CLI and by the convert/export/train jobs):
    detect(path_or_state_dict) -> Detection
    convert_checkpoint(src, output, ...) -> summary dict
    export_pipeline(src_dir, output_file, half=False) -> summary dict
    export_lora(state_dict_or_folder, output_file, ...) -> summary dict
    load_checkpoint(path, ema=False) -> dict[str, Tensor]   (safe for untrusted .ckpt)

Names resolve lazily so that importing this package (e.g. for `sdaws --help`) does
not import torch.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "ARCHS": "detection",
    "Detection": "detection",
    "detect": "detection",
    "convert_checkpoint": "convert",
    "export_pipeline": "export",
    "export_lora": "lora_export",
    "load_checkpoint": "source",
    "ConvertError": "errors",
    "CorruptCheckpointError": "errors",
    "UnknownArchitectureError": "errors",
    "UnsafeCheckpointError": "errors",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(name)
