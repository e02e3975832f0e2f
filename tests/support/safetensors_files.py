"""Safetensors files written from the format's definition (header + zeroed data), for
tests that need a real file without torch."""

from __future__ import annotations

import json
import struct


def write_safetensors(path, tensors: dict[str, tuple[str, list[int]]], metadata=None) -> None:
    """A real safetensors file written from the format's definition (header + zeroed data)."""
    sizes = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    if metadata:
        header["__metadata__"] = metadata
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


SD1_HEADER = {  # the two tensors detection looks at, with SD1's published shapes
    "model.diffusion_model.input_blocks.0.0.weight": ("F16", [320, 4, 3, 3]),
    "cond_stage_model.transformer.text_model.final_layer_norm.weight": ("F16", [768]),
}
