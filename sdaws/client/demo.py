"""A tiny demo checkpoint so a newcomer with an empty model root can try every flow.

With the job code installed (the `jobs` extra, as the README's run command does) the
demo is a real tiny SD1 model (`sdaws_jobs.demo_model`): it converts, generates and
trains on a CPU in seconds. Without it, `demo_bytes()` is the fallback: a valid
safetensors file in the SD1 single-file ("ldm") layout with a few zero tensors, enough
for browsing, the header-based type suggestion and uploads, written with the standard
library only. Tests use it as a quick placeholder file.
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


def write_demo(path: Path) -> bool:
    """Write the demo checkpoint to `path`; True when it is the real tiny model."""
    try:
        from sdaws_jobs.demo_model import write_demo_checkpoint
    except ImportError:  # no job code here: the header-only placeholder still lets you browse
        path.write_bytes(demo_bytes())
        return False
    write_demo_checkpoint(path)
    return True


def is_demo_model(name: str) -> bool:
    """Whether a job's model is the demo (its file, `Stable-diffusion/…`, or its converted name)."""
    base = name.rsplit("/", 1)[-1]
    return base == DEMO_NAME or base == DEMO_NAME.removesuffix(".safetensors")
