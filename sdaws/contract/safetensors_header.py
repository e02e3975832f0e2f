"""Reading a safetensors header: every reader in the project (API model info, the client's
type suggestion, the conversion engine, merge) goes through here.

Layout: 8-byte little-endian header length N, then N bytes of JSON mapping tensor
names to {dtype, shape, data_offsets}, plus an optional "__metadata__" dict, then the
data block. Only the header is read; its size is capped as the safetensors library
caps it, and every entry is checked before anyone trusts an offset or a shape.

Headers come from anyone (an upload, a download), so parsing is bounded too: a length
past the file or the cap is refused before reading; the JSON may not nest deeper than
a header does (a little slack for metadata), may not list more items than any model
has tensors, may not hold NaN, Infinity or lone surrogate escapes, and the few large
headers that pass are read and parsed one at a time per process, so four hostile requests
cannot quadruple the memory reading and parsing one takes. Every failure is a HeaderError, which the
API reports as a warning (200) and the converter as one line (exit 2).
"""

from __future__ import annotations

import json
import math
import struct
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .json_limits import nesting_depth_exceeds

# The safetensors library refuses larger headers; so do we, before reading them.
MAX_HEADER_BYTES = 100 * 1024 * 1024
# A header nests three deep (header, entry, shape); metadata gets some slack.
MAX_HEADER_DEPTH = 8
# Items (counted by their separators) a header may list: ~5 per tensor, and models have
# thousands of tensors, not hundreds of thousands. Bounds what a parse allocates.
MAX_HEADER_ITEMS = 2_000_000
# Headers above this size are read and parsed one at a time in a process.
LARGE_HEADER_BYTES = 8 * 1024 * 1024
# What model info shows of metadata: each value up to this many characters.
METADATA_VALUE_SHOWN = 64 * 1024
METADATA_KEY = "__metadata__"
_large_header_slot = threading.BoundedSemaphore(1)
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


@contextmanager
def _parse_slot(size: int) -> Iterator[None]:
    if size <= LARGE_HEADER_BYTES:
        yield
        return
    with _large_header_slot:
        yield


def _refuse_constant(name: str):
    raise HeaderError(f"safetensors header holds {name}, which JSON does not allow")


def _check_text(header: dict) -> None:
    """Every key and string must be encodable as UTF-8 (JSON's \\ud800 escapes are not)."""
    stack: list[object] = [header]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                key.encode("utf-8")
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            item.encode("utf-8")


def parse_header(raw: bytes) -> dict:
    """The header JSON, checked (see the module docstring); raises HeaderError."""
    with _parse_slot(len(raw)):
        return _parse(raw)


def _parse(raw: bytes) -> dict:
    if raw.count(b",") > MAX_HEADER_ITEMS:
        raise HeaderError(f"safetensors header lists over {MAX_HEADER_ITEMS:,} items; no model has that many tensors")
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except HeaderError:
        raise
    except RecursionError:
        raise HeaderError("safetensors header is nested too deeply to be one") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer past Python's digit limit
        raise HeaderError(f"safetensors header is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(header, dict):
        raise HeaderError("safetensors header is not a JSON object")
    if nesting_depth_exceeds(header, MAX_HEADER_DEPTH):
        raise HeaderError(f"safetensors header nests deeper than {MAX_HEADER_DEPTH} levels; a real one nests 3")
    try:
        _check_text(header)
    except UnicodeEncodeError:
        raise HeaderError("safetensors header holds text that is not valid UTF-8 (a lone surrogate escape)") from None
    return header


def _read(read_range: Callable[[int, int], bytes], file_size: int | None) -> tuple[int, dict]:
    length = header_length(read_range(0, 8), file_size)
    with _parse_slot(length):  # reading a large header takes its memory too
        raw = read_range(8, length)
        if len(raw) < length:
            raise HeaderError("file ends inside its safetensors header (truncated upload?)")
        return length, _parse(raw)


def read_header(read_range: Callable[[int, int], bytes], file_size: int | None = None) -> dict:
    """Read and parse the header with a `read_range(start, length)` callable."""
    return _read(read_range, file_size)[1]


def read_checked_header(read_range: Callable[[int, int], bytes], file_size: int) -> tuple[dict, dict[str, TensorEntry]]:
    """The header and its tensor entries, every entry checked against the format and the file."""
    length, header = _read(read_range, file_size)
    return header, tensor_entries(header, data_start(length), file_size)


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
        if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
            raise HeaderError(f"tensor {name!r} has unsupported dtype {str(dtype)[:40]!r}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise HeaderError(f"tensor {name!r} has a malformed shape {str(shape)[:80]}")
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


def tensor_shapes(header: dict, entries: dict[str, TensorEntry] | None = None) -> dict[str, object]:
    """name -> shape, for shape-based detection: the checked shapes when `entries` is given,
    else those written as a list of non-negative integers (anything else is left out)."""
    if entries is not None:
        return {name: list(entry.shape) for name, entry in entries.items()}
    return {
        k: v["shape"]
        for k, v in header.items()
        if k != METADATA_KEY
        and isinstance(v, dict)
        and isinstance(v.get("shape"), list)
        and all(type(d) is int and d >= 0 for d in v["shape"])
    }


def shown_metadata(header: dict) -> tuple[dict, bool]:
    """The metadata as model info shows it, and whether a value had to be shortened."""
    metadata = header.get(METADATA_KEY)
    if not isinstance(metadata, dict):
        return {}, False
    shown, cut = {}, False
    for key, value in metadata.items():
        text = value if isinstance(value, str) else json.dumps(value)
        if len(text) > METADATA_VALUE_SHOWN:
            value, cut = text[:METADATA_VALUE_SHOWN] + f"… ({len(text):,} characters in all)", True
        shown[key] = value
    return shown, cut


def summarize(header: dict, entries: dict[str, TensorEntry] | None = None) -> dict:
    """Tensor count, dtype histogram, parameter count and user metadata (long values shortened).

    With `entries` (from tensor_entries) the counts are of checked tensors only."""
    dtypes: Counter[str] = Counter()
    parameters = 0
    tensors = 0
    if entries is not None:
        for entry in entries.values():
            tensors += 1
            dtypes[entry.dtype] += 1
            parameters += math.prod(entry.shape)
    else:
        for name, info in header.items():
            if name == METADATA_KEY or not isinstance(info, dict):
                continue
            tensors += 1
            dtypes[str(info.get("dtype", "?"))[:40]] += 1
            shape = info.get("shape")
            if isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape):
                parameters += math.prod(shape)
    metadata, _ = shown_metadata(header)
    return {
        "tensor_count": tensors,
        "dtypes": dict(sorted(dtypes.items())),
        "parameter_count": parameters,
        "metadata": metadata,
    }
