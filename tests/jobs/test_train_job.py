"""A few-step LoRA training on the tiny model: kohya file, samples, and a real effect."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.support.jobrun import make_workdir, run_job

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dataset")
    rng = np.random.default_rng(0)
    for i, caption in enumerate(["a blue square", "a red circle", None]):
        Image.fromarray(rng.integers(0, 255, (48, 40, 3), dtype=np.uint8)).save(folder / f"img{i}.png")
        if caption:
            (folder / f"img{i}.txt").write_text(caption)
    return folder


@pytest.fixture(scope="module")
def trained(tiny_sd, dataset, tmp_path_factory):
    spec = {
        "base_model": "tiny-sd",
        "dataset": "g1",
        "rank": 4,
        "alpha": 2,
        "learning_rate": 1e-2,
        "steps": 4,
        "resolution": 32,
        "batch_size": 2,
        "seed": 5,
        "sample_every": 2,
        "sample_steps": 2,
        "sample_prompts": ["a square"],
        "train_text_encoder": True,
        "default_caption": "a thing",
        "output_name": "tiny-style",
    }
    workdir = make_workdir(tmp_path_factory.mktemp("train"), spec, {"model": [tiny_sd], "dataset": [dataset]})
    return workdir, run_job("train", workdir)


def test_training_reports_progress_samples_and_a_kohya_lora(trained):
    workdir, result = trained
    assert result.code == 0, result.stderr[-3000:]
    steps = [e for e in result.events if e["event"] == "progress" and e["total"] == 4]
    assert steps[-1]["step"] == 4 and steps[-1]["message"].startswith("loss ")
    assert [o["name"] for o in result.outputs("samples")] == ["step-000002-0.png", "step-000004-0.png"]
    [lora] = result.outputs("Lora")
    assert lora["file"] == "Lora/tiny-style.safetensors"
    from safetensors.torch import load_file

    weights = load_file(str(workdir / "output" / lora["file"]))
    unet_keys = [k for k in weights if k.startswith("lora_unet_")]
    assert "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.lora_down.weight" in weights
    assert any(k.startswith("lora_te_text_model_encoder_layers_") for k in weights)
    assert all(k.endswith((".lora_down.weight", ".lora_up.weight", ".alpha")) for k in weights)
    assert len(unet_keys) % 3 == 0
    assert weights["lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q.alpha"].item() == 2.0


def _tiny_pipe(tiny_sd):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_sd), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _image(pipe):
    import torch

    return pipe(
        "a blue square",
        num_inference_steps=2,
        width=32,
        height=32,
        output_type="np",
        generator=torch.Generator().manual_seed(0),
    ).images[0]


def test_diffusers_load_lora_weights_accepts_the_unet_lora_and_it_changes_the_output(trained, tiny_sd, tmp_path):
    from safetensors.torch import load_file, save_file

    workdir, result = trained
    assert result.code == 0, result.stderr[-3000:]
    # diffusers 0.39's own loader cannot place kohya text-encoder weights under
    # transformers 5 (see sdaws_jobs.lora_loading), so it gets the UNet part here.
    weights = load_file(str(workdir / "output" / "Lora" / "tiny-style.safetensors"))
    save_file({k: v for k, v in weights.items() if k.startswith("lora_unet_")}, str(tmp_path / "unet-only.safetensors"))
    pipe = _tiny_pipe(tiny_sd)
    before = _image(pipe)
    pipe.load_lora_weights(str(tmp_path), weight_name="unet-only.safetensors")
    assert np.abs(_image(pipe) - before).max() > 1e-3


def test_generation_loader_applies_the_full_lora_at_its_weight(trained, tiny_sd):
    from sdaws_jobs.pipelines import apply_loras

    workdir, result = trained
    assert result.code == 0, result.stderr[-3000:]
    path = workdir / "output" / "Lora" / "tiny-style.safetensors"
    pipe = _tiny_pipe(tiny_sd)
    before = _image(pipe)
    apply_loras(pipe, [(path, 1.0)])
    assert pipe.text_encoder.peft_config  # the text-encoder half was loaded too
    full = _image(pipe)
    pipe.set_adapters(["lora0"], adapter_weights=[0.0])
    assert np.abs(full - before).max() > 1e-3
    np.testing.assert_allclose(_image(pipe), before, atol=1e-5)


def test_txt2img_job_with_the_trained_lora_and_a_vae_folder(trained, tiny_sd, tmp_path):
    from sdaws_jobs.pngmeta import read_png_infotext, spec_fields

    workdir, result = trained
    assert result.code == 0, result.stderr[-3000:]
    vae = tmp_path / "tiny-vae"
    vae.symlink_to(tiny_sd / "vae", target_is_directory=True)
    spec = {
        "prompt": "a blue square",
        "model": "tiny-sd",
        "steps": 2,
        "width": 32,
        "height": 32,
        "seed": 1,
        "loras": [{"name": "Lora/tiny-style.safetensors", "weight": 0.8}],
        "vae": "VAE/tiny-vae",
    }
    channels = {"model": [tiny_sd], "lora": [workdir / "output" / "Lora" / "tiny-style.safetensors"], "vae": [vae]}
    job = run_job("txt2img", make_workdir(tmp_path / "job", spec, channels))
    assert job.code == 0, job.stderr[-3000:]
    [out] = job.outputs("images")
    fields = spec_fields(read_png_infotext(tmp_path / "job" / "output" / out["file"]))
    assert fields["loras"] == [{"name": "tiny-style", "weight": 0.8}] and fields["vae"] == "tiny-vae"


def test_dreambooth_fine_tunes_the_unet_into_a_single_file_checkpoint(tiny_sd, dataset, tmp_path):
    from safetensors import safe_open

    spec = {
        "base_model": "tiny-sd",
        "kind": "dreambooth",
        "learning_rate": 1e-3,
        "steps": 2,
        "resolution": 32,
        "seed": 1,
        "output_name": "tiny-db",
    }
    result = run_job("train", make_workdir(tmp_path, spec, {"model": [tiny_sd], "dataset": [dataset]}))
    assert result.code == 0, result.stderr[-3000:]
    [out] = result.outputs("Stable-diffusion")
    assert out["file"] == "Stable-diffusion/tiny-db.safetensors"
    with safe_open(str(tmp_path / "output" / out["file"]), "pt") as f:
        keys = list(f.keys())
    assert any(k.startswith("model.diffusion_model.") for k in keys)
    assert any(k.startswith("first_stage_model.") for k in keys)


def test_base_model_as_a_hugging_face_repo_id_from_the_cache(tiny_sd, dataset, tmp_path):
    """`org/name` with an empty model channel resolves through the HF cache (HF_HOME), offline."""
    import shutil

    repo = tmp_path / "hf" / "hub" / "models--someone--tiny-sd"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_sd, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    spec = {"base_model": "someone/tiny-sd", "rank": 2, "steps": 1, "resolution": 32, "seed": 1, "output_name": "hub"}
    workdir = make_workdir(tmp_path / "job", spec, {"dataset": [dataset]})
    result = run_job("train", workdir, env={"HF_HOME": str(tmp_path / "hf")})
    assert result.code == 0, result.stderr[-3000:]
    assert [o["name"] for o in result.outputs("Lora")] == ["hub.safetensors"]
