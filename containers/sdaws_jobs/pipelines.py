"""Loading a Stable Diffusion pipeline (SD1/SD2/SDXL) with scheduler, VAE and LoRAs.

A single-file checkpoint is converted by the conversion engine (safe loading: no
pickle code runs) into a diffusers folder once, kept in the converted-model cache
(model_cache.py) and reused by every later job on the same file, then loaded like any
diffusers folder. Hub models go through the Hugging Face cache (HF_HOME honoured).
Nothing here reaches the network unless the reference is a repo id.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from . import progress
from .errors import SpecError
from .model_ref import ModelRef
from .runtime import Runtime

_SCHEDULERS = {
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "euler": ("EulerDiscreteScheduler", {}),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}),
    "dpmpp_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "ddim": ("DDIMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "unipc": ("UniPCMultistepScheduler", {}),
}


def hf_token() -> str | None:
    # HF_API_TOKEN is the name users of the original extension were told to set.
    return os.environ.get("HF_TOKEN") or os.environ.get("HF_API_TOKEN") or None


_HOW = {
    "converted": "converted once; later jobs on this file reuse the conversion",
    "cache": "reusing its cached conversion",
    "tree": "reusing its conversion in the tree's diffusers/",
}


@contextlib.contextmanager
def model_folder(ref: ModelRef, scratch: Path, half: bool = False, cache=None) -> Iterator[Path]:
    """A diffusers folder for `ref` while the block runs: as is, the cached conversion of a
    single file (converted now on a miss; not evicted while the block runs), or the HF cache.
    `cache` defaults to the job's (model_cache.job_model_cache)."""
    if ref.kind != "single_file":
        yield local_model_dir(ref, scratch, half)
        return
    from .model_cache import job_model_cache

    cache = cache or job_model_cache()
    with cache.converted(ref.path, half=half) as hit:
        # Users (and the tests) see whether this job paid for a conversion.
        progress.message(f"{ref.path.name}: {_HOW[hit.how]}")
        yield hit.folder


def local_model_dir(ref: ModelRef, scratch: Path, half: bool = False) -> Path:
    """A diffusers folder for a diffusers or hub `ref` (single files: model_folder)."""
    if ref.kind == "diffusers":
        return ref.path
    if ref.kind == "single_file":
        raise ValueError("a single-file checkpoint goes through model_folder (the converted-model cache)")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    patterns = [f"{ref.subfolder}/*"] if ref.subfolder else None
    try:
        root = Path(snapshot_download(ref.location, token=hf_token(), allow_patterns=patterns))
    except (LocalEntryNotFoundError, OfflineModeIsEnabled):
        # Offline (or no network) and not in the HF cache: one line, not the hub's page of text.
        raise SpecError(
            f"{ref.location}: cannot reach the Hugging Face hub; is HF_HUB_OFFLINE set or the model cached?"
        ) from None
    path = root / ref.subfolder if ref.subfolder else root
    if not (path / "model_index.json").is_file():
        raise SpecError(f"{ref.location} ({ref.subfolder or 'root'}) is not a diffusers pipeline")
    return path


def load_text2image(model_dir: Path, runtime: Runtime, image2image: bool = False):
    """The txt2img pipeline class the folder's model_index.json names (SD or SDXL); with
    `image2image` its img2img twin, loaded as such (an SDXL refiner keeps its aesthetic-score config)."""
    from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

    extra = {}
    index = json.loads((model_dir / "model_index.json").read_text(encoding="utf-8"))
    if "safety_checker" in index:
        # The WebUI has no safety checker; users expect the same images here.
        extra = {"safety_checker": None, "requires_safety_checker": False}
    auto = AutoPipelineForImage2Image if image2image else AutoPipelineForText2Image
    return auto.from_pretrained(str(model_dir), torch_dtype=runtime.dtype, local_files_only=True, **extra)


def as_image2image(pipe):
    """The img2img twin of a txt2img pipeline, sharing its modules (no copy)."""
    from diffusers import AutoPipelineForImage2Image

    return AutoPipelineForImage2Image.from_pipe(pipe)


def set_scheduler(pipe, name: str) -> None:
    import diffusers

    cls_name, options = _SCHEDULERS[name]
    pipe.scheduler = getattr(diffusers, cls_name).from_config(pipe.scheduler.config, **options)


def load_vae(path: Path, model_dir: Path, runtime: Runtime):
    """A VAE from a diffusers folder or a single file (WebUI's VAE/ folder), configured like the base."""
    from diffusers import AutoencoderKL

    if path.is_dir():
        return AutoencoderKL.from_pretrained(str(path), torch_dtype=runtime.dtype, local_files_only=True)
    if path.suffix.lower() == ".safetensors":
        source = str(path)
    else:
        from .convert import load_checkpoint  # safe unpickler: refuses anything but tensors

        source = load_checkpoint(path)
    return AutoencoderKL.from_single_file(
        source, config=str(model_dir), subfolder="vae", torch_dtype=runtime.dtype, local_files_only=True
    )


def apply_loras(pipe, loras: list[tuple[Path, float]]) -> None:
    """Load each LoRA (kohya or diffusers format) as its own adapter at its weight."""
    from .lora_loading import load_lora

    names, weights = [], []
    for i, (path, weight) in enumerate(loras):
        if path.suffix.lower() != ".safetensors":
            raise SpecError(f"LoRA {path.name!r}: only .safetensors LoRAs are loaded (pickles could run code)")
        name = f"lora{i}"
        try:
            load_lora(pipe, path, name)
        except (ValueError, KeyError, IndexError) as exc:
            raise SpecError(f"LoRA {path.name!r} does not fit this model: {exc}") from exc
        names.append(name)
        weights.append(weight)
    if names:
        pipe.set_adapters(names, adapter_weights=weights)
