"""Job parameter builders shared by the TUI forms and the CLI.

The jobs API takes ``{"kind": ..., "params": {...}}``; these functions are the one
place that decides the params' shape, so the forms and ``sdaws generate`` cannot
drift apart. Each validates what a user typed and raises ValueError with a
sentence saying what to fix.
"""

from __future__ import annotations

import base64
from pathlib import Path

JOB_KINDS = ("txt2img", "img2img", "train", "merge", "convert", "export")
STATUSES = ("QUEUED", "STARTING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")
FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def _positive_int(value: str | int | None, field: str, default: int, low: int = 1, high: int = 10_000) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{field} must be between {low} and {high}")
    return number


def _float(value: str | float | None, field: str, default: float, low: float, high: float) -> float:
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a number, not {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{field} must be between {low} and {high}")
    return number


def _model(name: str, field: str = "model") -> str:
    name = (name or "").strip()
    if not name:
        raise ValueError(f"choose a {field}")
    return name


def generate_params(
    *,
    model: str,
    prompt: str,
    negative_prompt: str = "",
    steps: str | int | None = None,
    guidance_scale: str | float | None = None,
    width: str | int | None = None,
    height: str | int | None = None,
    seed: str | int | None = None,
    count: str | int | None = None,
    init_image: Path | None = None,
    strength: str | float | None = None,
) -> tuple[str, dict]:
    """``(kind, params)`` for txt2img, or img2img when ``init_image`` is given."""
    if not (prompt or "").strip():
        raise ValueError("write a prompt")
    params: dict = {
        "model": _model(model),
        "prompt": prompt.strip(),
        "negative_prompt": (negative_prompt or "").strip(),
        "steps": _positive_int(steps, "steps", 20, 1, 150),
        "guidance_scale": _float(guidance_scale, "guidance scale", 7.0, 0.0, 30.0),
        "width": _positive_int(width, "width", 512, 64, 2048),
        "height": _positive_int(height, "height", 512, 64, 2048),
        "num_images": _positive_int(count, "image count", 1, 1, 8),
    }
    if seed not in (None, ""):
        params["seed"] = _positive_int(seed, "seed", 0, 0, 2**32 - 1)
    for side in ("width", "height"):
        if params[side] % 8:
            raise ValueError(f"{side} must be a multiple of 8")
    if init_image is None:
        return "txt2img", params
    path = Path(init_image).expanduser()
    if not path.is_file():
        raise ValueError(f"init image {path} does not exist")
    params["init_image"] = base64.b64encode(path.read_bytes()).decode("ascii")
    params["init_image_name"] = path.name
    params["strength"] = _float(strength, "strength", 0.75, 0.0, 1.0)
    return "img2img", params


def train_params(
    *,
    base_model: str,
    dataset_dir: str,
    output_name: str,
    method: str = "lora",
    instance_prompt: str = "",
    steps: str | int | None = None,
    learning_rate: str | float | None = None,
    rank: str | int | None = None,
    resolution: str | int | None = None,
) -> dict:
    """Params for a LoRA / DreamBooth training job. ``dataset_dir`` is a local folder
    the caller uploads first (see ``dataset`` in the result); the server sees its key."""
    if method not in ("lora", "dreambooth"):
        raise ValueError("method must be lora or dreambooth")
    folder = Path(dataset_dir or "").expanduser()
    if not dataset_dir or not folder.is_dir():
        raise ValueError("choose a dataset folder that exists")
    images = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    if not images:
        raise ValueError(f"{folder} holds no .png/.jpg/.webp images")
    name = (output_name or "").strip()
    if not name:
        raise ValueError("name the trained model")
    return {
        "base_model": _model(base_model, "base model"),
        "method": method,
        "dataset_dir": str(folder.resolve()),
        "image_count": len(images),
        "instance_prompt": instance_prompt.strip(),
        "output_name": name,
        "max_train_steps": _positive_int(steps, "steps", 500, 1, 100_000),
        "learning_rate": _float(learning_rate, "learning rate", 1e-4, 1e-7, 1.0),
        "rank": _positive_int(rank, "rank", 4, 1, 256),
        "resolution": _positive_int(resolution, "resolution", 512, 64, 2048),
    }


def merge_params(
    *, model_a: str, model_b: str, ratio: str | float | None, output_name: str, model_c: str = "", method: str = "weighted_sum"
) -> dict:
    if method not in ("weighted_sum", "add_difference"):
        raise ValueError("method must be weighted_sum or add_difference")
    if method == "add_difference" and not model_c.strip():
        raise ValueError("add_difference needs a third model (C)")
    name = (output_name or "").strip()
    if not name:
        raise ValueError("name the merged model")
    params = {
        "model_a": _model(model_a, "model A"),
        "model_b": _model(model_b, "model B"),
        "ratio": _float(ratio, "ratio", 0.5, 0.0, 1.0),
        "method": method,
        "output_name": name,
    }
    if model_c.strip():
        params["model_c"] = model_c.strip()
    return params


def convert_params(*, model: str, output_name: str = "") -> dict:
    """Single-file checkpoint -> diffusers folder (the ckpt_cache short name)."""
    model = _model(model)
    stem = model.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return {"model": model, "output_name": (output_name or "").strip() or stem}
