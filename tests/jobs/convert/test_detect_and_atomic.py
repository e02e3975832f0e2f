"""Detection from keys and shapes, and conversions that fail leave nothing behind."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.torch


@pytest.mark.parametrize(
    "arch, expected",
    [
        ("sd1", ("sd1", "epsilon", 512, False)),
        ("sd1-inpaint", ("sd1-inpaint", "epsilon", 512, False)),
        ("sd2-768", ("sd2-768", "v_prediction", 768, True)),
        ("sd2-inpaint", ("sd2-inpaint", "epsilon", 512, False)),
        ("sdxl", ("sdxl", "epsilon", 1024, False)),
        ("sdxl-refiner", ("sdxl-refiner", "epsilon", 1024, False)),
    ],
)
def test_detects_architecture_from_the_file(arch, expected, checkpoint_file):
    from sdaws_jobs.convert import detect

    found = detect(checkpoint_file(arch))
    assert (found.arch, found.prediction_type, found.image_size, found.upcast_attention) == expected
    assert found.reasons
    assert bool(found.defaults_taken) == (arch == "sd2-768")  # only SD2 needs a default
    assert found.as_dict()["arch"] == expected[0]


def test_sd2_file_name_hint_and_state_dict_input(checkpoint_file, tmp_path):
    import shutil

    from safetensors.torch import load_file

    from sdaws_jobs.convert import detect

    named = tmp_path / "v2-1_512-ema-pruned.safetensors"
    shutil.copyfile(checkpoint_file("sd2-768"), named)
    found = detect(named)
    assert found.arch == "sd2-512" and not found.defaults_taken
    assert detect(load_file(str(checkpoint_file("sd1")))).arch == "sd1"


def test_failed_conversion_leaves_no_output(checkpoint_file, tmp_path):
    from sdaws_jobs.convert import convert_checkpoint

    calls = []

    def interrupt(done, total, name):
        calls.append(done)
        if done == 300:
            raise KeyboardInterrupt

    out = tmp_path / "model"
    with pytest.raises(KeyboardInterrupt):
        convert_checkpoint(checkpoint_file("sd1"), out, progress=interrupt)
    assert calls[-1] == 300
    assert list(tmp_path.iterdir()) == []


def test_ema_weights_are_chosen_on_request(tmp_path, layouts_available):
    import torch
    from safetensors.torch import load_file, save_file

    from sdaws_jobs.convert import ConvertError, convert_checkpoint
    from sdaws_jobs.convert.plan import ema_key
    from tests.support.checkpoint_layouts import sd1

    sd = sd1(seed=5)
    unet_keys = [k for k in sd if k.startswith("model.diffusion_model.")]
    for k in unet_keys:
        sd[ema_key(k)] = sd[k] + 1.0
    src = tmp_path / "ema.safetensors"
    save_file(sd, str(src))
    convert_checkpoint(src, tmp_path / "plain")
    convert_checkpoint(src, tmp_path / "ema", ema=True)
    plain = load_file(str(tmp_path / "plain" / "unet" / "diffusion_pytorch_model.safetensors"))
    ema = load_file(str(tmp_path / "ema" / "unet" / "diffusion_pytorch_model.safetensors"))
    assert torch.equal(plain["conv_in.weight"], sd["model.diffusion_model.input_blocks.0.0.weight"])
    assert torch.equal(ema["conv_in.weight"], sd["model.diffusion_model.input_blocks.0.0.weight"] + 1.0)
    with pytest.raises(ConvertError, match="no model_ema"):
        plain_src = tmp_path / "noema.safetensors"
        save_file(sd1(seed=6), str(plain_src))
        convert_checkpoint(plain_src, tmp_path / "x", ema=True)
    assert not (tmp_path / "x").exists()


def test_ckpt_input_converts_like_safetensors(checkpoint_file, tmp_path):
    import torch
    from safetensors.torch import load_file

    from sdaws_jobs.convert import convert_checkpoint

    sd = load_file(str(checkpoint_file("sd1")))
    ckpt = tmp_path / "model.ckpt"
    torch.save({"global_step": 1, "state_dict": sd}, ckpt)
    summary = convert_checkpoint(ckpt, tmp_path / "out", half=True)
    assert summary["arch"] == "sd1"
    got = load_file(str(tmp_path / "out" / "vae" / "diffusion_pytorch_model.safetensors"))
    want = sd["first_stage_model.decoder.conv_in.weight"].half()
    assert torch.equal(got["decoder.conv_in.weight"], want)
