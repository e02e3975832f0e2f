"""Reading a safetensors header: every reader in the project (API model info, the client's
type suggestion, the conversion engine, merge) goes through here.

Layout: 8-byte little-endian header length N, then N bytes of JSON mapping tensor
names to {dtype, shape, data_offsets}, plus an optional "__metadata__" dict, then the
data block. Only the header is read; its size is capped as the safetensors library
caps it, and every entry is checked before anyone trusts an offset or a shape.
"""

from __future__ import annotations

import json
import math
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The safetensors library refuses larger headers; so do we, before reading them.
MAX_HEADER_BYTES = 100 * 1024 * 1024
METADATA_KEY = "__metadata__"
# Bytes per element by safetensors dtype name.
DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


class HeaderError(ValueError):
    """The bytes are not a readable safetensors header."""


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: tuple[int, ...]
    start: int  # absolute file offset of the first byte
    end: int

    @property
    def nbytes(self) -> int:
        return self.end - self.start


def header_length(first8: bytes, file_size: int | None = None) -> int:
    if len(first8) < 8:
        raise HeaderError("file is shorter than a safetensors header")
    (length,) = struct.unpack("<Q", first8[:8])
    if length < 2 or length > MAX_HEADER_BYTES:
        raise HeaderError(f"safetensors header length {length} is not plausible")
    if file_size is not None and 8 + length > file_size:
        raise HeaderError("file ends inside its safetensors header (truncated upload?)")
    return length


def parse_header(raw: bytes) -> dict:
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HeaderError(f"safetensors header is not valid JSON: {exc}") from None
    except RecursionError:
        raise HeaderError("safetensors header is nested too deeply to be one") from None
    if not isinstance(header, dict):
        raise HeaderError("safetensors header is not a JSON object")
    return header


def read_header(read_range: Callable[[int, int], bytes], file_size: int | None = None) -> dict:
    """Read and parse the header with a `read_range(start, length)` callable."""
    length = header_length(read_range(0, 8), file_size)
    raw = read_range(8, length)
    if len(raw) < length:
        raise HeaderError("file ends inside its safetensors header (truncated upload?)")
    return parse_header(raw)


def read_file_header(path: Path) -> dict:
    """The parsed header of a local file (raises HeaderError, or OSError for I/O)."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:

        def read_range(start: int, length: int) -> bytes:
            fh.seek(start)
            return fh.read(length)

        return read_header(read_range, size)


def data_start(header_len: int) -> int:
    return 8 + header_len


def tensor_entries(header: dict, base: int, file_size: int) -> dict[str, TensorEntry]:
    """Every tensor's dtype, shape and absolute byte range, each checked against the format:
    a known dtype, a shape of non-negative ints whose size matches its byte range, and a
    range inside the file. Raises HeaderError naming the first bad entry."""
    entries: dict[str, TensorEntry] = {}
    for name, info in header.items():
        if name == METADATA_KEY:
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise HeaderError(f"header entry for {name!r} is malformed") from None
        if dtype not in DTYPE_SIZES:
            raise HeaderError(f"tensor {name!r} has unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise HeaderError(f"tensor {name!r} has a malformed shape {shape!r}")
        if not all(type(x) is int for x in (begin, end)) or not 0 <= begin <= end:
            raise HeaderError(f"tensor {name!r} has malformed data offsets")
        if math.prod(shape) * DTYPE_SIZES[dtype] != end - begin:
            raise HeaderError(f"tensor {name!r}: its shape does not match its {end - begin} bytes")
        if base + end > file_size:
            raise HeaderError(f"tensor {name!r} lies past the end of the file (truncated?)")
        entries[name] = TensorEntry(dtype, tuple(shape), base + begin, base + end)
    return entries


def metadata_of(header: dict) -> dict[str, str]:
    metadata = header.get(METADATA_KEY)
    return {str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {}


def tensor_shapes(header: dict) -> dict[str, object]:
    """name -> shape as written (unchecked), for shape-based detection."""
    return {k: v.get("shape") for k, v in header.items() if k != METADATA_KEY and isinstance(v, dict)}


def summarize(header: dict) -> dict:
    """Tensor count, dtype histogram, parameter count and user metadata."""
    dtypes: Counter[str] = Counter()
    parameters = 0
    tensors = 0
    for name, info in header.items():
        if name == METADATA_KEY or not isinstance(info, dict):
            continue
        tensors += 1
        dtypes[str(info.get("dtype", "?"))] += 1
        shape = info.get("shape")
        if isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape):
            parameters += math.prod(shape)
    metadata = header.get(METADATA_KEY)
    return {
        "tensor_count": tensors,
        "dtypes": dict(sorted(dtypes.items())),
        "parameter_count": parameters,
        "metadata": metadata if isinstance(metadata, dict) else {},
    }
