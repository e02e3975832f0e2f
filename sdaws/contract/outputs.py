"""Where each job kind's results land: the job writes them there, the launchers upload
and register them from there, and the API refuses an output name that is taken.

Under the job's output folder (and, for named results, in the model tree):
    merge, export   Stable-diffusion/<file>
    convert         diffusers/<output_name>/           (a diffusers folder)
    train           Lora/<file> (LoRA) or Stable-diffusion/<file> (DreamBooth)
    txt2img/img2img images/<index>-<seed>.png          (stays with the job)
    live previews   previews/<index>-step-<n>.png      (stays with the job; written while it runs)
    upscale         images/<index>-<source stem>.png   (stays with the job)
    train samples   samples/step-<n>-<i>.png           (stays with the job)
    train, every N  Lora/<stem>-step<n>.safetensors    (intermediate checkpoints, beside the result)
where <file> is `result_file_name(output_name)`.

What stays with the job is kept under `job-outputs/<job id>/<type>/<name>` by the local
server and `jobs/<job id>/output/<type>/<name>` in the AWS bucket; either key can name a
job's image as the input of another job (an upscale of a txt2img result, say).
"""

from __future__ import annotations

import re
from typing import Any

from .model_tree import CONVERTED_PREFIX, REQUIRED_TYPE, strip_model_extension

IMAGES_FOLDER = "images"
SAMPLES_FOLDER = "samples"
PREVIEWS_FOLDER = "previews"
LOCAL_JOB_OUTPUTS_PREFIX = "job-outputs"
AWS_JOBS_PREFIX = "jobs"
_JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
LORA_FOLDER = "Lora"
RESULT_EXTENSION = ".safetensors"
# Kinds whose results are images that stay with the job (under images/, see above).
IMAGE_KINDS = ("txt2img", "img2img", "upscale")
# Kinds whose result is one named model in the tree, and the folder it lands in.
_NAMED_RESULT_FOLDER = {"merge": REQUIRED_TYPE, "export": REQUIRED_TYPE, "convert": CONVERTED_PREFIX}


def result_file_name(output_name: str) -> str:
    """`x`, `x.safetensors` and `x.ckpt` all name the file `x.safetensors`: users type any
    of them, and every result is written as safetensors."""
    return strip_model_extension(output_name) + RESULT_EXTENSION


def result_folder(kind: str, spec: dict[str, Any]) -> str | None:
    """The tree folder of the kind's named result; None for kinds that only make images."""
    if kind == "train":
        return REQUIRED_TYPE if spec.get("kind") == "dreambooth" else LORA_FOLDER
    return _NAMED_RESULT_FOLDER.get(kind)


def result_name(kind: str, spec: dict[str, Any]) -> str | None:
    """The name the result has inside its folder: a file name, or the converted folder's name."""
    output_name = spec.get("output_name")
    if not output_name or result_folder(kind, spec) is None:
        return None
    return output_name if kind == "convert" else result_file_name(output_name)


def result_key(kind: str, spec: dict[str, Any]) -> str | None:
    """`Lora/cat.safetensors`, `diffusers/cat`: the tree key of the result, or None."""
    folder, name = result_folder(kind, spec), result_name(kind, spec)
    return f"{folder}/{name}" if folder and name else None


def result_marker_key(kind: str, spec: dict[str, Any]) -> str | None:
    """The key whose presence means the result exists (a converted folder's model_index.json)."""
    key = result_key(kind, spec)
    if key is not None and kind == "convert":
        return f"{key}/model_index.json"
    return key


def is_job_output_key(key: str) -> bool:
    """Whether `key` has the form of a job's kept output (either world's), e.g. an image."""
    if not isinstance(key, str):
        return False
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == LOCAL_JOB_OUTPUTS_PREFIX:
        job_id, rest = parts[1], parts[2:]
    elif len(parts) == 5 and parts[0] == AWS_JOBS_PREFIX and parts[2] == "output":
        job_id, rest = parts[1], parts[3:]
    else:
        return False
    return bool(_JOB_ID.match(job_id)) and all(p and p not in (".", "..") and "\\" not in p for p in rest)


def intermediate_file_name(output_name: str, step: int) -> str:
    """`cat` at step 10 -> `cat-step00000010.safetensors`: sorts by step, never clashes with the result."""
    return f"{strip_model_extension(output_name)}-step{step:08d}{RESULT_EXTENSION}"
