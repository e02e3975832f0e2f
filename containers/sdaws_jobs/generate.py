"""The txt2img and img2img jobs: load the model from its channels, render, write PNGs.

Images land in output/images/<index>-<seed>.png, each with the WebUI `parameters`
chunk, and each announced by an `output` event carrying its seed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sdaws.contract.outputs import IMAGES_FOLDER
from sdaws.contract.specs import Img2ImgSpec, LoraRef, Txt2ImgSpec

from . import progress
from .errors import SpecError
from .layout import Layout
from .model_ref import CHECKPOINT_EXTS, IMAGE_EXTS, find_file, find_model
from .pngmeta import extract_lora_tags, png_info


def _basename(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def lora_refs(spec: Txt2ImgSpec) -> list[LoraRef]:
    """LoRAs from the spec plus `<lora:name:w>` tags in the prompt (the spec wins on a clash)."""
    refs = list(spec.loras)
    known = {Path(_basename(r.name)).stem for r in refs}
    _, tags = extract_lora_tags(spec.prompt)
    refs += [LoraRef(name=name, weight=w) for name, w in tags if name not in known]
    return refs


def build_pipeline(spec: Txt2ImgSpec, layout: Layout, scratch: Path, runtime):
    """A ready txt2img pipeline for `spec` (scheduler set), its inputs taken from the layout's channels."""
    from .pipelines import apply_loras, load_text2image, load_vae, local_model_dir, set_scheduler
    from .runtime import optimize_pipeline

    ref = find_model(layout.channel("model"), _basename(spec.model))
    if ref.kind == "hub":
        raise SpecError(f"model {spec.model!r} not found in the model channel")
    progress.message(f"loading model {_basename(spec.model)}")
    model_dir = local_model_dir(ref, scratch, half=runtime.half)
    pipe = load_text2image(model_dir, runtime)
    if spec.vae:
        vae_path = find_file(layout.channel("vae"), _basename(spec.vae), CHECKPOINT_EXTS, "VAE")
        pipe.vae = load_vae(vae_path, model_dir, runtime)
    set_scheduler(pipe, spec.scheduler)
    loras = [
        (find_file(layout.channel("lora"), _basename(r.name), (".safetensors",), "LoRA"), r.weight)
        for r in lora_refs(spec)
    ]
    apply_loras(pipe, loras)
    return optimize_pipeline(pipe, runtime, compile_unet=spec.compile and runtime.cuda)


def load_init_image(spec: Img2ImgSpec, layout: Layout):
    from PIL import Image, UnidentifiedImageError

    path = find_file(layout.channel("init_image"), _basename(spec.init_image), IMAGE_EXTS, "init image")
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise SpecError(f"init image {path.name!r} is not a readable image: {exc}") from exc


def write_images(pipe, spec: Txt2ImgSpec, layout: Layout) -> list[dict]:
    """Render the run with a ready txt2img pipeline; PNGs into output/images/. Returns the output events."""
    from .render import render, steps_per_image

    init_image = None
    if isinstance(spec, Img2ImgSpec):
        from .pipelines import as_image2image

        init_image = load_init_image(spec, layout)
        pipe = as_image2image(pipe)
    bar = progress.Progress(spec.batch_count * steps_per_image(spec))
    events = []
    for index, item in enumerate(render(pipe, spec, init_image, on_step=lambda: bar.advance(message="denoising"))):
        name = f"{index:05d}-{item.seed}.png"
        target = layout.output_path(IMAGES_FOLDER, name)
        partial = target.with_suffix(".png.partial")
        item.image.save(partial, format="PNG", pnginfo=png_info(item.infotext))
        partial.replace(target)  # a reader never sees half a PNG
        events.append({"file": layout.relative(target), "type": IMAGES_FOLDER, "name": name, "seed": item.seed})
        progress.output(**events[-1])
    return events


def run(spec: Txt2ImgSpec, layout: Layout, kind: str) -> None:
    from .runtime import pick_runtime

    if isinstance(spec, Img2ImgSpec):
        load_init_image(spec, layout)  # a missing or broken image fails before the model loads
    runtime = pick_runtime(spec.half)
    with tempfile.TemporaryDirectory(prefix="sdaws-gen-") as scratch:
        write_images(build_pipeline(spec, layout, Path(scratch), runtime), spec, layout)
