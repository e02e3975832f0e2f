"""The convert and export jobs: thin wrappers over the conversion engine.

convert: single file in the model channel -> output/diffusers/<name>/ (a folder).
export:  diffusers folder in the model channel -> output/Stable-diffusion/<name>.safetensors.
The engine writes atomically and raises SpecError subclasses for bad input, which the
entrypoint turns into exit code 2 with the message.
"""

from __future__ import annotations

from sdaws.contract.specs import ConvertSpec, ExportSpec

from . import progress
from .errors import SpecError
from .layout import Layout
from .model_ref import find_model


def _tensor_progress():
    bar: list[progress.Progress] = []

    def report(done: int, total: int, name: str) -> None:
        if not bar:
            bar.append(progress.Progress(total))
        bar[0].advance(done - bar[0].step, message=name)

    return report


def run_convert(spec: ConvertSpec, layout: Layout, kind: str) -> None:
    from .convert import convert_checkpoint

    ref = find_model(layout.channel("model"), spec.model.rsplit("/", 1)[-1] if spec.model else None)
    if ref.kind != "single_file":
        raise SpecError("convert takes a single .safetensors/.ckpt file; this model is already a diffusers folder")
    target, folder, name = layout.result_path(kind, spec.model_dump())
    summary = convert_checkpoint(
        ref.path,
        target,
        arch=None if spec.arch == "auto" else spec.arch,
        prediction_type=spec.prediction_type,
        image_size=spec.image_size,
        upcast_attention=spec.upcast_attention,
        half=spec.half,
        ema=spec.ema,
        progress=_tensor_progress(),
    )
    reasons = "; ".join(summary.get("reasons", []))
    progress.message(f"detected {summary.get('arch')}: {reasons}" if reasons else f"detected {summary.get('arch')}")
    progress.output(
        layout.relative(target),
        folder,
        name,
        arch=summary.get("arch"),
        prediction_type=summary.get("prediction_type"),
        image_size=summary.get("image_size"),
    )


def run_export(spec: ExportSpec, layout: Layout, kind: str) -> None:
    from .convert import export_pipeline

    ref = find_model(layout.channel("model"), spec.model.rsplit("/", 1)[-1] if spec.model else None)
    if ref.kind != "diffusers":
        raise SpecError("export takes a diffusers folder (model_index.json); this model is a single file already")
    target, folder, name = layout.result_path(kind, spec.model_dump())
    export_pipeline(ref.path, target, half=spec.half)
    progress.output(layout.relative(target), folder, name)
