"""Streaming safetensors I/O without holding a model in memory.

A safetensors file is an 8-byte little-endian header length, a JSON header
(name -> dtype, shape, byte offsets into the data block) and the raw data. Reading
the header alone gives every key and shape, which is all detection and planning
need; tensor bytes are then copied one tensor at a time (kernel-side with
`os.copy_file_range` when no conversion is needed), so peak memory stays near the
largest single tensor instead of the whole checkpoint.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

from sdaws.contract.safetensors_header import (
    DTYPE_SIZES,
    HeaderError,
    TensorEntry,
    data_start,
    header_length,
    metadata_of,
    parse_header,
    tensor_entries,
)

from .errors import CorruptCheckpointError

# torch is imported only when a tensor must actually be computed on (dtype change,
# transpose, .ckpt input): a plain safetensors -> safetensors conversion never pays
# torch's multi-second import.


@cache
def torch_dtypes() -> dict:
    import torch

    return {
        "F64": torch.float64,
        "F32": torch.float32,
        "F16": torch.float16,
        "BF16": torch.bfloat16,
        "I64": torch.int64,
        "I32": torch.int32,
        "I16": torch.int16,
        "I8": torch.int8,
        "U8": torch.uint8,
        "BOOL": torch.bool,
    }


def dtype_name(dtype) -> str | None:
    """safetensors name of a torch dtype (None for dtypes safetensors cannot hold here)."""
    return next((k for k, v in torch_dtypes().items() if v == dtype), None)


def read_header(path: Path) -> tuple[dict[str, TensorEntry], dict[str, str]]:
    """Keys, dtypes, shapes and absolute offsets, each checked; raises CorruptCheckpointError."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            n = header_length(f.read(8), size)
            header = parse_header(f.read(n))
        return tensor_entries(header, data_start(n), size), metadata_of(header)
    except HeaderError as exc:
        raise CorruptCheckpointError(f"{path.name}: {exc}") from None


def read_tensor(f: BinaryIO, info: TensorEntry):
    """One tensor read with plain file I/O (no mmap, so nothing lingers in RSS)."""
    buf = bytearray(info.nbytes)
    f.seek(info.start)
    view = memoryview(buf)
    got = 0
    while got < len(buf):
        n = f.readinto(view[got:])
        if not n:
            raise CorruptCheckpointError("checkpoint is truncated: a tensor's bytes are missing")
        got += n
    import torch

    dtype = torch_dtypes()[info.dtype]
    if not buf:
        return torch.empty(info.shape, dtype=dtype)
    return torch.frombuffer(buf, dtype=dtype).reshape(info.shape)


@dataclass
class OutEntry:
    """One tensor of an output file: name, dtype/shape, and how to produce its bytes."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    produce: object  # callable(out_file) writing exactly nbytes, see writer
    order: int = 0  # data-block position hint: the source offset keeps reads sequential

    @property
    def nbytes(self) -> int:
        n = DTYPE_SIZES[self.dtype]
        for d in self.shape:
            n *= d
        return n


def build_header(entries: list[OutEntry], metadata: dict[str, str] | None = None) -> tuple[bytes, list[OutEntry]]:
    """Header bytes and the entries in data order (widest dtype first keeps alignment)."""
    ordered = sorted(entries, key=lambda e: (-DTYPE_SIZES[e.dtype], e.order, e.name))
    header: dict[str, object] = {"__metadata__": {"format": "pt", **(metadata or {})}}
    offset = 0
    for e in ordered:
        header[e.name] = {"dtype": e.dtype, "shape": list(e.shape), "data_offsets": [offset, offset + e.nbytes]}
        offset += e.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # data block starts 8-byte aligned, as the format recommends
    return struct.pack("<Q", len(raw)) + raw, ordered


def write_file(path: Path, entries: list[OutEntry], metadata: dict[str, str] | None = None, on_tensor=None) -> int:
    """Write a safetensors file tensor by tensor; returns bytes written."""
    head, ordered = build_header(entries, metadata)
    with open(path, "wb") as out:
        out.write(head)
        for e in ordered:
            before = out.tell()
            e.produce(out)
            if out.tell() - before != e.nbytes:
                raise CorruptCheckpointError(f"internal size mismatch writing {e.name}")
            if on_tensor:
                on_tensor(e.name)
        total = out.tell()
    return total


def copy_range(src: BinaryIO, start: int, length: int, out: BinaryIO) -> None:
    """Copy bytes file-to-file in the kernel where possible, else in 8 MiB chunks."""
    out.flush()
    src_fd, dst_fd = src.fileno(), out.fileno()
    dst_pos = out.tell()
    done = 0
    try:
        while done < length:
            n = os.copy_file_range(src_fd, dst_fd, length - done, start + done, dst_pos + done)
            if n == 0:
                raise CorruptCheckpointError("checkpoint is truncated: a tensor's bytes are missing")
            done += n
        out.seek(dst_pos + length)
        return
    except (AttributeError, OSError):
        pass  # not supported across these filesystems: fall back to buffered copy
    src.seek(start + done)
    out.seek(dst_pos + done)
    while done < length:
        chunk = src.read(min(8 << 20, length - done))
        if not chunk:
            raise CorruptCheckpointError("checkpoint is truncated: a tensor's bytes are missing")
        out.write(chunk)
        done += len(chunk)


def tensor_bytes(t) -> memoryview:
    import torch

    t = t.detach().contiguous().cpu()
    if t.numel() == 0:
        return memoryview(b"")
    return memoryview(t.reshape(-1).view(torch.uint8).numpy())
