"""Streaming safetensors I/O without holding a model in memory.

A safetensors file is an 8-byte little-endian header length, a JSON header
(name -> dtype, shape, byte offsets into the data block) and the raw data. Reading
the header alone gives every key and shape, which is all detection and planning
need. Tensors whose bytes stay as they are (renamed, reshaped, row-sliced: almost
all of a conversion) are copied by the kernel, runs that follow on in the source
merged into one `os.copy_file_range` (`sendfile` across filesystems), so the data
never passes through Python and a conversion costs about what `cp` of its bytes
does. The rest is produced one tensor at a time, so peak memory stays near the
largest single tensor instead of the whole checkpoint.
"""

from __future__ import annotations

import array
import errno
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
class Span:
    """Bytes of a tensor that lie unchanged in a source file: copied, never read into Python."""

    fd: int
    start: int
    length: int


@dataclass
class OutEntry:
    """One tensor of an output file: name, dtype/shape, and how to produce its bytes.

    Either `span` (the bytes are a range of a source file, copied in the kernel and
    merged with its neighbours when they follow on in the source) or `produce`
    (callable(out_file) writing exactly nbytes).
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    produce: object = None
    order: int = 0  # data-block position hint: the source offset keeps reads sequential
    span: Span | None = None
    source: int = 0  # which source file `order` is an offset in (exports read several)

    @property
    def nbytes(self) -> int:
        n = DTYPE_SIZES[self.dtype]
        for d in self.shape:
            n *= d
        return n


# Longest single kernel copy: a merged run is copied in pieces this long, so progress
# keeps moving; each piece ends on a FOLIO boundary of the output, as the next one starts.
MAX_PIECE = 256 << 20
PAGE = 4096
# The page cache of a new file is built of large folios only from a 64 KiB-aligned start
# (Linux 6.x, ext4): copies into a data block that starts mid-folio ran at 3 GiB/s
# against 4 GiB/s for cp here, so the data block starts on one (at most 64 KiB of padding).
FOLIO = 64 << 10


def build_header(entries: list[OutEntry], metadata: dict[str, str] | None = None) -> tuple[bytes, list[OutEntry]]:
    """Header bytes and the entries in data order (widest dtype first keeps alignment;
    then by source file and offset, so reads run forward and copies merge).

    When the data block starts with bytes copied from a source, the header is padded
    (with spaces, as the format allows) so those bytes keep their offset within a page,
    and that page is the first of a large folio (FOLIO): the kernel then copies whole
    pages rather than splitting each across two, which cost 25-50% more kernel time per
    copied byte here. The data block stays 8-byte aligned, as the format recommends, so
    a source offset that is not is left alone.
    """
    ordered = sorted(entries, key=lambda e: (-DTYPE_SIZES[e.dtype], e.source, e.order, e.name))
    header: dict[str, object] = {"__metadata__": {"format": "pt", **(metadata or {})}}
    offset = 0
    for e in ordered:
        header[e.name] = {"dtype": e.dtype, "shape": list(e.shape), "data_offsets": [offset, offset + e.nbytes]}
        offset += e.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # data block starts 8-byte aligned, as the format recommends
    first = ordered[0].span if ordered else None
    if first is not None and first.start % 8 == 0:
        raw += b" " * ((first.start % PAGE - 8 - len(raw)) % FOLIO)
    return struct.pack("<Q", len(raw)) + raw, ordered


def write_file(path: Path, entries: list[OutEntry], metadata: dict[str, str] | None = None, on_tensor=None) -> int:
    """Write a safetensors file tensor by tensor; returns bytes written.

    Consecutive spans that follow on in the same source become one kernel copy (an
    SD checkpoint's components are contiguous in it), so a plain conversion costs a
    few dozen copy_file_range calls instead of one per tensor.
    """
    head, ordered = build_header(entries, metadata)
    with open(path, "wb") as out:
        out.write(head)
        run: list[OutEntry] = []
        run_bytes = 0

        def flush_run() -> None:
            nonlocal run_bytes
            if run:
                first = run[0].span
                assert first is not None
                copy_run(first.fd, first.start, run, run_bytes, out, on_tensor)
                run.clear()
                run_bytes = 0

        for e in ordered:
            span = e.span
            if span is not None:
                if span.length != e.nbytes:
                    raise CorruptCheckpointError(f"internal size mismatch writing {e.name}")
                last = run[-1].span if run else None
                if last is not None and (last.fd != span.fd or last.start + last.length != span.start):
                    flush_run()
                run.append(e)
                run_bytes += span.length
                continue
            flush_run()
            emit(e, out)
            if on_tensor:
                on_tensor(e.name)
        flush_run()
        total = out.tell()
    return total


def copy_run(src_fd: int, start: int, run: list[OutEntry], length: int, out: BinaryIO, on_tensor=None) -> None:
    """Copy one run of consecutive source bytes in FOLIO-aligned pieces, reporting each
    tensor once the piece holding its end is written."""
    dst_start = out.tell()
    done = 0
    ends = iter(run)
    pending = next(ends, None)
    reached = 0  # bytes of the run up to the end of `pending`
    while done < length:
        piece_end = min(length, (dst_start + done + MAX_PIECE) // FOLIO * FOLIO - dst_start)
        copy_range(src_fd, start + done, piece_end - done, out)
        done = piece_end
        while pending is not None and reached + pending.nbytes <= done:
            reached += pending.nbytes
            if on_tensor:
                on_tensor(pending.name)
            pending = next(ends, None)


def emit(e: OutEntry, out: BinaryIO) -> None:
    """Write one entry's bytes at the end of `out` (copied or produced), checking the size."""
    before = out.tell()
    if e.span is not None:
        copy_range(e.span.fd, e.span.start, e.span.length, out)
    else:
        e.produce(out)  # type: ignore[operator]
    if out.tell() - before != e.nbytes:
        raise CorruptCheckpointError(f"internal size mismatch writing {e.name}")


# copy_file_range cannot cross these filesystems (or this kernel lacks it): use sendfile.
_NO_KERNEL_COPY = (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF)


def copy_range(src_fd: int, start: int, length: int, out: BinaryIO) -> None:
    """Copy `length` bytes at `start` of the source to the end of `out`, in the kernel.

    copy_file_range within one filesystem, sendfile across filesystems (the page
    cache to the file, no user-space buffer either way); a plain read/write loop only
    where neither works. Real write errors (a full disk) propagate.
    """
    out.flush()
    dst_fd = out.fileno()
    dst_pos = out.tell()
    done = 0

    def in_place() -> int:  # explicit offsets: the file position does not move
        return os.copy_file_range(src_fd, dst_fd, length - done, start + done, dst_pos + done)

    def by_sendfile() -> int:  # writes at the file position
        return os.sendfile(dst_fd, src_fd, start + done, length - done)

    for step in (in_place, by_sendfile):
        if done >= length:
            break
        os.lseek(dst_fd, dst_pos + done, os.SEEK_SET)
        try:
            while done < length:
                n = step()
                if n == 0:
                    raise CorruptCheckpointError("checkpoint is truncated: a tensor's bytes are missing")
                done += n
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
    if done < length:
        os.lseek(dst_fd, dst_pos + done, os.SEEK_SET)
        _copy_by_reading(src_fd, start + done, length - done, dst_fd)
    out.seek(dst_pos + length)


def _copy_by_reading(src_fd: int, start: int, length: int, dst_fd: int) -> None:
    done = 0
    while done < length:
        chunk = os.pread(src_fd, min(8 << 20, length - done), start + done)
        if not chunk:
            raise CorruptCheckpointError("checkpoint is truncated: a tensor's bytes are missing")
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst_fd, view) :]
        done += len(chunk)


# array typecodes by item size: moving whole items reorders bytes without torch.
_ITEM_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}


def transposed_bytes(data: bytes | bytearray, rows: int, cols: int, itemsize: int) -> array.array:
    """The bytes of a row-major [rows, cols] matrix, transposed to [cols, rows] (as an
    array: a buffer a file can write without another copy).

    Column j of the source is every cols-th item from j: one strided slice each, in C.
    """
    src = array.array(_ITEM_CODES[itemsize])
    src.frombytes(data)
    out = array.array(src.typecode)
    for j in range(cols):
        out.extend(src[j::cols])
    return out


def read_span(span: Span) -> bytearray:
    """A span's bytes (for the few tensors that must be reordered, not copied)."""
    got = bytearray(span.length)
    view, done = memoryview(got), 0
    while done < span.length:
        n = os.preadv(span.fd, [view[done:]], span.start + done)
        if not n:
            raise CorruptCheckpointError("checkpoint is truncated: a tensor's bytes are missing")
        done += n
    return got


def tensor_bytes(t) -> memoryview:
    import torch

    t = t.detach().contiguous().cpu()
    if t.numel() == 0:
        return memoryview(b"")
    return memoryview(t.reshape(-1).view(torch.uint8).numpy())
