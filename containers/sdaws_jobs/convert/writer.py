"""Executes a plan: streams each output tensor from the source into its safetensors file."""

from __future__ import annotations

import math

from sdaws.contract.safetensors_header import DTYPE_SIZES

from .plan import Move, out_shape
from .source import Source
from .st_io import OutEntry, copy_range, dtype_name, tensor_bytes, torch_dtypes, write_file

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

    def produce(out):
        # Same dtype and no reordering of bytes: copy the byte range directly.
        if raw is not None and target == dtype and move.op != "transpose":
            f, info = raw
            start, length = info.start, info.nbytes
            if isinstance(move.op, tuple):
                row = DTYPE_SIZES[dtype] * math.prod(shape[1:])
                start, length = info.start + move.op[1] * row, (move.op[2] - move.op[1]) * row
            copy_range(f, start, length, out)
            return
        out.write(tensor_bytes(_apply(src.tensor(move.src_key), move.op, target)))

    return OutEntry(move.out_key, target, out_shape(shape, move.op), produce, raw[1].start if raw else 0)


def write_component(path, src: Source, moves: list[Move], half: bool, on_tensor=None) -> int:
    return write_file(path, [entry(src, m, half) for m in moves], on_tensor=on_tensor)


def tensor_entry(name: str, t, half: bool = False) -> OutEntry:
    """An entry for an in-memory tensor (LoRA export)."""
    dtype = _target_dtype(dtype_name(t.dtype), half)
    return OutEntry(name, dtype, tuple(t.shape), lambda out: out.write(tensor_bytes(t.to(torch_dtypes()[dtype]))))
