"""Model facts from files laid out as kohya, the WebUI and Civitai write them."""

from __future__ import annotations

import json

import pytest

from sdaws.contract.model_facts import (
    detect_family,
    detect_kind,
    family_from_civitai,
    fits,
    kohya_facts,
    trigger_tags,
)
from sdaws.contract.safetensors_header import metadata_of, read_file_header, tensor_shapes
from tests.support.catalog_files import (
    embedding_tensors,
    kohya_lora_tensors,
    kohya_metadata,
    published_shapes,
    vae_tensors,
    write_safetensors,
)


def _header(path):
    header = read_file_header(path)
    return tensor_shapes(header), metadata_of(header)


@pytest.mark.parametrize("base,family", [("sd1", "SD1"), ("sd2", "SD2"), ("sdxl", "SDXL")])
def test_lora_family_from_shapes(tmp_path, base, family):
    path = write_safetensors(tmp_path / f"{base}.safetensors", kohya_lora_tensors(base))
    shapes, _ = _header(path)
    guess = detect_family(shapes, path.name)
    assert guess.kind == "lora" and guess.family == family, guess.reasons


def test_text_encoder_only_sdxl_lora(tmp_path):
    tensors = {k: v for k, v in kohya_lora_tensors("sdxl").items() if k.startswith("lora_te")}
    shapes, _ = _header(write_safetensors(tmp_path / "te.safetensors", tensors))
    assert detect_family(shapes).family == "SDXL"


def test_diffusers_peft_lora_names(tmp_path):
    # diffusers' save_lora_weights: "unet.<module>.lora_A.weight" [rank, in]
    import numpy as np

    tensors = {
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": np.zeros(
            (4, 2048), np.float16
        ),
        "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight": np.zeros((640, 4), np.float16),
    }
    shapes, _ = _header(write_safetensors(tmp_path / "peft.safetensors", tensors))
    assert detect_family(shapes).as_dict() | {"reasons": []} == {
        "kind": "lora",
        "family": "SDXL",
        "families": ["SDXL"],
        "reasons": [],
    }


@pytest.mark.parametrize("family", ["SD1", "SD2", "SDXL"])
def test_embedding_family(tmp_path, family):
    shapes, _ = _header(write_safetensors(tmp_path / "e.safetensors", embedding_tensors(family)))
    guess = detect_family(shapes)
    assert guess.kind == "embedding" and guess.family == family


def test_vae_shapes_cannot_tell_sd1_from_sdxl_and_say_so(tmp_path):
    sd1 = _header(write_safetensors(tmp_path / "vae-ft-mse-840000.safetensors", vae_tensors("sd1-ldm")))[0]
    sdxl = _header(write_safetensors(tmp_path / "sdxl_vae.safetensors", vae_tensors("sdxl-sgm")))[0]
    assert {k: tuple(v) for k, v in sd1.items()} == {k: tuple(v) for k, v in sdxl.items()}
    plain = detect_family(sd1, "vae-ft-mse-840000.safetensors")
    assert plain.kind == "vae" and plain.family is None and "SDXL" in plain.families and "SD1" in plain.families
    assert "cannot say" in plain.reasons[0]
    named = detect_family(sdxl, "sdxl_vae.safetensors")
    assert named.families == ["SDXL", "SDXL-refiner"]
    flux = detect_family(_header(write_safetensors(tmp_path / "ae.safetensors", vae_tensors("sd1-ldm", latent=16)))[0])
    assert flux.families == ["SD3", "Flux"]


def test_checkpoints_keep_architecture_detection():
    shapes = {k: list(v) for k, v in published_shapes("sdxl-sgm").items()}
    guess = detect_family(shapes, "sd_xl_base_1.0.safetensors")
    assert guess.kind == "checkpoint" and guess.family == "SDXL"
    assert detect_kind({"foo": [3, 3, 3, 3, 3]}) == "unknown"


def test_kohya_metadata_as_sd_scripts_writes_it(tmp_path):
    meta = kohya_metadata("sd_v1", dim=16, alpha=8.0, resolution="512,768")
    path = write_safetensors(tmp_path / "sks.safetensors", kohya_lora_tensors("sd1"), meta)
    _, metadata = _header(path)
    facts = kohya_facts(metadata)
    assert facts.as_dict() == {
        "base_model_version": "sd_v1",
        "family": "SD1",
        "network_module": "networks.lora",
        "network_dim": 16,
        "network_alpha": 8.0,
        "resolution": [512, 768],
        "trigger_tags": [["sks cat", 40], ["orange fur", 30], ["sitting", 12]],
        "output_name": "sks_cat",
        "sd_model_name": "v1-5-pruned-emaonly.safetensors",
        "clip_skip": None,
        "num_train_images": 82,
        "training_started_at": 1726639674.9215708,
    }


@pytest.mark.parametrize(
    "version,v2,family",
    [("sdxl_base_v1-0", "False", "SDXL"), ("sd_v2_v", "True", "SD2"), ("", "True", "SD2"), ("", "False", "SD1")],
)
def test_base_version_names(version, v2, family):
    meta = {"ss_base_model_version": version, "ss_v2": v2, "ss_network_dim": "None"}
    if not version:
        meta.pop("ss_base_model_version")
    facts = kohya_facts(meta)
    assert facts.family == family and facts.network_dim is None


def test_modelspec_and_dataset_resolution():
    meta = {
        "modelspec.architecture": "stable-diffusion-xl-v1-base/lora",
        "ss_resolution": "None",
        "ss_datasets": json.dumps([{"resolution": [1024, 1024]}]),
    }
    facts = kohya_facts(meta)
    assert facts.family == "SDXL" and facts.resolution == [1024, 1024]
    assert kohya_facts({"format": "pt"}) is None


def test_sentence_captions_count_words_like_the_webui():
    freq = {"5_dog": {"a photo of a happy dog on grass": 3, "a photo of a dog sleeping on a sofa": 2}}
    tags = dict(map(tuple, trigger_tags(freq)))
    assert tags["photo"] == 5 and tags["dog"] == 5 and "of" not in tags and tags["sofa"] == 2


def test_fits_says_it_in_one_sentence():
    assert fits("lora", ["SDXL"], "SDXL").as_dict() == {"verdict": "fits", "message": "fits your SDXL checkpoint"}
    assert fits("lora", ["SDXL"], "SD1").message == "will not load on SD1: this LoRA is for SDXL"
    assert fits("vae", ["SD1", "SD2", "SDXL", "SDXL-refiner"], "SD1").verdict == "fits"
    assert fits("embedding", [], "SD1").verdict == "unknown"
    assert fits("lora", ["SD1"], None).verdict == "unknown"


@pytest.mark.parametrize(
    "base,family",
    [
        ("SD 1.5", "SD1"),
        ("SDXL 1.0", "SDXL"),
        ("Pony", "SDXL"),
        ("Illustrious", "SDXL"),
        ("SD 2.1 768", "SD2"),
        ("Flux.1 D", "Flux"),
        ("Other", None),
    ],
)
def test_civitai_base_models(base, family):
    assert family_from_civitai(base) == family
