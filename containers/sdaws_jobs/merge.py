"""The merge job: weighted sum (1-M)·A + M·B or add difference A + M·(B - C).

Like the WebUI checkpoint merger: arithmetic in fp32, keys present in A decide the
output; a tensor that B (or C) lacks or shapes differently (an inpainting UNet's
first conv, say) is copied from A unchanged; integer tensors are copied from A.
Inputs are read and the output written through the conversion engine's streaming
safetensors I/O (one tensor in memory at a time; a `.ckpt` goes through the safe
unpickler), and the file appears under its name only once complete.
Output: output/Stable-diffusion/<name>.safetensors, fp16 with `half`.
"""

from __future__ import annotations

import contextlib
import json

from sdaws.contract.specs import MergeSpec

from . import progress
from .convert.atomic import atomic_file
from .convert.source import Source
from .convert.st_io import OutEntry, tensor_bytes, torch_dtypes, write_file
from .errors import SpecError
from .layout import Layout
from .model_ref import find_model

FLOATS = ("F64", "F32", "F16", "BF16")


def _source(layout: Layout, channel: str, name: str) -> Source:
    ref = find_model(layout.channel(channel), name.rsplit("/", 1)[-1])
    if ref.kind != "single_file":
        raise SpecError(f"{channel} {name!r}: merge takes single-file checkpoints (.safetensors/.ckpt)")
    return Source(ref.path)


def merged_tensor(spec: MergeSpec, a, b, c):
    m = spec.multiplier
    a32, b32 = a.float(), b.float()
    if spec.mode == "weighted_sum":
        return a32 * (1 - m) + b32 * m
    return a32 + (b32 - c.float()) * m


def run(spec: MergeSpec, layout: Layout, kind: str) -> None:
    with contextlib.ExitStack() as stack:
        a = stack.enter_context(_source(layout, "model_a", spec.model_a))
        b = stack.enter_context(_source(layout, "model_b", spec.model_b))
        c = stack.enter_context(_source(layout, "model_c", spec.model_c)) if spec.mode == "add_difference" else None
        others = [s for s in (b, c) if s is not None]
        bar = progress.Progress(len(a.infos))
        entries, blended = [], 0
        for key, (dtype, shape) in a.infos.items():
            blend = dtype in FLOATS and all(key in o.infos and o.infos[key][1] == shape for o in others)
            blended += blend
            out_dtype = "F16" if spec.half and dtype in FLOATS else dtype

            def produce(out, key=key, blend=blend, out_dtype=out_dtype):
                tensor = a.tensor(key)
                if blend:
                    tensor = merged_tensor(spec, tensor, b.tensor(key), c.tensor(key) if c is not None else None)
                out.write(tensor_bytes(tensor.to(torch_dtypes()[out_dtype])))
                bar.advance(message="merging")

            entries.append(OutEntry(key, out_dtype, tuple(shape), produce))
        progress.message(f"merging {blended} tensors ({len(entries) - blended} copied from A unchanged)")
        target, folder, name = layout.result_path(kind, spec.model_dump())
        meta = {"sdaws_merge": json.dumps(spec.model_dump(), sort_keys=True)}
        with atomic_file(target, overwrite=True) as partial:
            write_file(partial, entries, meta)
    progress.output(layout.relative(target), folder, name)
