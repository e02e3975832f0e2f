"""Turning a txt2img/img2img spec into images: seeds, batches, passes, progress, infotext.

Shared by the one-shot job (generate.py) and the inference server (serve.py), so a
request gives the same pixels in both. Seeds follow the WebUI: image k of the run
(counting across batches) uses seed + k, each with its own CPU generator.

A batch runs as the WebUI runs it:
  1. the first pass: txt2img, img2img or inpainting (with the ControlNet units, if any);
     with an SDXL refiner it stops at `refiner_switch_at` and the refiner finishes;
  2. hires fix (txt2img): the result upscaled (on latents, or decoded and upscaled by a
     resampler or an upscaler model) and denoised again at the larger size;
  3. inpainting: the original's pixels pasted back outside the mask.
Every pass reports its steps; every `preview_every` steps a preview is written.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sdaws.contract.specs import LATENT_UPSCALERS, MAX_SEED, Img2ImgSpec, Txt2ImgSpec, is_model_upscaler

from .pngmeta import extract_lora_tags, infotext_for
from .runtime import generators


@dataclass
class Rendered:
    image: object  # PIL.Image
    seed: int
    infotext: str


@dataclass
class Kit:
    """A loaded pipeline and what the spec adds to it (see generate.build_pipeline)."""

    pipe: object  # the txt2img pipeline the others derive from
    controlnet: list = field(default_factory=list)  # controlnet.LoadedUnit
    refiner: object | None = None  # an SDXL img2img pipeline
    upscaler: object | None = None  # upscalers.ModelUpscaler for hires fix
    previews: object | None = None  # previews.Previews
    embeddings: dict[str, str] = field(default_factory=dict)  # name -> short hash

    @property
    def sdxl(self) -> bool:
        return getattr(self.pipe, "text_encoder_2", None) is not None


def resolve_seed(seed: int) -> int:
    return seed if seed >= 0 else random.SystemRandom().randint(0, MAX_SEED)


def _img2img_steps(steps: int, strength: float) -> int:
    return max(1, min(int(steps * strength), steps))


def steps_per_image(spec: Txt2ImgSpec) -> int:
    """Denoising steps one image takes, all passes (img2img skips the first (1 - strength) of them)."""
    steps = _img2img_steps(spec.steps, spec.denoising_strength) if isinstance(spec, Img2ImgSpec) else spec.steps
    if spec.enable_hr and not isinstance(spec, Img2ImgSpec):
        steps += _img2img_steps(spec.hr_second_pass_steps or spec.steps, spec.denoising_strength)
    return steps


def _accepts(pipe, name: str) -> bool:
    return name in inspect.signature(pipe.__call__).parameters


def _derived(kit: Kit, task: str, with_controlnet: bool = True):
    """The txt2img/img2img/inpaint twin of the kit's pipeline, sharing its modules."""
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image

    from . import controlnet

    auto = {"txt2img": AutoPipelineForText2Image, "img2img": AutoPipelineForImage2Image}.get(
        task, AutoPipelineForInpainting
    )
    extra = {"controlnet": controlnet.models(kit.controlnet)} if with_controlnet and kit.controlnet else {}
    pipe = auto.from_pipe(kit.pipe, **extra)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _prompts(kit: Kit, spec: Txt2ImgSpec) -> tuple[str, str]:
    from .embeddings import rewrite_prompt

    prompt, _ = extract_lora_tags(spec.prompt)  # tags select LoRAs; CLIP must not read them
    return rewrite_prompt(prompt, kit.embeddings), rewrite_prompt(spec.negative_prompt, kit.embeddings)


class _Steps:
    """Counts steps across passes; calls `on_step` and the preview writer from diffusers' callback."""

    def __init__(self, kit: Kit, on_step: Callable[[], None] | None) -> None:
        self.kit = kit
        self.on_step = on_step
        self.count = 0
        self.first_index = 0

    def callback(self, _pipe, _step, _timestep, tensors):
        self.count += 1
        if self.on_step:
            self.on_step()
        if self.kit.previews is not None and "latents" in tensors:
            self.kit.previews.emit(self.count, tensors["latents"], self.first_index)
        return tensors


