"""LoRA export to kohya format: diffusers loads it and it acts like the peft adapter."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _unet_output(unet, seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, unet.config.in_channels, 8, 8, generator=g)
    ctx = torch.randn(1, 77, unet.config.cross_attention_dim, generator=g)
    with torch.no_grad():
        return unet(x, 10, ctx).sample


def test_kohya_lora_loads_in_diffusers_and_matches_the_peft_adapter(converted, tmp_path):
    import diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from sdaws_jobs.convert import export_lora

    folder = str(converted("sd1"))
    trained = diffusers.StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    trained.unet.add_adapter(
        LoraConfig(
            r=4,
            lora_alpha=8,
            init_lora_weights=False,
            target_modules=["to_q", "to_k", "to_v", "to_out.0", "proj_in", "conv1"],
        )
    )
    with_lora = _unet_output(trained.unet)
    state = {f"unet.{k}": v for k, v in get_peft_model_state_dict(trained.unet).items()}
    out = tmp_path / "my_lora.safetensors"
    summary = export_lora(state, out, alpha=8)
    assert summary["modules"] > 100 and not summary["sdxl"]

    from safetensors import safe_open

    with safe_open(str(out), "pt") as f:
        keys = set(f.keys())
        assert f.get_tensor("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha").item() == 8
    assert "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight" in keys
    assert "lora_unet_down_blocks_0_resnets_0_conv1.lora_up.weight" in keys

    fresh = diffusers.StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    base = _unet_output(fresh.unet)
    fresh.load_lora_weights(str(tmp_path), weight_name=out.name)
    loaded = _unet_output(fresh.unet)
    assert (loaded - base).abs().max() > 1e-3  # the LoRA changes the model
    assert (loaded - with_lora).abs().max() < 1e-4  # exactly as the adapter it came from


def test_sdxl_and_text_encoder_names_follow_kohya(tmp_path):
    import torch
    from safetensors import safe_open

    from sdaws_jobs.convert import export_lora

    down, up = torch.ones(4, 16), torch.zeros(16, 4)
    state = {
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight": down,
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight": up,
        "unet.up_blocks.0.resnets.2.conv1.lora.down.weight": down,
        "unet.up_blocks.0.resnets.2.conv1.lora.up.weight": up,
        "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight": down,
        "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight": up,
        "text_encoder_2.encoder.layers.3.mlp.fc1.lora_A.default.weight": down,
        "text_encoder_2.encoder.layers.3.mlp.fc1.lora_B.default.weight": up,
    }
    out = tmp_path / "xl.safetensors"
    assert export_lora(state, out)["sdxl"]
    with safe_open(str(out), "pt") as f:
        keys = set(f.keys())
    # SDXL kohya LoRAs name UNet modules by the original sgm paths.
    assert "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight" in keys
    assert "lora_unet_output_blocks_2_0_in_layers_2.lora_up.weight" in keys
    assert "lora_te1_text_model_encoder_layers_0_self_attn_q_proj.alpha" in keys
    assert "lora_te2_text_model_encoder_layers_3_mlp_fc1.lora_down.weight" in keys
