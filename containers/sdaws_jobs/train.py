"""The train job: LoRA (peft adapters on the UNet, optionally the text encoder) or
DreamBooth (the whole UNet) on an SD1/SD2 base model, LoRA also on SDXL, from a captioned
dataset (dataset.py: captions, aspect-ratio buckets, caption shuffling).

Outputs: a LoRA in kohya format at output/Lora/<name>.safetensors (what the WebUI
loads), or for DreamBooth a single-file checkpoint at
output/Stable-diffusion/<name>.safetensors; every `save_every_n_steps` an intermediate
one beside it (<name>-step<n>.safetensors, announced as it is written); sample images
at output/samples/step-<n>-<i>.png every `sample_every` steps.

Every step draws its batch, noise and timesteps from a generator seeded with seed + step,
so a run resumed from a saved LoRA (`resume_from`, whose metadata records the step)
continues with the very draws the uninterrupted run would have made; the optimiser's
moments start afresh. The latent distribution of each image (and its caption embedding,
unless the text encoder trains or captions are shuffled) is computed once, so a step
costs one UNet forward and backward.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path

from sdaws.contract.import_spec import DESTINATION_ENV
from sdaws.contract.outputs import SAMPLES_FOLDER, intermediate_file_name
from sdaws.contract.specs import MAX_SEED, TrainSpec

from . import progress
from .dataset import assign_sizes, find_examples, load_pixels, shuffle_caption
from .errors import SpecError
from .layout import Layout
from .model_ref import find_file, find_model

UNET_TARGETS = ["to_k", "to_q", "to_v", "to_out.0"]
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]
STEP_KEY = "sdaws_train_step"


def _components(model_dir: Path, runtime, spec: TrainSpec):
    import torch
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    index = json.loads((model_dir / "model_index.json").read_text(encoding="utf-8"))
    sdxl = "text_encoder_2" in index
    if sdxl and spec.kind == "dreambooth":
        raise SpecError("DreamBooth trains SD1.x/SD2.x base models; for SDXL train a LoRA (kind lora)")
    if sdxl and spec.train_text_encoder:
        raise SpecError("train_text_encoder is for SD1.x/SD2.x; an SDXL LoRA trains the UNet")
    frozen = runtime.dtype  # fp16 on CUDA for what does not train: half the memory
    load = dict(local_files_only=True)
    unet_dtype = torch.float32 if spec.kind == "dreambooth" else frozen
    text_dtype = torch.float32 if spec.train_text_encoder else frozen
    parts = dict(
        sdxl=sdxl,
        tokenizer=CLIPTokenizer.from_pretrained(str(model_dir), subfolder="tokenizer", **load),
        text_encoder=CLIPTextModel.from_pretrained(
            str(model_dir), subfolder="text_encoder", torch_dtype=text_dtype, **load
        ),
        vae=AutoencoderKL.from_pretrained(str(model_dir), subfolder="vae", torch_dtype=frozen, **load),
        unet=UNet2DConditionModel.from_pretrained(str(model_dir), subfolder="unet", torch_dtype=unet_dtype, **load),
        noise=DDPMScheduler.from_pretrained(str(model_dir), subfolder="scheduler", **load),
    )
    if sdxl:
        parts["tokenizer_2"] = CLIPTokenizer.from_pretrained(str(model_dir), subfolder="tokenizer_2", **load)
        parts["text_encoder_2"] = CLIPTextModelWithProjection.from_pretrained(
            str(model_dir), subfolder="text_encoder_2", torch_dtype=frozen, **load
        )
    return parts


def _modules(parts) -> list[str]:
    return [n for n in ("vae", "text_encoder", "text_encoder_2", "unet") if n in parts]


def _add_adapters(parts, spec: TrainSpec) -> list:
    """Make the trainable part trainable; returns its parameters (fp32)."""
    import torch
    from peft import LoraConfig

    for name in _modules(parts):
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
    """(hidden states the UNet attends to, pooled embedding for SDXL's added conditioning or None)."""
    import torch

    def run(tokenizer, encoder):
        ids = tokenizer(
            captions, padding="max_length", truncation=True, max_length=tokenizer.model_max_length, return_tensors="pt"
        ).input_ids
        return encoder(ids.to(device), output_hidden_states=parts["sdxl"])

    first = run(parts["tokenizer"], parts["text_encoder"])
    if not parts["sdxl"]:
        return first[0], None
    second = run(parts["tokenizer_2"], parts["text_encoder_2"])
    # As SDXL's pipelines do: the penultimate layers of both encoders side by side, the second's projection pooled.
    return torch.cat([first.hidden_states[-2], second.hidden_states[-2]], dim=-1), second[0]


# The trained parts each pipeline is built from, by its constructor's argument names.
_SD1_PARTS = ("vae", "text_encoder", "tokenizer", "unet")
_SDXL_PARTS = (*_SD1_PARTS, "text_encoder_2", "tokenizer_2")


def _sample_pipeline(parts):
    from diffusers import EulerAncestralDiscreteScheduler, StableDiffusionXLPipeline

    scheduler = EulerAncestralDiscreteScheduler.from_config(parts["noise"].config)
    if parts["sdxl"]:
        return StableDiffusionXLPipeline(scheduler=scheduler, **{name: parts[name] for name in _SDXL_PARTS})
    return _sd1_pipeline(parts, scheduler)


def _sd1_pipeline(parts, scheduler):
    """An SD1/SD2 pipeline over the parts being trained (no safety checker: the WebUI has none)."""
    from diffusers import StableDiffusionPipeline

    return StableDiffusionPipeline(
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
        **{name: parts[name] for name in _SD1_PARTS},
    )


def _write_samples(parts, spec: TrainSpec, layout: Layout, step: int, prompts: list[str], runtime) -> None:
    import torch

    from .runtime import generators

    pipe = _sample_pipeline(parts)
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


def _save(parts, spec: TrainSpec, layout: Layout, scratch: Path, step: int, final: bool) -> None:
    """The result (final) or an intermediate checkpoint at `step`, announced once complete."""
    from . import convert

    target, folder_name, name = layout.result_path("train", spec.model_dump())
    if not final:
        name = intermediate_file_name(spec.output_name, step)
        target = layout.output_path(folder_name, name)
    if spec.kind == "dreambooth":
        folder = scratch / f"dreambooth-{step}"
        _sd1_pipeline(parts, parts["noise"]).save_pretrained(str(folder), safe_serialization=True)
        convert.export_pipeline(folder, target)
    else:
        from peft.utils import get_peft_model_state_dict

        state = {f"unet.{k}": v for k, v in get_peft_model_state_dict(parts["unet"]).items()}
        if spec.train_text_encoder:
            state |= {f"text_encoder.{k}": v for k, v in get_peft_model_state_dict(parts["text_encoder"]).items()}
        convert.export_lora(
            {k: v.detach().float().cpu() for k, v in state.items()},
            target,
            alpha=spec.alpha,
            sdxl=parts["sdxl"],
            unet_config=dict(parts["unet"].config) if parts["sdxl"] else None,
            metadata={STEP_KEY: str(step), "ss_steps": str(step), "ss_seed": str(spec.seed)},
            overwrite=not final,
        )
    if not final:
        _into_the_bucket(target, f"{folder_name}/{name}")
    progress.output(layout.relative(target), folder_name, name, step=step)


def _into_the_bucket(path: Path, key: str) -> None:
    """On SageMaker (the tree's bucket given): an intermediate checkpoint is put into the tree
    now, as the local runner moves it there, so a failed or stopped training can resume from
    it. Never over a model someone already has: then it stays with the job's output."""
    destination = (os.environ.get(DESTINATION_ENV) or "").strip()
    if not destination:
        return
    from botocore.exceptions import ClientError

    from .s3_staging import _client

    bucket = destination.removeprefix("s3://").split("/", 1)[0]
    if not destination.startswith("s3://") or not bucket:
        raise SpecError(f"{DESTINATION_ENV} must be s3://<bucket>, not {destination!r}")
    try:
        with open(path, "rb") as body:
            _client().put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
            raise
        progress.message(f"{key} already exists in the tree; this checkpoint stays with the job")


def _resume(parts, spec: TrainSpec, layout: Layout) -> int:
    """Load the saved LoRA into the adapters; returns the step it was saved at."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    from diffusers.utils import convert_unet_state_dict_to_peft
    from peft import set_peft_model_state_dict
    from safetensors import safe_open

    from .lora_loading import rename_text_encoder_keys

    if spec.kind != "lora":
        raise SpecError("resume_from continues a LoRA training; DreamBooth cannot resume from a LoRA")
    path = find_file(layout.channel("resume"), spec.resume_from.rsplit("/", 1)[-1], (".safetensors",), "LoRA")
    with safe_open(str(path), "pt") as f:
        step = (f.metadata() or {}).get(STEP_KEY)
    if step is None or not step.isdigit():
        raise SpecError(f"{path.name!r} was not saved by an sdaws training (no {STEP_KEY} in its metadata)")
    if int(step) >= spec.steps:
        raise SpecError(f"{path.name!r} is at step {step}; give more steps than that to continue")
    loader = StableDiffusionXLPipeline if parts["sdxl"] else StableDiffusionPipeline
    state, _ = loader.lora_state_dict(str(path.parent), weight_name=path.name, unet_config=parts["unet"].config)
    state = rename_text_encoder_keys(state, parts)
    for component, prefix in (("unet", "unet."), ("text_encoder", "text_encoder.")):
        own = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if not own:
            continue
        if component == "text_encoder" and not spec.train_text_encoder:
            raise SpecError(f"{path.name!r} trained the text encoder too; resume with train_text_encoder true")
        result = set_peft_model_state_dict(parts[component], convert_unet_state_dict_to_peft(own), "default")
        if getattr(result, "unexpected_keys", None):
            raise SpecError(f"{path.name!r} does not fit this training (rank or base model differ)")
    progress.message(f"resuming from step {step} ({path.name})")
    return int(step)


def _time_ids(sizes, device):
    import torch

    # SDXL's added conditioning: original size, crop offset (none: centre-cropped to the bucket), target size.
    return torch.tensor([[h, w, 0, 0, h, w] for w, h in sizes], dtype=torch.float32, device=device)


def run(spec: TrainSpec, layout: Layout, kind: str) -> None:
    import torch
    import torch.nn.functional as F

    from .pipelines import model_folder
    from .runtime import pick_runtime

    examples = find_examples(layout.channel("dataset"), spec.default_caption, spec.caption_extension)
    assign_sizes(examples, spec)
    seed = spec.seed if spec.seed >= 0 else random.SystemRandom().randint(0, MAX_SEED)
    spec = spec.model_copy(update={"seed": seed})
    buckets: dict[tuple[int, int], list[int]] = {}
    for i, example in enumerate(examples):
        buckets.setdefault(example.size, []).append(i)
    progress.message(f"{len(examples)} training images in {len(buckets)} bucket(s), seed {seed}")
    runtime = pick_runtime(None)
    device = runtime.device
    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory(prefix="sdaws-train-") as scratch:
        ref = find_model(layout.channel("model"), spec.base_model)
        progress.message(f"loading base model {spec.base_model}")
        with model_folder(ref, Path(scratch)) as model_dir:  # a single file: converted once, cached
            parts = _components(model_dir, runtime, spec)
        for name in _modules(parts):
            parts[name].to(device)
        params = _add_adapters(parts, spec)
        start = _resume(parts, spec, layout) + 1 if spec.resume_from else 1
        optimizer = torch.optim.AdamW(params, lr=spec.learning_rate)
        noise_sched = parts["noise"]
        scaling = parts["vae"].config.scaling_factor
        captions = [e.caption for e in examples]
        shuffling = spec.shuffle_caption
        with torch.no_grad():
            dists = []
            for example in examples:
                pixels = load_pixels(example, example.size).unsqueeze(0).to(device, runtime.dtype)
                dist = parts["vae"].encode(pixels).latent_dist
                dists.append((dist.mean.float().cpu(), dist.std.float().cpu()))
            cached = None
            if not spec.train_text_encoder and not shuffling:
                hidden, pooled = _encode_text(parts, captions, device)
                cached = (hidden.float().cpu(), None if pooled is None else pooled.float().cpu())
        prompts = spec.sample_prompts or captions[:1]
        bucket_keys = sorted(buckets)
        parts["unet"].train()
        bar = progress.Progress(spec.steps)
        bar.step = start - 1  # a resumed run counts on from where it stopped
        for step in range(start, spec.steps + 1):
            gen = torch.Generator().manual_seed(seed + step)
            # kohya draws each batch from one bucket: the latents of a batch share a size.
            size = bucket_keys[int(torch.randint(len(bucket_keys), (1,), generator=gen))]
            members = buckets[size]
            idx = [members[int(i)] for i in torch.randint(len(members), (spec.batch_size,), generator=gen)]
            means = torch.cat([dists[i][0] for i in idx])
            stds = torch.cat([dists[i][1] for i in idx])
            latents = (means + stds * torch.randn(means.shape, generator=gen)) * scaling
            noise = torch.randn(latents.shape, generator=gen)
            t = torch.randint(0, noise_sched.config.num_train_timesteps, (spec.batch_size,), generator=gen)
            noisy = noise_sched.add_noise(latents, noise, t)
            if noise_sched.config.prediction_type == "v_prediction":
                target = noise_sched.get_velocity(latents, noise, t)
            else:
                target = noise
            with _autocast(runtime):
                if cached is None:
                    rng = random.Random(seed + step)
                    texts = [
                        shuffle_caption(captions[i], spec.keep_tokens, rng) if shuffling else captions[i] for i in idx
                    ]
                    hidden, pooled = _encode_text(parts, texts, device)
                else:
                    hidden = cached[0][idx].to(device)
                    pooled = None if cached[1] is None else cached[1][idx].to(device)
                extra = {}
                if parts["sdxl"]:
                    extra["added_cond_kwargs"] = {
                        "text_embeds": pooled.to(runtime.dtype),
                        "time_ids": _time_ids([size] * spec.batch_size, device).to(runtime.dtype),
                    }
                pred = parts["unet"](
                    noisy.to(device, runtime.dtype), t.to(device), hidden.to(runtime.dtype), **extra
                ).sample
            loss = F.mse_loss(pred.float(), target.to(device))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            bar.advance(message=f"loss {loss.item():.4f}")
            if spec.save_every_n_steps and step % spec.save_every_n_steps == 0 and step < spec.steps:
                _save(parts, spec, layout, Path(scratch), step, final=False)
            if spec.sample_every and (step % spec.sample_every == 0 or step == spec.steps):
                parts["unet"].eval()
                _write_samples(parts, spec, layout, step, prompts, runtime)
                parts["unet"].train()
        progress.message("saving")
        _save(parts, spec, layout, Path(scratch), spec.steps, final=True)
