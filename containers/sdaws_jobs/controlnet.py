"""ControlNet units: the models from `ControlNet/`, their control images and preprocessors.

A model is either a diffusers folder (config.json) or a single file as the WebUI's
ControlNet extension reads it: the original layout (`control_model.input_blocks…`, or
the same keys without the prefix, as the 1.1 `.pth` files have them; `.pth`/`.ckpt`
through the safe unpickler) or a single file with diffusers names. A single file has no
config, so its architecture is the base model's UNet (a ControlNet is a copy of the
UNet's encoder), and diffusers' own converter renames its keys.

Control images are resized like the WebUI's default "Crop and Resize" (cover the target,
centre crop), then preprocessed: "none" passes the image through, "canny" is OpenCV's
Canny edge detector with threshold_a/threshold_b as the low/high thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sdaws.contract.specs import ControlNetUnit

from .errors import SpecError
from .model_files import read_model_file
from .model_ref import find_file

MODEL_EXTS = (".safetensors", ".pth", ".ckpt")


@dataclass
class LoadedUnit:
    unit: ControlNetUnit
    model: object  # diffusers ControlNetModel
    image: object  # PIL image, before resizing and preprocessing


def load_controlnet(path: Path, unet, dtype):
    """A ControlNetModel from a diffusers folder or a single file shaped like `unet`'s encoder."""
    from diffusers import ControlNetModel

    if path.is_dir():
        return ControlNetModel.from_pretrained(str(path), torch_dtype=dtype, local_files_only=True)
    from accelerate import init_empty_weights
    from diffusers.loaders.single_file_utils import convert_controlnet_checkpoint

    state = read_model_file(path)
    with init_empty_weights():
        model = ControlNetModel.from_unet(unet, load_weights_from_unet=False)
    converted = convert_controlnet_checkpoint(state, dict(model.config))
    converted |= _added_embedding(state, dict(model.config))
    try:
        model.load_state_dict(converted, strict=True, assign=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0][:300]
        raise SpecError(
            f"ControlNet {path.name!r} does not fit this base model (a ControlNet is made for one model family): {first}"
        ) from exc
    return model.to(dtype).eval()


def _added_embedding(state: dict, config: dict) -> dict:
    """SDXL's label_emb (text_time conditioning), which diffusers' converter leaves out although
    its own name table has it; renamed here with that table."""
    from diffusers.loaders.single_file_utils import DIFFUSERS_TO_LDM_MAPPING

    kind = "addition_embed_type" if config.get("addition_embed_type") else "class_embed_type"
    if not config.get(kind):
        return {}
    prefix = "control_model." if any(k.startswith("control_model.") for k in state) else ""
    table = DIFFUSERS_TO_LDM_MAPPING["controlnet"][kind]
    return {new: state[prefix + old] for new, old in table.items() if prefix + old in state}


def load_units(units: list[ControlNetUnit], layout, unet, dtype) -> list[LoadedUnit]:
    from .generate import open_image

    loaded = []
    cache: dict[str, object] = {}
    for i, unit in enumerate(units):
        name = unit.model.rsplit("/", 1)[-1]
        if name not in cache:
            path = find_file(layout.channel("controlnet"), name, MODEL_EXTS, "ControlNet model")
            cache[name] = load_controlnet(path, unet, dtype)
        image = open_image(layout.channel(f"control_image_{i}"), unit.image, "control image")
        loaded.append(LoadedUnit(unit, cache[name], image))
    return loaded


def crop_and_resize(image, width: int, height: int):
    """Scale to cover width x height, then centre-crop (the WebUI ControlNet default)."""
    from PIL import Image

    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    image = image.resize(size, Image.LANCZOS)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return image.crop((left, top, left + width, top + height))


def preprocess(unit: ControlNetUnit, image, width: int, height: int):
    """The control image the model sees: resized, then run through the unit's preprocessor."""
    image = crop_and_resize(image.convert("RGB"), width, height)
    if unit.module == "none":
        return image
    import cv2
    import numpy as np
    from PIL import Image

    edges = cv2.Canny(np.asarray(image), int(unit.threshold_a), int(unit.threshold_b))
    return Image.fromarray(np.stack([edges] * 3, axis=-1))


def pipeline_arguments(units: list[LoadedUnit], width: int, height: int, image_key: str) -> dict:
    """The diffusers call arguments for these units at this size (`image_key`: image or control_image)."""
    if not units:
        return {}
    images = [preprocess(u.unit, u.image, width, height) for u in units]
    single = len(units) == 1
    return {
        image_key: images[0] if single else images,
        "controlnet_conditioning_scale": units[0].unit.weight if single else [u.unit.weight for u in units],
        "control_guidance_start": [u.unit.guidance_start for u in units],
        "control_guidance_end": [u.unit.guidance_end for u in units],
    }


def models(units: list[LoadedUnit]):
    """What `from_pipe(controlnet=…)` takes: one model, or the list (diffusers wraps it in MultiControlNet)."""
    found = [u.model for u in units]
    return found[0] if len(found) == 1 else found
