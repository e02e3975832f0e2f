"""Random-weight models the benchmarks measure on, built offline from the shipped configs.

Nothing here proves a format is right (the tests do that from independent sources);
these only give the benchmarks real sizes and real architectures to work on.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "containers" / "sdaws_jobs" / "configs"


def build_sd15_folder(folder: Path) -> None:
    """SD1.5 architecture, random weights, from the shipped (offline) configs."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    sd1 = CONFIGS / "sd1"
    read = lambda part: json.loads((sd1 / part / "config.json").read_text())  # noqa: E731
    pipe = StableDiffusionPipeline(
        unet=UNet2DConditionModel.from_config(read("unet")),
        vae=AutoencoderKL.from_config(read("vae")),
        text_encoder=CLIPTextModel(CLIPTextConfig(**read("text_encoder"))),
        tokenizer=CLIPTokenizer(
            str(CONFIGS / "tokenizer" / "vocab.json"),
            str(CONFIGS / "tokenizer" / "merges.txt"),
            model_max_length=77,
            pad_token="<|endoftext|>",
        ),
        scheduler=DDIMScheduler.from_config(json.loads((sd1 / "scheduler" / "scheduler_config.json").read_text())),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)


def build_tiny_folder(folder: Path) -> None:
    """The first-run demo's tiny SD1 model (random weights), as a diffusers folder."""
    from sdaws_jobs.demo_model import build_pipeline

    build_pipeline().save_pretrained(str(folder), safe_serialization=True)


def build_sd15_checkpoint(path: Path, scratch: Path) -> None:
    """An SD1.5-size single-file checkpoint (fp16, original layout): the folder above, exported."""
    from sdaws_jobs.convert import export_pipeline

    folder = scratch / "sd15-folder"
    build_sd15_folder(folder)
    export_pipeline(folder, path, half=True)


# Weight files of a diffusers folder, by component (the names diffusers and transformers save).
_WEIGHTS = {
    "unet": "diffusion_pytorch_model.safetensors",
    "vae": "diffusion_pytorch_model.safetensors",
    "text_encoder": "model.safetensors",
    "text_encoder_2": "model.safetensors",
}
_POOL_VALUES = 1 << 24  # 32 MiB of fp16 noise that every tensor draws its bytes from


def _meta_model(component: str, cfg: dict):
    """The component's module on torch's meta device: its names and shapes, no memory."""
    import torch

    with torch.device("meta"):
        if component == "unet":
            from diffusers import UNet2DConditionModel

            return UNet2DConditionModel.from_config(cfg)
        if component == "vae":
            from diffusers import AutoencoderKL

            return AutoencoderKL.from_config(cfg)
        from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

        cls = CLIPTextModelWithProjection if "WithProjection" in cfg["architectures"][0] else CLIPTextModel
        return cls(CLIPTextConfig(**cfg))


def _write_random_weights(path: Path, shapes: dict[str, tuple[int, ...]], seed: int) -> None:
    """fp16 random weights (N(0, 0.02), drawn from a shared pool), one tensor at a time."""
    import torch

    from sdaws_jobs.convert.st_io import OutEntry, write_file

    gen = torch.Generator().manual_seed(seed)
    pool = (torch.randn(_POOL_VALUES, generator=gen) * 0.02).half().view(torch.uint8).numpy().tobytes()

    def produce(out, nbytes: int, start: int) -> None:
        view = memoryview(pool)
        while nbytes:
            chunk = view[start : start + nbytes]
            out.write(chunk)
            nbytes -= len(chunk)
            start = 0

    entries = []
    for i, (name, shape) in enumerate(sorted(shapes.items())):
        nbytes = 2 * math.prod(shape)
        start = (i * 7919 * 2) % len(pool)

        def make(out, nbytes=nbytes, start=start):
            produce(out, nbytes, start)

        entries.append(OutEntry(name, "F16", tuple(shape), make, i))
    write_file(path, entries)


def build_random_folder(arch: str, folder: Path) -> None:
    """A full-size diffusers folder of `arch` (e.g. "sdxl") with random fp16 weights, from the
    shipped configs, built tensor by tensor: an SDXL-size model without SDXL-size memory."""
    from sdaws_jobs.convert.convert import _write_tokenizers

    shipped = CONFIGS / arch
    folder.mkdir(parents=True)
    shutil.copyfile(shipped / "model_index.json", folder / "model_index.json")
    shutil.copytree(shipped / "scheduler", folder / "scheduler")
    _write_tokenizers(folder, arch)
    for seed, component in enumerate(c for c in _WEIGHTS if (shipped / c / "config.json").is_file()):
        cfg = json.loads((shipped / component / "config.json").read_text())
        (folder / component).mkdir()
        (folder / component / "config.json").write_text(json.dumps(cfg, indent=2))
        model = _meta_model(component, cfg)
        shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        _write_random_weights(folder / component / _WEIGHTS[component], shapes, seed)


def build_random_checkpoint(arch: str, path: Path, scratch: Path) -> None:
    """A full-size single-file checkpoint of `arch` (fp16, original layout): the folder above, exported."""
    from sdaws_jobs.convert import export_pipeline

    folder = scratch / f"{arch}-folder"
    build_random_folder(arch, folder)
    export_pipeline(folder, path, half=True)
    shutil.rmtree(folder)