def _latent_upscale(latents, size: tuple[int, int], name: str, factor: int):
    """Latents resized to the hires size (`factor`: image pixels per latent pixel, 8 for SD)."""
    import torch.nn.functional as F

    mode, antialias = LATENT_UPSCALERS[name]
    width, height = size
    target = (height // factor, width // factor)
    if mode in ("nearest", "nearest-exact"):
        return F.interpolate(latents, size=target, mode=mode)
    return F.interpolate(latents, size=target, mode=mode, antialias=antialias)


def _pixel_upscale(kit: Kit, images: list, spec: Txt2ImgSpec, size: tuple[int, int]) -> list:
    from PIL import Image

    from .upscalers import resample

    out = []
    for image in images:
        if kit.upscaler is not None and is_model_upscaler(spec.hr_upscaler):
            scale = max(size[0] / image.width, size[1] / image.height)
            image = kit.upscaler.upscale(image, scale)
        elif spec.hr_upscaler == "Nearest":
            image = resample(image, "Nearest", size[0] / image.width)
        out.append(image if image.size == size else image.resize(size, Image.LANCZOS))
    return out


def render(
    kit: Kit,
    spec: Txt2ImgSpec,
    init_image=None,
    on_step: Callable[[], None] | None = None,
    version: str | None = None,
    mask_image=None,
) -> Iterator[Rendered]:
    """Yield every image of the run, batch by batch."""
    from . import controlnet, inpaint

    img2img = isinstance(spec, Img2ImgSpec)
    task = "inpaint" if img2img and mask_image is not None else ("img2img" if img2img else "txt2img")
    first = _derived(kit, task)
    base_seed = resolve_seed(spec.seed)
    prompt, negative = _prompts(kit, spec)
    size = spec.batch_size
    steps = _Steps(kit, on_step)
    hires = spec.enable_hr and not img2img
    hires_size = spec.hires_size(spec.width, spec.height) if hires else None
    if kit.refiner is not None and not kit.sdxl:
        from .errors import SpecError

        raise SpecError("refiner_checkpoint needs an SDXL base model (the refiner continues its latents)")

    original = mask = None
    if img2img:
        original = init_image.convert("RGB").resize((spec.width, spec.height))
        if task == "inpaint":
            mask = inpaint.prepare_mask(mask_image, spec, (spec.width, spec.height))
            original_for_pipe = inpaint.init_image_for(original, mask, spec)
        else:
            original_for_pipe = original

    for batch in range(spec.batch_count):
        seeds = [base_seed + batch * size + j for j in range(size)]
        steps.first_index = batch * size
        common = dict(
            prompt=[prompt] * size,
            negative_prompt=[negative] * size,
            guidance_scale=spec.cfg_scale,
            callback_on_step_end=steps.callback,
        )
        if spec.clip_skip > 1:
            common["clip_skip"] = spec.clip_skip - 1  # diffusers counts layers skipped beyond the last
        kwargs = dict(common, num_inference_steps=spec.steps, generator=generators(seeds))
        image_key = "image" if task == "txt2img" else "control_image"
        kwargs.update(controlnet.pipeline_arguments(kit.controlnet, spec.width, spec.height, image_key))
        if task == "txt2img":
            kwargs.update(width=spec.width, height=spec.height)
        else:
            kwargs.update(image=original_for_pipe, strength=spec.denoising_strength)
        if task == "inpaint":
            kwargs.update(
                inpaint.pipeline_arguments(original_for_pipe, mask, spec), width=spec.width, height=spec.height
            )
        latent_out = kit.refiner is not None or (hires and spec.hr_upscaler in LATENT_UPSCALERS)
        if kit.refiner is not None:
            if _accepts(first, "denoising_end"):
                kwargs["denoising_end"] = spec.refiner_switch_at
            kwargs["output_type"] = "latent"
        elif latent_out:
            kwargs["output_type"] = "latent"
        result = first(**kwargs).images
        if kit.refiner is not None:
            refine = dict(
                common,
                image=result,
                num_inference_steps=spec.steps,
                denoising_start=spec.refiner_switch_at,
                generator=generators(seeds),
                output_type="latent" if hires and spec.hr_upscaler in LATENT_UPSCALERS else "pil",
            )
            result = kit.refiner(**refine).images
        if hires:
            second = _derived(kit, "img2img")
            hr_kwargs = dict(
                common,
                num_inference_steps=spec.hr_second_pass_steps or spec.steps,
                strength=spec.denoising_strength,
                generator=generators(seeds),
            )
            hr_kwargs.update(controlnet.pipeline_arguments(kit.controlnet, *hires_size, "control_image"))
            if spec.hr_upscaler in LATENT_UPSCALERS:
                hr_kwargs["image"] = _latent_upscale(result, hires_size, spec.hr_upscaler, kit.pipe.vae_scale_factor)
            else:
                hr_kwargs["image"] = _pixel_upscale(kit, list(result), spec, hires_size)
            result = second(**hr_kwargs).images
        images = list(result)
        if task == "inpaint":
            images = [inpaint.overlay(image, original, mask, spec) for image in images]
        for j, image in enumerate(images):
            text = infotext_for(spec, seeds[j], version=version, batch_pos=j, extra=kit_infotext(kit, spec))
            yield Rendered(image, seeds[j], text)


def kit_infotext(kit: Kit, spec: Txt2ImgSpec) -> dict:
    """What infotext records from the loaded kit rather than the spec (hashes, display names)."""
    return {"embeddings": kit.embeddings, "upscaler": getattr(kit.upscaler, "name", None)}
