"""The upscale job (the WebUI's "extras"): upscale an image, optionally restore faces.

Order as in the WebUI's postprocessing: upscaler 1 (and upscaler 2 on the same source,
blended by its visibility), then GFPGAN, then CodeFormer. The result lands in
output/images/<index>-<source stem>.png with the WebUI's `postprocessing` chunk
("Postprocess upscale by: 2, Postprocess upscaler: …"); a source made by the WebUI or
by sdaws keeps its `parameters` chunk, so PNG Info still shows how it was generated.
"""

from __future__ import annotations

from sdaws.contract.outputs import IMAGES_FOLDER
from sdaws.contract.specs import UpscaleSpec, is_model_upscaler

from . import progress
from .layout import Layout
from .model_ref import IMAGE_EXTS, find_file
from .pngmeta import CHUNK, png_info, postprocessing_infotext


def _upscale(spec: UpscaleSpec, layout: Layout, name: str, image, runtime):
    from .upscalers import ModelUpscaler, find_upscaler, resample

    if not is_model_upscaler(name):
        return resample(image, name, spec.upscaling_resize), name
    model = ModelUpscaler(find_upscaler(layout.channel("upscaler"), name), runtime.device, runtime.half)
    progress.message(f"upscaling with {model.name} ({model.scale}x model)")
    return model.upscale(image, spec.upscaling_resize, spec.tile, spec.tile_overlap), model.name


def run(spec: UpscaleSpec, layout: Layout, kind: str) -> None:
    import torch
    from PIL import Image

    from .generate import open_image
    from .runtime import pick_runtime
    from .upscalers import FaceRestorer

    source_path = find_file(layout.channel("image"), spec.image.rsplit("/", 1)[-1], IMAGE_EXTS, "image")
    with Image.open(source_path) as src:
        parameters = src.info.get(CHUNK)
    image = open_image(layout.channel("image"), spec.image, "image")
    runtime = pick_runtime(spec.half)
    stages = (
        1 + bool(spec.extras_upscaler_2_visibility) + bool(spec.gfpgan_visibility) + bool(spec.codeformer_visibility)
    )
    bar = progress.Progress(stages)
    result, first_name = _upscale(spec, layout, spec.upscaler_1, image, runtime)
    bar.advance(message="upscaled")
    info: dict = {"Postprocess upscale by": float(spec.upscaling_resize), "Postprocess upscaler": first_name}
    if spec.upscaler_2 and spec.extras_upscaler_2_visibility > 0:
        second, second_name = _upscale(spec, layout, spec.upscaler_2, image, runtime)
        result = Image.blend(
            result.convert("RGB"), second.convert("RGB").resize(result.size), spec.extras_upscaler_2_visibility
        )
        info["Postprocess upscaler 2"] = second_name
        info["Postprocess upscaler 2 visibility"] = float(spec.extras_upscaler_2_visibility)
        bar.advance(message="second upscaler blended")
    restorers = (
        ("gfpgan", spec.gfpgan_model, spec.gfpgan_visibility, None, "GFPGAN visibility"),
        (
            "codeformer",
            spec.codeformer_model,
            spec.codeformer_visibility,
            spec.codeformer_weight,
            "CodeFormer visibility",
        ),
    )
    for label, model_name, visibility, weight, key in restorers:
        if not model_name or visibility <= 0:
            continue
        path = find_file(
            layout.channel("face_restorer"), model_name.rsplit("/", 1)[-1], (".pth", ".safetensors"), label
        )
        torch.manual_seed(0)  # StyleGAN-style restorers inject noise; the same request gives the same pixels
        result = FaceRestorer(path, runtime.device, weight).restore(result, visibility)
        info[key] = round(float(visibility), 3)
        if weight is not None:
            info["CodeFormer weight"] = round(float(weight), 3)
        bar.advance(message=f"{label} applied")
    name = f"00000-{source_path.stem}.png"
    target = layout.output_path(IMAGES_FOLDER, name)
    partial = target.with_suffix(".png.partial")
    result.save(partial, format="PNG", pnginfo=png_info(parameters, postprocessing_infotext(info)))
    partial.replace(target)
    progress.output(layout.relative(target), IMAGES_FOLDER, name, width=result.width, height=result.height)
