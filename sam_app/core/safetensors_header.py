"""Summary of a safetensors file read from its JSON header alone (no tensors loaded).

Layout: 8-byte little-endian header length N, then N bytes of JSON mapping tensor
names to {dtype, shape, data_offsets}, plus an optional "__metadata__" dict.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from typing import Callable

# Real headers are a few MB at most; refuse anything absurd before reading it.
MAX_HEADER_BYTES = 100 * 1024 * 1024


class HeaderError(ValueError):
    """The bytes are not a readable safetensors header."""


def header_length(first8: bytes) -> int:
    if len(first8) < 8:
        raise HeaderError("file is shorter than a safetensors header")
    (length,) = struct.unpack("<Q", first8[:8])
    if length < 2 or length > MAX_HEADER_BYTES:
        raise HeaderError(f"safetensors header length {length} is not plausible")
    return length


def parse_header(raw: bytes) -> dict:
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HeaderError(f"safetensors header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise HeaderError("safetensors header is not a JSON object")
    return header


def read_header(read_range: Callable[[int, int], bytes]) -> dict:
    """Read and parse the header with a `read_range(start, length)` callable."""
    length = header_length(read_range(0, 8))
    raw = read_range(8, length)
    if len(raw) < length:
        raise HeaderError("file ends inside its safetensors header (truncated upload?)")
    return parse_header(raw)


def summarize(header: dict) -> dict:
    """Tensor count, dtype histogram, parameter count and user metadata."""
    dtypes: Counter[str] = Counter()
    parameters = 0
    tensors = 0
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        tensors += 1
        dtypes[str(info.get("dtype", "?"))] += 1
        shape = info.get("shape") or []
        if all(isinstance(d, int) and d >= 0 for d in shape):
            parameters += math.prod(shape)
    metadata = header.get("__metadata__")
    return {
        "tensor_count": tensors,
        "dtypes": dict(sorted(dtypes.items())),
        "parameter_count": parameters,
        "metadata": metadata if isinstance(metadata, dict) else {},
    }
