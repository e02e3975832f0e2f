"""A tiny SDXL refiner checkpoint in the original sgm layout.

sd-mecha publishes no refiner list, so this one is made differently from the others:
random diffusers models built from the shipped refiner config (shrunk), written out
by sdaws' exporter. Converting it back is then checked against diffusers'
from_single_file, whose own sgm mapping is independent of ours.
"""

from __future__ import annotations

import json
from pathlib import Path


def build_refiner(folder: Path, single_file: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    from sdaws_jobs.convert.configs import configs_root, shipped
    from sdaws_jobs.convert.export import export_pipeline

    torch.manual_seed(0)
    unet_cfg = dict(
        shipped("sdxl-refiner", "unet"),
        block_out_channels=[32, 64, 96, 96],
        attention_head_dim=[1, 2, 3, 3],
        cross_attention_dim=64,
        projection_class_embeddings_input_dim=64 + 5 * 256,
        transformer_layers_per_block=2,
    )
    vae_cfg = dict(shipped("sdxl-refiner", "vae"), block_out_channels=[32, 64, 64, 64])
    te_cfg = dict(
        shipped("sdxl-refiner", "text_encoder_2"),
        hidden_size=64,
        intermediate_size=256,
        num_attention_heads=2,
        num_hidden_layers=4,
        projection_dim=64,
    )
    folder.mkdir(parents=True)
    UNet2DConditionModel.from_config(unet_cfg).save_pretrained(folder / "unet")
    AutoencoderKL.from_config(vae_cfg).save_pretrained(folder / "vae")
    CLIPTextModelWithProjection(CLIPTextConfig(**te_cfg)).save_pretrained(folder / "text_encoder_2")
    index = json.loads((configs_root() / "sdxl-refiner" / "model_index.json").read_text())
    (folder / "model_index.json").write_text(json.dumps(index))
    export_pipeline(folder, single_file)
