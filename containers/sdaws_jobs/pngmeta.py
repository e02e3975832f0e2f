"""Generation parameters in PNGs, in the WebUI's "infotext" format.

The WebUI (and tools that read its PNGs: civitai, image browsers) stores one text
chunk named `parameters`:

    <prompt, may span lines>
    Negative prompt: <negative, may span lines>      (line left out when empty)
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 123, Size: 512x512, Model: name

Values holding a comma, colon or newline are JSON-quoted. LoRAs live in the prompt
as `<lora:name:weight>` tags. This module writes and parses that text; it needs
only Pillow (and not even that for the text functions).
"""

from __future__ import annotations

import json
import re
from typing import Any

from sdaws.contract.prompts import LORA_TAG
from sdaws.contract.specs import INPAINTING_FILL, SCHEDULERS, is_model_upscaler

CHUNK = "parameters"
POSTPROCESSING_CHUNK = "postprocessing"
NEGATIVE = "Negative prompt:"

# key: value pairs of the last line. A value is a JSON string or runs to the next comma.
_PARAM = re.compile(r'\s*([A-Za-z][\w \-/]*?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def _format_number(value: float) -> str:
    return f"{float(value):.6g}"  # 7.0 -> "7", 7.5 -> "7.5", like the WebUI


def _quote(value: Any) -> str:
    text = str(value)
    if any(c in text for c in ',:\n"') or text != text.strip():
        return json.dumps(text, ensure_ascii=False)
    return text


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value[1:-1]
    return value


def extract_lora_tags(prompt: str) -> tuple[str, list[tuple[str, float]]]:
    """Split `<lora:name:weight>` tags out of a prompt: (clean prompt, [(name, weight)])."""
    loras: list[tuple[str, float]] = []

    def _take(match: re.Match) -> str:
        weight = match.group(2)
        try:
            w = float(weight) if weight is not None else 1.0
        except ValueError:
            w = 1.0
        loras.append((match.group(1).strip(), w))
        return ""

    clean = LORA_TAG.sub(_take, prompt)
    if not loras:
        return prompt, []
    clean = re.sub(r"[ \t]{2,}", " ", clean).strip(" \t,")
    return clean, loras


def lora_tag(name: str, weight: float) -> str:
    return f"<lora:{name}:{_format_number(weight)}>"


def model_display_name(name: str) -> str:
    """WebUI shows checkpoint names without folder and extension."""
    name = name.rsplit("/", 1)[-1]
    for ext in (".safetensors", ".ckpt", ".pth", ".pt", ".bin"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def build_infotext(
    prompt: str,
    negative_prompt: str,
    params: dict[str, Any],
) -> str:
    """Infotext from a prompt, a negative prompt and ordered params (None values skipped)."""
    lines = [prompt]
    if negative_prompt:
        lines.append(f"{NEGATIVE} {negative_prompt}")
    lines.append(_key_values(params))
    return "\n".join(lines)


def _key_values(params: dict[str, Any]) -> str:
    """The WebUI's "Key: value, …" line: None values skipped, floats as it prints them."""
    items = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = _format_number(value)
        items.append(f"{key}: {_quote(value)}")
    return ", ".join(items)


def infotext_for(
    spec: Any, seed: int, *, version: str | None = None, batch_pos: int | None = None, extra: dict | None = None
) -> str:
    """Infotext of one image generated from a txt2img/img2img spec with `seed`.

    `extra` carries what the job learnt while loading: {"embeddings": {name: short hash}}.
    """
    prompt = spec.prompt
    _, in_prompt = extract_lora_tags(prompt)
    named = {name for name, _ in in_prompt}
    tags = [
        lora_tag(model_display_name(lora.name), lora.weight)
        for lora in spec.loras
        if model_display_name(lora.name) not in named
    ]
    if tags:
        prompt = " ".join([prompt, *tags]) if prompt else " ".join(tags)
    img2img = hasattr(spec, "init_image")
    params: dict[str, Any] = {
        "Steps": spec.steps,
        "Sampler": SCHEDULERS[spec.scheduler],
        "CFG scale": float(spec.cfg_scale),
        "Seed": seed,
        "Size": f"{spec.width}x{spec.height}",
        "Model": model_display_name(spec.model),
        "VAE": spec.vae.rsplit("/", 1)[-1] if spec.vae else None,
        "Denoising strength": spec.denoising_strength if img2img or spec.enable_hr else None,
        "Clip skip": spec.clip_skip if spec.clip_skip > 1 else None,
        "Batch size": spec.batch_size if spec.batch_size > 1 else None,
        "Batch pos": batch_pos if spec.batch_size > 1 else None,
    }
    params |= parity_params(spec, extra or {})
    params["Version"] = version
    return build_infotext(prompt, spec.negative_prompt, params)


def _controlnet_unit_text(unit: Any) -> str:
    """One ControlNet unit the way the WebUI ControlNet extension writes it (a quoted list)."""
    pairs = {
        "Module": unit.module,
        "Model": model_display_name(unit.model),
        "Weight": _format_number(unit.weight),
        "Resize Mode": "Crop and Resize",
        "Threshold A": _format_number(unit.threshold_a) if unit.module == "canny" else None,
        "Threshold B": _format_number(unit.threshold_b) if unit.module == "canny" else None,
        "Guidance Start": _format_number(unit.guidance_start),
        "Guidance End": _format_number(unit.guidance_end),
    }
    return ", ".join(f"{k}: {v}" for k, v in pairs.items() if v is not None)


def parity_params(spec: Any, extra: dict) -> dict[str, Any]:
    """Infotext of the WebUI-parity fields, keys and formats as the WebUI writes them."""
    params: dict[str, Any] = {}
    if getattr(spec, "mask", None):
        params["Mask blur"] = spec.mask_blur
        if spec.inpaint_full_res:
            params["Inpaint area"] = "Only masked"
            params["Masked area padding"] = spec.inpaint_full_res_padding
        if spec.inpainting_mask_invert:
            params["Mask mode"] = "Inpaint not masked"
        if spec.inpainting_fill != 1:
            params["Masked content"] = INPAINTING_FILL[spec.inpainting_fill]
    if spec.enable_hr:
        if spec.hr_resize_x or spec.hr_resize_y:
            params["Hires resize"] = "x".join(map(str, spec.hires_size(spec.width, spec.height)))
        else:
            params["Hires upscale"] = float(spec.hr_scale)
        params["Hires steps"] = spec.hr_second_pass_steps or None
        upscaler = spec.hr_upscaler
        params["Hires upscaler"] = model_display_name(upscaler) if is_model_upscaler(upscaler) else upscaler
    if spec.refiner_checkpoint:
        params["Refiner"] = model_display_name(spec.refiner_checkpoint)
        params["Refiner switch at"] = float(spec.refiner_switch_at)
    for i, unit in enumerate(spec.controlnet):
        params[f"ControlNet {i}"] = _controlnet_unit_text(unit)
    hashes = extra.get("embeddings") or {}
    if hashes:
        params["TI hashes"] = ", ".join(f"{name}: {digest}" for name, digest in hashes.items())
    return params


def _split_pairs(text: str) -> dict[str, str]:
    return {k.strip(): _unquote(v) for k, v in _PARAM.findall(text)}


def parse_infotext(text: str) -> dict[str, Any]:
    """Parse infotext into {"prompt", "negative_prompt", "params": {key: str}}."""
    lines = text.strip("\n").split("\n")
    params: dict[str, str] = {}
    last = lines[-1] if lines else ""
    found = _PARAM.findall(last)
    # Like the WebUI: the last line is the params line only if it holds 3+ pairs.
    if len(found) >= 3:
        lines = lines[:-1]
        params = {k.strip(): _unquote(v) for k, v in found}
    prompt_lines: list[str] = []
    negative_lines: list[str] = []
    in_negative = False
    for line in lines:
        if line.startswith(NEGATIVE):
            in_negative = True
            line = line[len(NEGATIVE) :].lstrip()
        (negative_lines if in_negative else prompt_lines).append(line)
    return {"prompt": "\n".join(prompt_lines), "negative_prompt": "\n".join(negative_lines), "params": params}


def spec_fields(text: str) -> dict[str, Any]:
    """Spec fields (txt2img/img2img) recovered from infotext; unknown params dropped."""
    parsed = parse_infotext(text)
    params = parsed["params"]
    prompt, loras = extract_lora_tags(parsed["prompt"])
    out: dict[str, Any] = {"prompt": prompt, "negative_prompt": parsed["negative_prompt"]}
    if loras:
        out["loras"] = [{"name": n, "weight": w} for n, w in loras]
    by_display = {v.lower(): k for k, v in SCHEDULERS.items()}
    conv = {
        "Steps": ("steps", int),
        "CFG scale": ("cfg_scale", float),
        "Seed": ("seed", int),
        "Model": ("model", str),
        "VAE": ("vae", str),
        "Denoising strength": ("denoising_strength", float),
        "Clip skip": ("clip_skip", int),
        "Batch size": ("batch_size", int),
        "Hires upscale": ("hr_scale", float),
        "Hires steps": ("hr_second_pass_steps", int),
        "Hires upscaler": ("hr_upscaler", str),
        "Refiner switch at": ("refiner_switch_at", float),
        "Mask blur": ("mask_blur", int),
        "Masked area padding": ("inpaint_full_res_padding", int),
    }
    for key, (field, cast) in conv.items():
        if key in params:
            out[field] = cast(params[key])
    out |= parity_fields(params)
    if "Sampler" in params:
        sampler = params["Sampler"]
        if params.get("Schedule type", "").lower() == "karras":
            sampler += " Karras"
        out["scheduler"] = by_display.get(sampler.lower(), sampler)
    if "Size" in params:
        w, _, h = params["Size"].partition("x")
        out["width"], out["height"] = int(w), int(h)
    return out


def parity_fields(params: dict[str, str]) -> dict[str, Any]:
    """Spec fields of the WebUI-parity keys that need more than a cast."""
    out: dict[str, Any] = {}
    if any(k in params for k in ("Hires upscale", "Hires resize", "Hires upscaler")):
        out["enable_hr"] = True
    if "Hires resize" in params:
        x, _, y = params["Hires resize"].partition("x")
        out["hr_resize_x"], out["hr_resize_y"] = int(x), int(y)
    if "Refiner" in params:
        out["refiner_checkpoint"] = params["Refiner"].split(" [", 1)[0]
    if params.get("Inpaint area") == "Only masked":
        out["inpaint_full_res"] = True
    if params.get("Mask mode") == "Inpaint not masked":
        out["inpainting_mask_invert"] = 1
    if params.get("Masked content") in INPAINTING_FILL:
        out["inpainting_fill"] = INPAINTING_FILL.index(params["Masked content"])
    units = []
    for i in range(8):
        text = params.get(f"ControlNet {i}")
        if text is None:
            break
        pairs = _split_pairs(text)
        unit: dict[str, Any] = {"module": pairs.get("Module", "none"), "model": pairs.get("Model", "")}
        for key, field in (
            ("Weight", "weight"),
            ("Guidance Start", "guidance_start"),
            ("Guidance End", "guidance_end"),
        ):
            if key in pairs:
                unit[field] = float(pairs[key])
        for key, field in (("Threshold A", "threshold_a"), ("Threshold B", "threshold_b")):
            if key in pairs:
                unit[field] = float(pairs[key])
        units.append(unit)
    if units:
        out["controlnet"] = units  # the control images are not in infotext; the caller supplies them
    if "TI hashes" in params:
        out["embeddings"] = [pair.split(":", 1)[0].strip() for pair in params["TI hashes"].split(",") if pair.strip()]
    return out


def postprocessing_infotext(info: dict[str, Any]) -> str:
    """The `postprocessing` chunk the WebUI's extras tab writes: "Key: value, …"."""
    return _key_values(info)


def read_png_infotext(path) -> str | None:
    from PIL import Image

    with Image.open(path) as img:
        return img.info.get(CHUNK)


def png_info(infotext: str | None, postprocessing: str | None = None):
    """A PngInfo carrying `infotext` in the `parameters` chunk (and the extras' `postprocessing` one)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if infotext:
        info.add_text(CHUNK, infotext)
    if postprocessing:
        info.add_text(POSTPROCESSING_CHUNK, postprocessing)
    return info
