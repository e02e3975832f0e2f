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

from sdaws.contract.specs import SCHEDULERS

CHUNK = "parameters"
NEGATIVE = "Negative prompt:"

# key: value pairs of the last line. A value is a JSON string or runs to the next comma.
_PARAM = re.compile(r'\s*([A-Za-z][\w \-/]*?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
_LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]+))?(?::[^>]*)?>")


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

    clean = _LORA_TAG.sub(_take, prompt)
    if not loras:
        return prompt, []
    clean = re.sub(r"[ \t]{2,}", " ", clean).strip(" \t,")
    return clean, loras


def lora_tag(name: str, weight: float) -> str:
    return f"<lora:{name}:{_format_number(weight)}>"


def model_display_name(name: str) -> str:
    """WebUI shows checkpoint names without folder and extension."""
    name = name.rsplit("/", 1)[-1]
    for ext in (".safetensors", ".ckpt", ".pt", ".bin"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def build_infotext(
    prompt: str,
    negative_prompt: str,
    params: dict[str, Any],
) -> str:
    """Infotext from a prompt, a negative prompt and ordered params (None values skipped)."""
    items = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = _format_number(value)
        items.append(f"{key}: {_quote(value)}")
    lines = [prompt]
    if negative_prompt:
        lines.append(f"{NEGATIVE} {negative_prompt}")
    lines.append(", ".join(items))
    return "\n".join(lines)


def infotext_for(spec: Any, seed: int, *, version: str | None = None, batch_pos: int | None = None) -> str:
    """Infotext of one image generated from a txt2img/img2img spec with `seed`."""
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
    params: dict[str, Any] = {
        "Steps": spec.steps,
        "Sampler": SCHEDULERS[spec.scheduler],
        "CFG scale": float(spec.cfg_scale),
        "Seed": seed,
        "Size": f"{spec.width}x{spec.height}",
        "Model": model_display_name(spec.model),
        "VAE": spec.vae.rsplit("/", 1)[-1] if spec.vae else None,
        "Denoising strength": getattr(spec, "denoising_strength", None),
        "Clip skip": spec.clip_skip if spec.clip_skip > 1 else None,
        "Batch size": spec.batch_size if spec.batch_size > 1 else None,
        "Batch pos": batch_pos if spec.batch_size > 1 else None,
        "Version": version,
    }
    return build_infotext(prompt, spec.negative_prompt, params)


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
    }
    for key, (field, cast) in conv.items():
        if key in params:
            out[field] = cast(params[key])
    if "Sampler" in params:
        sampler = params["Sampler"]
        if params.get("Schedule type", "").lower() == "karras":
            sampler += " Karras"
        out["scheduler"] = by_display.get(sampler.lower(), sampler)
    if "Size" in params:
        w, _, h = params["Size"].partition("x")
        out["width"], out["height"] = int(w), int(h)
    return out


def read_png_infotext(path) -> str | None:
    from PIL import Image

    with Image.open(path) as img:
        return img.info.get(CHUNK)


def png_info(infotext: str):
    """A PngInfo carrying `infotext` in the `parameters` chunk (tEXt, iTXt if not latin-1)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(CHUNK, infotext)
    return info
