"""A tiny demo checkpoint so a newcomer with an empty model root can try every flow.

It is a valid safetensors file whose tensor names follow the SD1 single-file
("ldm") layout, with a few small zero tensors: enough for the browser, the
header-based type suggestion and uploads. Written with the standard library only,
so the TUI does not need numpy or safetensors.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

DEMO_NAME = "sdaws-demo-tiny.safetensors"

# name -> shape; F16, all zeros.
_TENSORS: dict[str, tuple[int, ...]] = {
    "model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3),
    "model.diffusion_model.input_blocks.0.0.bias": (8,),
    "model.diffusion_model.out.2.weight": (4, 8, 3, 3),
    "model.diffusion_model.out.2.bias": (4,),
    "first_stage_model.decoder.conv_in.weight": (8, 4, 3, 3),
    "first_stage_model.decoder.conv_in.bias": (8,),
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (16, 8),
    "cond_stage_model.transformer.text_model.final_layer_norm.weight": (8,),
}


def demo_bytes() -> bytes:
    header: dict = {"__metadata__": {"format": "pt", "sdaws_demo": "tiny SD1-style checkpoint"}}
    offset = 0
    for name, shape in _TENSORS.items():
        count = 1
        for dim in shape:
            count *= dim
        nbytes = count * 2
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # keep tensor data 8-byte aligned, as the reference writer does
    return struct.pack("<Q", len(raw)) + raw + b"\0" * offset


def write_demo(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DEMO_NAME
    path.write_bytes(demo_bytes())
    return path
