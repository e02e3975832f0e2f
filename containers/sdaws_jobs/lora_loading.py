"""Loading kohya/diffusers LoRAs into a pipeline, text-encoder parts included.

diffusers converts kohya names to `text_encoder.text_model.encoder...`, but
transformers 5 dropped the `text_model` wrapper of CLIPTextModel, so its own
`load_lora_weights` finds no text-encoder modules and fails (IndexError) on every
kohya LoRA that trains the text encoder — most LoRAs users download. We load the
state dict with diffusers, rename those keys to the modules that exist, and hand
the parts to diffusers' own per-component loaders.
"""

from __future__ import annotations

from pathlib import Path

TEXT_ENCODERS = ("text_encoder", "text_encoder_2")


def _rename(mapping: dict | None, pipe) -> dict | None:
    if not mapping:
        return mapping
    out = dict(mapping)
    for prefix in TEXT_ENCODERS:
        encoder = pipe.get(prefix) if isinstance(pipe, dict) else getattr(pipe, prefix, None)
        if encoder is None or hasattr(encoder, "text_model"):
            continue
        old = f"{prefix}.text_model."
        out = {(f"{prefix}." + k[len(old) :] if k.startswith(old) else k): v for k, v in out.items()}
    return out


def rename_text_encoder_keys(state: dict, holder) -> dict:
    """`state` with text-encoder keys renamed to the modules `holder` (a pipeline or a dict of parts) has."""
    return _rename(state, holder) or {}


def load_lora(pipe, path: Path, adapter_name: str) -> None:
    # unet_config lets diffusers map kohya SDXL names (the original input_blocks_4_1_… paths)
    # to diffusers blocks, as its own load_lora_weights does.
    state, alphas = pipe.lora_state_dict(str(path.parent), weight_name=path.name, unet_config=pipe.unet.config)
    state, alphas = _rename(state, pipe), _rename(alphas, pipe)
    if any(k.startswith("unet.") for k in state):
        pipe.load_lora_into_unet(
            state, network_alphas=alphas, unet=pipe.unet, adapter_name=adapter_name, _pipeline=pipe
        )
    for prefix in TEXT_ENCODERS:
        encoder = getattr(pipe, prefix, None)
        if encoder is not None and any(k.startswith(prefix + ".") for k in state):
            pipe.load_lora_into_text_encoder(
                state,
                network_alphas=alphas,
                text_encoder=encoder,
                prefix=prefix,
                lora_scale=pipe.lora_scale,
                adapter_name=adapter_name,
                _pipeline=pipe,
            )
