"""The merge job: weighted sum (1-M)·A + M·B or add difference A + M·(B - C).

Like the WebUI checkpoint merger: arithmetic in fp32, keys present in A decide the
output; a tensor that B (or C) lacks or shapes differently (an inpainting UNet's
first conv, say) is copied from A unchanged; integer tensors are copied from A.
Output: output/Stable-diffusion/<name>.safetensors, fp16 with `half`.
"""

from __future__ import annotations

import json

import torch

from . import progress
from .errors import SpecError
from .layout import Layout, safetensors_file_name
from .model_ref import find_model
from .specs import MergeSpec
from .tensor_io import FLOAT_NAMES, TensorSource, write_streamed


def _source(layout: Layout, channel: str, name: str) -> TensorSource:
    ref = find_model(layout.channel(channel), name.rsplit("/", 1)[-1])
    if ref.kind != "single_file":
        raise SpecError(f"{channel} {name!r}: merge takes single-file checkpoints (.safetensors/.ckpt)")
    return TensorSource(ref.path)


def merged_tensor(spec: MergeSpec, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
    m = spec.multiplier
    a32, b32 = a.float(), b.float()
    if spec.mode == "weighted_sum":
        return a32 * (1 - m) + b32 * m
    return a32 + (b32 - c.float()) * m


def run(spec: MergeSpec, layout: Layout, kind: str) -> None:
    a = _source(layout, "model_a", spec.model_a)
    b = _source(layout, "model_b", spec.model_b)
    c = _source(layout, "model_c", spec.model_c) if spec.mode == "add_difference" else None
    keys = a.keys()
    plan, blended = [], set()
    for key in keys:
        dtype, shape = a.meta(key)
        others = [b] + ([c] if c is not None else [])
        if dtype in FLOAT_NAMES and all(key in o and o.meta(key)[1] == shape for o in others):
            blended.add(key)
        out_dtype = "F16" if spec.half and dtype in FLOAT_NAMES else dtype
        plan.append((key, out_dtype, shape))
    copied = len(keys) - len(blended)
    progress.message(f"merging {len(blended)} tensors ({copied} copied from A unchanged)")
    out_dtypes = {key: dtype for key, dtype, _ in plan}
    names = {"F16": torch.float16, "F32": torch.float32, "BF16": torch.bfloat16, "F64": torch.float64}
    bar = progress.Progress(len(plan))

    def produce(key: str) -> torch.Tensor:
        tensor = a.get(key)
        if key in blended:
            tensor = merged_tensor(spec, tensor, b.get(key), c.get(key) if c is not None else None)
        if out_dtypes[key] in names:
            tensor = tensor.to(names[out_dtypes[key]])
        bar.advance(message="merging")
        return tensor

    name = safetensors_file_name(spec.output_name)
    target = layout.output_path("Stable-diffusion", name)
    meta = {"sdaws_merge": json.dumps(spec.model_dump(), sort_keys=True)}
    write_streamed(target, plan, produce, meta)
    progress.output(layout.relative(target), "Stable-diffusion", name)
