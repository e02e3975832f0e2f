"""Reading checkpoints one tensor at a time and writing safetensors as a stream.

A merge of three 7 GB SDXL checkpoints must not hold them in memory: safetensors
inputs are memory-mapped and read key by key, and the output is written key by key
after a header computed up front (the format puts every offset in the header).
`.ckpt` inputs go through the conversion engine's safe unpickler and are held whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Iterable

import torch

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
FLOAT_NAMES = {"F64", "F32", "F16", "BF16"}


class TensorSource:
    """Keys, dtype/shape and tensors of a .safetensors (lazy) or .ckpt (safe, whole) file."""

    def __init__(self, path: Path):
        self.path = path
        if path.suffix.lower() == ".safetensors":
            from safetensors import safe_open

            self._file = safe_open(str(path), framework="pt")
            self._dict = None
        else:
            from .convert import load_checkpoint  # refuses pickles that reference code

            self._file = None
            self._dict = load_checkpoint(path)

    def keys(self) -> list[str]:
        return list(self._file.keys() if self._file is not None else self._dict.keys())

    def __contains__(self, key: str) -> bool:
        return key in (self._file.keys() if self._file is not None else self._dict)

    def meta(self, key: str) -> tuple[str, list[int]]:
        if self._file is not None:
            part = self._file.get_slice(key)
            return part.get_dtype(), list(part.get_shape())
        tensor = self._dict[key]
        return DTYPE_NAMES[tensor.dtype], list(tensor.shape)

    def get(self, key: str) -> torch.Tensor:
        return self._file.get_tensor(key) if self._file is not None else self._dict[key]


def _nbytes(dtype: str, shape: list[int]) -> int:
    size = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2, "I16": 2}.get(dtype, 1)
    count = 1
    for dim in shape:
        count *= dim
    return count * size


def write_streamed(
    target: Path,
    layout: Iterable[tuple[str, str, list[int]]],
    produce: Callable[[str], torch.Tensor],
    metadata: dict[str, str] | None = None,
) -> None:
    """Write a safetensors file whose tensors (name, dtype, shape) come one at a time from `produce`.

    Written to a sibling temp file and renamed: a failed merge leaves no half-written model.
    """
    entries = list(layout)
    header: dict[str, object] = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, dtype, shape in entries:
        end = offset + _nbytes(dtype, shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, end]}
        offset = end
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # data starts 8-byte aligned
    partial = target.with_name(target.name + ".partial")
    try:
        with open(partial, "wb") as out:
            out.write(len(raw).to_bytes(8, "little"))
            out.write(raw)
            for name, dtype, shape in entries:
                tensor = produce(name)
                if DTYPE_NAMES[tensor.dtype] != dtype or list(tensor.shape) != shape:
                    raise ValueError(f"{name}: produced {tensor.dtype} {list(tensor.shape)}, header says {dtype} {shape}")
                out.write(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
