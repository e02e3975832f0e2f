"""The txt2img and img2img jobs: load the model from its channels, render, write PNGs.

Images land in output/images/<index>-<seed>.png, each with the WebUI `parameters`
chunk, and each announced by an `output` event carrying its seed. Channels besides the
model (all optional): vae, lora, embeddings, controlnet + control_image_<i>, upscaler
(hires fix), refiner, vae_approx (preview decoders), init_image and mask (img2img).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sdaws.contract.outputs import IMAGES_FOLDER
from sdaws.contract.specs import Img2ImgSpec, LoraRef, Txt2ImgSpec, is_model_upscaler

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


def _load_model(
    layout: Layout, channel: str, name: str, scratch: Path, runtime, what: str, image2image=False, vae=None, cache=None
):
    """The pipeline of the model in `channel` (with the VAE file `vae` swapped in, if any)."""
    from .pipelines import load_text2image, load_vae, model_folder

    ref = find_model(layout.channel(channel), _basename(name))
    if ref.kind == "hub":
        raise SpecError(f"{what} {name!r} not found in the {channel} channel")
    progress.message(f"loading {what} {_basename(name)}")
    # A single file's cached conversion stays (is not evicted) while its weights load.
    with model_folder(ref, scratch / channel, half=runtime.half, cache=cache) as model_dir:
        pipe = load_text2image(model_dir, runtime, image2image)
        if vae is not None:
            pipe.vae = load_vae(vae, model_dir, runtime)  # configured like the base: reads its vae/ config
    return pipe


def build_pipeline(spec: Txt2ImgSpec, layout: Layout, scratch: Path, runtime, cache=None):
    """A ready Kit for `spec`: the txt2img pipeline (scheduler, VAE, LoRAs, embeddings) and its extras.
    `cache`: the converted-model cache for single files (default: the job's, model_cache.job_model_cache)."""
    from .pipelines import apply_loras, set_scheduler
    from .render import Kit
    from .runtime import optimize_pipeline

    vae = find_file(layout.channel("vae"), _basename(spec.vae), CHECKPOINT_EXTS, "VAE") if spec.vae else None
    pipe = _load_model(layout, "model", spec.model, scratch, runtime, "model", vae=vae, cache=cache)
    set_scheduler(pipe, spec.scheduler)
    loras = [
        (find_file(layout.channel("lora"), _basename(r.name), (".safetensors",), "LoRA"), r.weight)
        for r in lora_refs(spec)
    ]
    apply_loras(pipe, loras)
    kit = Kit(optimize_pipeline(pipe, runtime, compile_unet=spec.compile and runtime.cuda))
    if spec.embeddings:
        from .embeddings import load_embeddings

        kit.embeddings = load_embeddings(pipe, layout.channel("embeddings"), [_basename(e) for e in spec.embeddings])
    if spec.controlnet:
        from .controlnet import load_units

        progress.message(f"loading {len(spec.controlnet)} ControlNet unit(s)")
        kit.controlnet = load_units(spec.controlnet, layout, pipe.unet, runtime.dtype)
        for unit in kit.controlnet:
            unit.model.to(runtime.device)
    if spec.refiner_checkpoint:
        refiner = _load_model(
            layout, "refiner", spec.refiner_checkpoint, scratch, runtime, "refiner", True, cache=cache
        )
        if getattr(refiner, "text_encoder_2", None) is None:
            raise SpecError(f"refiner {spec.refiner_checkpoint!r} is not an SDXL model")
        set_scheduler(refiner, spec.scheduler)
        kit.refiner = optimize_pipeline(refiner, runtime)
        kit.refiner.set_progress_bar_config(disable=True)
    if spec.enable_hr and is_model_upscaler(spec.hr_upscaler):
        from .upscalers import ModelUpscaler, find_upscaler

        kit.upscaler = ModelUpscaler(find_upscaler(layout.channel("upscaler"), spec.hr_upscaler), runtime.device)
    if spec.preview_every:
        from .previews import Previews

        kit.previews = Previews.for_job(spec.preview_every, layout, kit.sdxl, layout.channel("vae_approx"))
    return kit


def open_image(channel: Path, name: str, what: str):
    """The image `name` in `channel`, as RGB (a clear error when it is missing or unreadable)."""
    from PIL import Image, UnidentifiedImageError

    path = find_file(channel, _basename(name), IMAGE_EXTS, what)
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise SpecError(f"{what} {path.name!r} is not a readable image: {exc}") from exc


def load_init_image(spec: Img2ImgSpec, layout: Layout):
    return open_image(layout.channel("init_image"), spec.init_image, "init image")


def load_mask(spec: Txt2ImgSpec, layout: Layout):
    if not isinstance(spec, Img2ImgSpec) or not spec.mask:
        return None
    return open_image(layout.channel("mask"), spec.mask, "mask")


def write_images(kit, spec: Txt2ImgSpec, layout: Layout) -> list[dict]:
    """Render the run with a ready Kit; PNGs into output/images/. Returns the output events."""
    from .render import render, steps_per_image

    init_image = load_init_image(spec, layout) if isinstance(spec, Img2ImgSpec) else None
    bar = progress.Progress(spec.batch_count * steps_per_image(spec))
    events = []
    rendered = render(
        kit,
        spec,
        init_image,
        on_step=lambda: bar.advance(message="denoising"),
        mask_image=load_mask(spec, layout),
    )
    for index, item in enumerate(rendered):
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
        load_mask(spec, layout)
    for i, unit in enumerate(spec.controlnet):
        open_image(layout.channel(f"control_image_{i}"), unit.image, "control image")
    runtime = pick_runtime(spec.half)
    with tempfile.TemporaryDirectory(prefix="sdaws-gen-") as scratch:
        write_images(build_pipeline(spec, layout, Path(scratch), runtime), spec, layout)
