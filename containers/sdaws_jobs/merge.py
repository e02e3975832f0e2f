"""The merge job: the WebUI's weighted sum and add difference, and sigmoid, SLERP, TIES
(with DARE), block-weighted (MBW) merges and LoRAs baked in (merge_methods.py, lora_bake.py).

Like the WebUI checkpoint merger: arithmetic in fp32, keys present in A decide the
output; a tensor that B (or C) lacks or shapes differently (an inpainting UNet's
first conv, say) is copied from A unchanged; integer tensors are copied from A.
Inputs are read and the output written through the conversion engine's streaming
safetensors I/O (one tensor in memory at a time; a `.ckpt` goes through the safe
unpickler), and the file appears under its name only once complete.

The recipe goes into the output's metadata twice: `sd_merge_recipe` / `sd_merge_models`
as the WebUI writes them (model hashes, interp_method, multiplier …, plus the fields it
lacks), and `sdaws_merge`, the whole spec, so the merge can be run again as it was.
Output: output/Stable-diffusion/<name>.safetensors, fp16 with `half`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from sdaws.contract.specs import MergeSpec

from . import progress
from .convert.atomic import atomic_file
from .convert.source import Source
from .convert.st_io import OutEntry, tensor_bytes, torch_dtypes, write_file
from .errors import SpecError
from .layout import Layout
from .merge_methods import merged_tensor
from .model_ref import find_file, find_model

FLOATS = ("F64", "F32", "F16", "BF16")
# The WebUI's interp_method names where it has one.
_WEBUI_METHOD = {
    "weighted_sum": "Weighted sum",
    "add_difference": "Add difference",
    "no_interpolation": "No interpolation",
}


def _path(layout: Layout, channel: str, name: str) -> Path:
    ref = find_model(layout.channel(channel), name.rsplit("/", 1)[-1])
    if ref.kind != "single_file":
        raise SpecError(f"{channel} {name!r}: merge takes single-file checkpoints (.safetensors/.ckpt)")
    return ref.path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recipe(spec: MergeSpec, paths: dict[str, Path], loras: list[tuple[Path, float]]) -> dict[str, str]:
    """The metadata that says how the file was made, in the WebUI's keys and sdaws' own."""
    hashes = {channel: sha256(path) for channel, path in paths.items()}
    webui = {
        "type": "webui",
        "primary_model_hash": hashes.get("model_a"),
        "secondary_model_hash": hashes.get("model_b"),
        "tertiary_model_hash": hashes.get("model_c"),
        "interp_method": _WEBUI_METHOD.get(spec.mode, spec.mode),
        "multiplier": spec.multiplier,
        "save_as_half": spec.half,
        "custom_name": spec.output_name,
        "block_weights": spec.block_weights,
        "density": spec.density if spec.mode == "ties" else None,
        "dare": spec.dare if spec.mode == "ties" else None,
        "seed": spec.seed if spec.mode == "ties" and spec.dare else None,
        "loras": [{"name": p.name, "weight": w, "sha256": sha256(p)} for p, w in loras] or None,
    }
    models = {hashes[c]: {"name": paths[c].name, "legacy_hash": None, "sd_merge_recipe": None} for c in paths}
    return {
        "sd_merge_recipe": json.dumps({k: v for k, v in webui.items() if v is not None}),
        "sd_merge_models": json.dumps(models),
        "sdaws_merge": json.dumps(spec.model_dump(), sort_keys=True),
    }


def run(spec: MergeSpec, layout: Layout, kind: str) -> None:
    from .lora_bake import lora_deltas

    channels = {"model_a": spec.model_a, "model_b": spec.model_b}
    if spec.mode in ("add_difference", "ties"):
        channels["model_c"] = spec.model_c
    paths = {channel: _path(layout, channel, name) for channel, name in channels.items() if name}
    loras = [
        (find_file(layout.channel("lora"), lora.name.rsplit("/", 1)[-1], (".safetensors",), "LoRA"), lora.weight)
        for lora in spec.loras
    ]
    with contextlib.ExitStack() as stack:
        sources = {channel: stack.enter_context(Source(path)) for channel, path in paths.items()}
        a, b, c = sources["model_a"], sources.get("model_b"), sources.get("model_c")
        others = [s for s in (b, c) if s is not None]
        deltas: dict = {}
        for path, weight in loras:
            found, missed = lora_deltas(path, weight, {k: tuple(s) for k, (_, s) in a.infos.items()})
            if not found:
                raise SpecError(
                    f"LoRA {path.name!r} patches nothing in {paths['model_a'].name} (another model family?)"
                )
            if missed:
                progress.message(
                    f"LoRA {path.name}: {len(missed)} module(s) not baked (no matching tensor): {missed[0]}…"
                )
            for key, delta in found.items():
                deltas[key] = deltas[key] + delta if key in deltas else delta
        bar = progress.Progress(len(a.infos))
        entries, blended = [], 0
        for key, (dtype, shape) in a.infos.items():
            blend = dtype in FLOATS and all(key in o.infos and o.infos[key][1] == shape for o in others)
            blended += blend
            out_dtype = "F16" if spec.half and dtype in FLOATS else dtype

            def produce(out, key=key, blend=blend, out_dtype=out_dtype):
                tensor = a.tensor(key)
                if blend:
                    tensor = merged_tensor(
                        spec,
                        key,
                        tensor,
                        b.tensor(key) if b is not None else None,
                        c.tensor(key) if c is not None else None,
                    )
                if key in deltas:
                    tensor = tensor.float() + deltas[key]
                out.write(tensor_bytes(tensor.to(torch_dtypes()[out_dtype])))
                bar.advance(message="merging")

            entries.append(OutEntry(key, out_dtype, tuple(shape), produce))
        progress.message(f"{spec.mode}: {blended} tensors merged ({len(entries) - blended} copied from A unchanged)")
        target, folder, name = layout.result_path(kind, spec.model_dump())
        with atomic_file(target, overwrite=True) as partial:
            write_file(partial, entries, recipe(spec, paths, loras))
    progress.output(layout.relative(target), folder, name)
