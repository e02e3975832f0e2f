"""ControlNet single files: the 1.1 `.pth` layout (no prefix, a pickle) reads like the safetensors one."""

from __future__ import annotations

import pytest

from tests.support.env import need, torch_available

pytestmark = pytest.mark.torch


def test_pth_without_prefix_and_safetensors_load_the_same_weights(tmp_path):
    need(torch_available(), "torch and diffusers are needed")
    import torch
    from safetensors.torch import load_file

    from sdaws_jobs.controlnet import load_controlnet
    from tests.support.parity_models import random_controlnet, webui_controlnet_file
    from tests.support.tiny_models import build_pipeline

    unet = build_pipeline(vae_levels=4).unet
    model = random_controlnet(unet)
    single = webui_controlnet_file(model, tmp_path / "control.safetensors")
    unprefixed = {k.removeprefix("control_model."): v for k, v in load_file(str(single)).items()}
    torch.save({"state_dict": unprefixed}, str(tmp_path / "control_v11p.pth"))
    expected = model.state_dict()
    for path in (single, tmp_path / "control_v11p.pth"):
        loaded = load_controlnet(path, unet, torch.float32).state_dict()
        assert set(loaded) == set(expected) and all(torch.equal(loaded[k], expected[k]) for k in expected)


def test_canny_preprocessor_gives_edges_at_the_generation_size():
    need(torch_available(), "torch and diffusers are needed")
    import numpy as np
    from PIL import Image, ImageDraw

    from sdaws.contract.specs import ControlNetUnit
    from sdaws_jobs.controlnet import preprocess

    image = Image.new("RGB", (100, 50), "black")
    ImageDraw.Draw(image).rectangle((40, 10, 60, 40), fill="white")
    unit = ControlNetUnit(model="m.safetensors", image="i.png", module="canny")
    edges = np.asarray(preprocess(unit, image, 64, 32))
    assert edges.shape == (32, 64, 3) and set(np.unique(edges)) <= {0, 255} and edges.max() == 255
    assert edges[16, 32].max() == 0  # inside the filled rectangle: no edge
