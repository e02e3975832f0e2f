"""Turning a txt2img/img2img spec into images: seeds, batches, progress, infotext.

Shared by the one-shot job (generate.py) and the inference server (serve.py), so a
request gives the same pixels in both. Seeds follow the WebUI: image k of the run
(counting across batches) uses seed + k, each with its own CPU generator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sdaws.contract.specs import MAX_SEED, Img2ImgSpec, Txt2ImgSpec

from .pngmeta import extract_lora_tags, infotext_for
from .runtime import generators


@dataclass
class Rendered:
    image: object  # PIL.Image
    seed: int
    infotext: str


def resolve_seed(seed: int) -> int:
    return seed if seed >= 0 else random.SystemRandom().randint(0, MAX_SEED)


def steps_per_image(spec: Txt2ImgSpec) -> int:
    """Denoising steps one image takes (img2img skips the first (1 - strength) of them)."""
    if isinstance(spec, Img2ImgSpec):
        return max(1, min(int(spec.steps * spec.denoising_strength), spec.steps))
    return spec.steps


def render(
    pipe,
    spec: Txt2ImgSpec,
    init_image=None,
    on_step: Callable[[], None] | None = None,
    version: str | None = None,
) -> Iterator[Rendered]:
    """Yield every image of the run, batch by batch. `pipe` matches the spec's kind."""
    base_seed = resolve_seed(spec.seed)
    prompt, _ = extract_lora_tags(spec.prompt)  # tags select LoRAs; CLIP must not read them
    size = spec.batch_size

    def _callback(_pipe, _step, _timestep, tensors):
        if on_step:
            on_step()
        return tensors

    for batch in range(spec.batch_count):
        seeds = [base_seed + batch * size + j for j in range(size)]
        kwargs = dict(
            prompt=[prompt] * size,
            negative_prompt=[spec.negative_prompt] * size,
            num_inference_steps=spec.steps,
            guidance_scale=spec.cfg_scale,
            generator=generators(seeds),
            callback_on_step_end=_callback,
        )
        if spec.clip_skip > 1:
            kwargs["clip_skip"] = spec.clip_skip - 1  # diffusers counts layers skipped beyond the last
        if isinstance(spec, Img2ImgSpec):
            kwargs.update(
                image=init_image.convert("RGB").resize((spec.width, spec.height)), strength=spec.denoising_strength
            )
        else:
            kwargs.update(width=spec.width, height=spec.height)
        images = pipe(**kwargs).images
        for j, image in enumerate(images):
            text = infotext_for(spec, seeds[j], version=version, batch_pos=j)
            yield Rendered(image, seeds[j], text)
