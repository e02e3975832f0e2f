"""Executes a plan: streams each output tensor from the source into its safetensors file."""

from __future__ import annotations

import math

from sdaws.contract.safetensors_header import DTYPE_SIZES

from .plan import Move, out_shape
from .source import Source
from .st_io import OutEntry, Span, dtype_name, read_span, tensor_bytes, torch_dtypes, transposed_bytes, write_file

FLOATS = ("F32", "BF16", "F64")


def _target_dtype(dtype: str, half: bool) -> str:
    return "F16" if half and dtype in FLOATS else dtype


def _apply(t, op, dtype: str):
    if op == "squeeze":
        t = t.reshape(t.shape[:2])
    elif op == "unsqueeze":
        t = t.reshape(*t.shape, 1, 1)
    elif op == "transpose":
        t = t.T
    elif isinstance(op, tuple):
        t = t[op[1] : op[2]]
    return t.to(torch_dtypes()[dtype])


def entry(src: Source, move: Move, half: bool) -> OutEntry:
    dtype, shape = src.infos[move.src_key]
    target = _target_dtype(dtype, half)
    raw = src.raw(move.src_key)
    name, new_shape = move.out_key, out_shape(shape, move.op)
    if raw is not None and target == dtype:
        f, info = raw
        start, length = info.start, info.nbytes
        if isinstance(move.op, tuple):  # a block of rows: a contiguous byte range too
            row = DTYPE_SIZES[dtype] * math.prod(shape[1:])
            start, length = info.start + move.op[1] * row, (move.op[2] - move.op[1]) * row
        span = Span(f.fileno(), start, length)
        if move.op != "transpose":
            # The bytes stay as they are (renamed, reshaped or sliced): the kernel copies them.
            return OutEntry(name, target, new_shape, order=start, span=span, source=span.fd)
        if len(shape) == 2:
            # Reordering a matrix needs no torch: the job's one transposed tensor (OpenCLIP's
            # text projection) must not cost a plain conversion torch's import and memory.
            def transpose(out, span=span, rows=shape[0], cols=shape[1]):
                out.write(transposed_bytes(read_span(span), rows, cols, DTYPE_SIZES[dtype]))

            return OutEntry(name, target, new_shape, transpose, start, source=span.fd)

    def produce(out):
        out.write(tensor_bytes(_apply(src.tensor(move.src_key), move.op, target)))

    return OutEntry(name, target, new_shape, produce, raw[1].start if raw else 0, source=raw[0].fileno() if raw else 0)


def write_component(path, src: Source, moves: list[Move], half: bool, on_tensor=None) -> int:
    return write_file(path, [entry(src, m, half) for m in moves], on_tensor=on_tensor)


def tensor_entry(name: str, t, half: bool = False) -> OutEntry:
    """An entry for an in-memory tensor (LoRA export)."""
    dtype = _target_dtype(dtype_name(t.dtype), half)
    return OutEntry(name, dtype, tuple(t.shape), lambda out: out.write(tensor_bytes(t.to(torch_dtypes()[dtype]))))
