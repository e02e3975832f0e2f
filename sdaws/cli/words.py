"""Messages in the CLI's words: the API and the specs name fields (`output_name`,
`overwrite=true`, `params.init_image: …`); a person at the shell typed flags."""

from __future__ import annotations

import re

# API words that cannot be mistaken for English: replaced wherever they appear.
IDENTIFIERS = {
    "overwrite=true": "--overwrite",
    "output_name": "--output",
    "negative_prompt": "--negative",
    "cfg_scale": "--cfg-scale",
    "batch_count": "--batch-count",
    "batch_size": "--batch-size",
    "init_image": "--init-image",
    "denoising_strength": "--strength",
    "base_model": "--model",
    "learning_rate": "--learning-rate",
    "sample_every": "--sample-every",
    "default_caption": "--caption",
    "enable_hr": "hires fix (--hires)",
    "hr_scale": "--hires-scale",
    "hr_resize_x": "--hires-resize",
    "hr_resize_y": "--hires-resize",
    "hr_second_pass_steps": "--hires-steps",
    "hr_upscaler": "--hires-upscaler",
    "refiner_checkpoint": "--refiner",
    "refiner_switch_at": "--refiner-switch",
    "preview_every": "--preview-every",
    "mask_blur": "--mask-blur",
    "inpainting_fill": "--inpaint-fill",
    "inpaint_full_res_padding": "--inpaint-padding",
    "upscaler_1": "--model",
    "upscaling_resize": "--scale",
    "tile_overlap": "--tile-overlap",
    "upscaler_2": "--model-2",
    "extras_upscaler_2_visibility": "--model-2-visibility",
    "gfpgan_model": "--face-restorer",
    "codeformer_model": "--face-restorer",
    "gfpgan_visibility": "--face-visibility",
    "codeformer_visibility": "--face-visibility",
    "codeformer_weight": "--codeformer-weight",
    "block_weights": "--block-weights",
    "sample_prompts": "--sample-prompt",
    "sample_steps": "--sample-steps",
    "min_bucket_reso": "--min-bucket-reso",
    "max_bucket_reso": "--max-bucket-reso",
    "bucket_reso_steps": "--bucket-reso-steps",
    "keep_tokens": "--keep-tokens",
    "save_every_n_steps": "--save-every-n-steps",
    "resume_from": "--resume-from",
    "model_a": "MODEL_A",
    "model_b": "MODEL_B",
    "model_c": "MODEL_C",
}
# Plain field names: replaced only where they lead a problem ("steps: …", "params.vae: …").
FIELDS = (
    "model",
    "prompt",
    "steps",
    "scheduler",
    "width",
    "height",
    "seed",
    "vae",
    "rank",
    "alpha",
    "resolution",
    "multiplier",
    "mode",
    "dataset",
    "kind",
    "half",
    "loras",
    "tile",
    "density",
    "image",
)
_FIELD_FLAGS = {name: f"--{name}" for name in FIELDS} | {"loras": "--lora", "kind": "--method", "prompt": "PROMPT"}

_IDENTIFIER = re.compile(
    r"(?<![\w-])(?:params\.)?(" + "|".join(re.escape(n) for n in sorted(IDENTIFIERS, key=len, reverse=True)) + r")"
    r"(?:\.\d+(?:\.\w+)?)?(?![\w-])"
)
_LEADING_FIELD = re.compile(r"(^|; )(?:params\.)?(" + "|".join(FIELDS) + r")(?:\.\d+(?:\.\w+)?)?:")


# A rule about several fields (pydantic's model validators) is reported under "value".
_MODEL_RULE = re.compile(r"(^|; )value: ")
# A ControlNet unit's field: `controlnet.0.weight` is the first --controlnet's WEIGHT.
_UNIT = re.compile(r"(?<![\w-])(?:params\.)?controlnet\.(\d+)(?:\.(\w+))?")


def in_cli_words(message: str) -> str:
    """``message`` with API field names replaced by the flags that set them."""
    message = _MODEL_RULE.sub(r"\1", message)
    message = _UNIT.sub(
        lambda m: f"--controlnet #{int(m.group(1)) + 1}" + (f" {m.group(2)}" if m.group(2) else ""), message
    )
    message = _LEADING_FIELD.sub(lambda m: f"{m.group(1)}{_FIELD_FLAGS[m.group(2)]}:", message)
    return _IDENTIFIER.sub(lambda m: IDENTIFIERS[m.group(1)], message)
