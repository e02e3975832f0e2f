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
)
_FIELD_FLAGS = {name: f"--{name}" for name in FIELDS} | {"loras": "--lora", "kind": "--method", "prompt": "PROMPT"}

_IDENTIFIER = re.compile(
    r"(?<![\w-])(?:params\.)?(" + "|".join(re.escape(n) for n in sorted(IDENTIFIERS, key=len, reverse=True)) + r")"
    r"(?:\.\d+(?:\.\w+)?)?(?![\w-])"
)
_LEADING_FIELD = re.compile(r"(^|; )(?:params\.)?(" + "|".join(FIELDS) + r")(?:\.\d+(?:\.\w+)?)?:")


def in_cli_words(message: str) -> str:
    """``message`` with API field names replaced by the flags that set them."""
    message = _LEADING_FIELD.sub(lambda m: f"{m.group(1)}{_FIELD_FLAGS[m.group(2)]}:", message)
    return _IDENTIFIER.sub(lambda m: IDENTIFIERS[m.group(1)], message)
