"""The train job: LoRA (peft adapters on the UNet, optionally the text encoder) or
DreamBooth (the whole UNet) on an SD1/SD2 base model and a captioned dataset.

Outputs: a LoRA in kohya format at output/Lora/<name>.safetensors (what the WebUI
loads), or for DreamBooth a single-file checkpoint at
output/Stable-diffusion/<name>.safetensors; sample images at
output/samples/step-<n>-<i>.png every `sample_every` steps. The latent distribution
of each image (and its caption embedding, unless the text encoder trains) is
computed once, so a step costs one UNet forward and backward.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

from sdaws.contract.outputs import SAMPLES_FOLDER
from sdaws.contract.specs import MAX_SEED, TrainSpec

from . import progress
from .dataset import find_examples, load_pixels
from .errors import SpecError
from .layout import Layout
from .model_ref import find_model

UNET_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]


def _components(model_dir: Path, runtime, spec: TrainSpec):
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    index = json.loads((model_dir / "model_index.json").read_text(encoding="utf-8"))
    if "text_encoder_2" in index:
        raise SpecError("training supports SD1.x and SD2.x base models; this one is SDXL")
    frozen = runtime.dtype  # fp16 on CUDA for what does not train: half the memory
    load = dict(local_files_only=True)
    unet_dtype = torch.float32 if spec.kind == "dreambooth" else frozen
    text_dtype = torch.float32 if spec.train_text_encoder else frozen
    return dict(
        tokenizer=CLIPTokenizer.from_pretrained(str(model_dir), subfolder="tokenizer", **load),
        text_encoder=CLIPTextModel.from_pretrained(
            str(model_dir), subfolder="text_encoder", torch_dtype=text_dtype, **load
        ),
        vae=AutoencoderKL.from_pretrained(str(model_dir), subfolder="vae", torch_dtype=frozen, **load),
        unet=UNet2DConditionModel.from_pretrained(str(model_dir), subfolder="unet", torch_dtype=unet_dtype, **load),
        noise=DDPMScheduler.from_pretrained(str(model_dir), subfolder="scheduler", **load),
    )


def _add_adapters(parts, spec: TrainSpec) -> list:
    """Make the trainable part trainable; returns its parameters (fp32)."""
    import torch
    from peft import LoraConfig

    for name in ("vae", "text_encoder", "unet"):
        parts[name].requires_grad_(False)
    if spec.kind == "dreambooth":
        parts["unet"].requires_grad_(True)
        return list(parts["unet"].parameters())
    config = dict(r=spec.rank, lora_alpha=spec.alpha, init_lora_weights="gaussian")
    parts["unet"].add_adapter(LoraConfig(target_modules=UNET_TARGETS, **config))
    modules = [parts["unet"]]
    if spec.train_text_encoder:
        parts["text_encoder"].add_adapter(LoraConfig(target_modules=TEXT_TARGETS, **config))
        modules.append(parts["text_encoder"])
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.to(torch.float32)  # adapters learn in fp32 even on a fp16 base
    return params


def _encode_text(parts, captions: list[str], device):
    ids = parts["tokenizer"](
        captions,
        padding="max_length",
        truncation=True,
        max_length=parts["tokenizer"].model_max_length,
        return_tensors="pt",
    ).input_ids
    return parts["text_encoder"](ids.to(device))[0]


def _write_samples(parts, spec: TrainSpec, layout: Layout, step: int, prompts: list[str], runtime) -> None:
    import torch
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionPipeline

    from .runtime import generators

    pipe = StableDiffusionPipeline(
        vae=parts["vae"],
        text_encoder=parts["text_encoder"],
        tokenizer=parts["tokenizer"],
        unet=parts["unet"],
        scheduler=EulerAncestralDiscreteScheduler.from_config(parts["noise"].config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    with torch.no_grad(), _autocast(runtime):
        for i, prompt in enumerate(prompts):
            image = pipe(
                prompt,
                num_inference_steps=spec.sample_steps,
                width=spec.resolution,
                height=spec.resolution,
                generator=generators([spec.seed if spec.seed >= 0 else 0]),
            ).images[0]
            name = f"step-{step:06d}-{i}.png"
            target = layout.output_path(SAMPLES_FOLDER, name)
            image.save(target)
            progress.output(layout.relative(target), SAMPLES_FOLDER, name, step=step)


def _autocast(runtime):
    import contextlib

    import torch

    return torch.autocast("cuda", dtype=torch.float16) if runtime.cuda else contextlib.nullcontext()


def _save(parts, spec: TrainSpec, layout: Layout, scratch: Path) -> None:
    from . import convert

    if spec.kind == "dreambooth":
        from diffusers import StableDiffusionPipeline

        folder = scratch / "dreambooth"
        StableDiffusionPipeline(
            vae=parts["vae"],
            text_encoder=parts["text_encoder"],
            tokenizer=parts["tokenizer"],
            unet=parts["unet"],
            scheduler=parts["noise"],
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        ).save_pretrained(str(folder), safe_serialization=True)
        target, folder_name, name = layout.result_path("train", spec.model_dump())
        convert.export_pipeline(folder, target)
    else:
        from peft.utils import get_peft_model_state_dict

        state = {f"unet.{k}": v for k, v in get_peft_model_state_dict(parts["unet"]).items()}
        if spec.train_text_encoder:
            state |= {f"text_encoder.{k}": v for k, v in get_peft_model_state_dict(parts["text_encoder"]).items()}
        target, folder_name, name = layout.result_path("train", spec.model_dump())
        convert.export_lora({k: v.detach().float().cpu() for k, v in state.items()}, target, alpha=spec.alpha)
    progress.output(layout.relative(target), folder_name, name)


def run(spec: TrainSpec, layout: Layout, kind: str) -> None:
    import torch
    import torch.nn.functional as F

    from .pipelines import local_model_dir
    from .runtime import pick_runtime

    examples = find_examples(layout.channel("dataset"), spec.default_caption)
    seed = spec.seed if spec.seed >= 0 else random.SystemRandom().randint(0, MAX_SEED)
    spec = spec.model_copy(update={"seed": seed})
    progress.message(f"{len(examples)} training images, seed {seed}")
    runtime = pick_runtime(None)
    device = runtime.device
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    with tempfile.TemporaryDirectory(prefix="sdaws-train-") as scratch:
        ref = find_model(layout.channel("model"), spec.base_model)
        progress.message(f"loading base model {spec.base_model}")
        parts = _components(local_model_dir(ref, Path(scratch)), runtime, spec)
        for name in ("vae", "text_encoder", "unet"):
            parts[name].to(device)
        params = _add_adapters(parts, spec)
        optimizer = torch.optim.AdamW(params, lr=spec.learning_rate)
        noise_sched = parts["noise"]
        scaling = parts["vae"].config.scaling_factor
        captions = [e.caption for e in examples]
        with torch.no_grad():
            pixels = torch.stack([load_pixels(e, spec.resolution) for e in examples]).to(device, runtime.dtype)
            dist = parts["vae"].encode(pixels).latent_dist
            means, stds = dist.mean.float().cpu(), dist.std.float().cpu()
            cached_text = None if spec.train_text_encoder else _encode_text(parts, captions, device).float().cpu()
        prompts = spec.sample_prompts or captions[:1]
        parts["unet"].train()
        bar = progress.Progress(spec.steps)
        for step in range(1, spec.steps + 1):
            idx = torch.randint(len(examples), (spec.batch_size,), generator=gen)
            latents = (means[idx] + stds[idx] * torch.randn(means[idx].shape, generator=gen)) * scaling
            noise = torch.randn(latents.shape, generator=gen)
            t = torch.randint(0, noise_sched.config.num_train_timesteps, (spec.batch_size,), generator=gen)
            noisy = noise_sched.add_noise(latents, noise, t)
            if noise_sched.config.prediction_type == "v_prediction":
                target = noise_sched.get_velocity(latents, noise, t)
            else:
                target = noise
            with _autocast(runtime):
                text = (
                    _encode_text(parts, [captions[i] for i in idx], device)
                    if cached_text is None
                    else cached_text[idx].to(device)
                )
                pred = parts["unet"](noisy.to(device, runtime.dtype), t.to(device), text.to(runtime.dtype)).sample
            loss = F.mse_loss(pred.float(), target.to(device))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            bar.advance(message=f"loss {loss.item():.4f}")
            if spec.sample_every and (step % spec.sample_every == 0 or step == spec.steps):
                parts["unet"].eval()
                _write_samples(parts, spec, layout, step, prompts, runtime)
                parts["unet"].train()
        progress.message("saving")
        _save(parts, spec, layout, Path(scratch))
