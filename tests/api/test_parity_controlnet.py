"""ControlNet units from ControlNet/ (WebUI single file and diffusers folder), through the local server's API."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest

from sam_app.adapters.local.job_runner import job_command
from tests.support.env import need, torch_available
from tests.support.parity import downloads, pixels, png_bytes, run, submit, upload_input

pytestmark = [pytest.mark.torch, pytest.mark.slow]

SIZE = 64  # the tiny model has SD's 8x latent factor here, as ControlNet's hint encoder needs
BASE = {"prompt": "a house", "steps": 2, "seed": 21, "width": SIZE, "height": SIZE, "model": "diffusers/tiny8"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    need(torch_available(), "torch and diffusers are needed for generation jobs")
    from tests.support.parity_models import random_controlnet, webui_controlnet_file
    from tests.support.tiny_models import build_pipeline

    root = tmp_path_factory.mktemp("built")
    pipe = build_pipeline(vae_levels=4)
    pipe.save_pretrained(str(root / "tiny8"), safe_serialization=True)
    model = random_controlnet(pipe.unet)
    webui_controlnet_file(model, root / "control_tiny.safetensors")
    model.save_pretrained(str(root / "control_tiny_diffusers"), safe_serialization=True)
    return root


@pytest.fixture
def api(start_server, models_dir, built):
    shutil.copytree(built / "tiny8", models_dir / "diffusers" / "tiny8")
    (models_dir / "ControlNet").mkdir()
    shutil.copy2(built / "control_tiny.safetensors", models_dir / "ControlNet")
    shutil.copytree(built / "control_tiny_diffusers", models_dir / "ControlNet" / "control_tiny_diffusers")
    return start_server(job_command=job_command)[1]


def _control_images(api) -> tuple[str, str]:
    from PIL import Image, ImageDraw

    square = Image.new("RGB", (SIZE, SIZE), "black")
    ImageDraw.Draw(square).rectangle((16, 16, 47, 47), outline="white", width=3)
    circle = Image.new("RGB", (SIZE, SIZE), "black")
    ImageDraw.Draw(circle).ellipse((8, 8, 55, 55), fill="white")
    return (
        upload_input(api, "square.png", png_bytes(square), group="control"),
        upload_input(api, "circle.png", png_bytes(circle), group="control"),
    )


def _image(api, params: dict) -> tuple[np.ndarray, bytes]:
    (png,) = downloads(api, run(api, "txt2img", params))
    return pixels(png), png


def test_the_control_image_changes_the_output_and_both_model_layouts_agree(api):
    from sdaws_jobs.pngmeta import parse_infotext, read_png_infotext, spec_fields

    square, circle = _control_images(api)
    unit = {"model": "ControlNet/control_tiny.safetensors", "image": square, "module": "none", "weight": 1.0}
    plain, _ = _image(api, BASE)
    with_square, png = _image(api, BASE | {"controlnet": [unit]})
    with_circle, _ = _image(api, BASE | {"controlnet": [unit | {"image": circle}]})
    assert np.abs(with_square - plain).max() > 0
    assert np.abs(with_square - with_circle).max() > 0
    # The same weights as a diffusers folder give the same pixels: the single file was read exactly.
    from_folder, _ = _image(api, BASE | {"controlnet": [unit | {"model": "control_tiny_diffusers"}]})
    assert np.array_equal(from_folder, with_square)
    params = parse_infotext(read_png_infotext(io.BytesIO(png)))["params"]
    assert params["ControlNet 0"].startswith("Module: none, Model: control_tiny, Weight: 1")
    assert spec_fields(read_png_infotext(io.BytesIO(png)))["controlnet"][0]["model"] == "control_tiny"


def test_canny_two_units_and_guidance_window(api):
    from sdaws_jobs.pngmeta import parse_infotext, read_png_infotext

    square, circle = _control_images(api)
    unit = {"model": "control_tiny.safetensors", "image": circle}
    raw, _ = _image(api, BASE | {"controlnet": [unit]})
    canny, png = _image(api, BASE | {"controlnet": [unit | {"module": "canny", "threshold_a": 50, "threshold_b": 150}]})
    assert np.abs(raw - canny).max() > 0  # edges, not the filled circle, steer the model
    assert (
        "Threshold A: 50, Threshold B: 150"
        in parse_infotext(read_png_infotext(io.BytesIO(png)))["params"]["ControlNet 0"]
    )
    two = [unit | {"weight": 0.5}, {"model": "control_tiny.safetensors", "image": square, "guidance_end": 0.5}]
    both, png = _image(api, BASE | {"controlnet": two})
    assert np.abs(both - raw).max() > 0
    values = parse_infotext(read_png_infotext(io.BytesIO(png)))["params"]
    assert "Weight: 0.5" in values["ControlNet 0"] and "Guidance End: 0.5" in values["ControlNet 1"]


def test_bad_units_are_refused_before_anything_runs(api):
    square, _ = _control_images(api)
    unit = {"model": "ControlNet/nothere.safetensors", "image": square}
    answer = submit(api, "txt2img", BASE | {"controlnet": [unit]})
    assert answer.status_code == 400 and "ControlNet/nothere.safetensors is not in the model tree" in answer.text
    answer = submit(
        api,
        "txt2img",
        BASE
        | {"controlnet": [unit | {"model": "control_tiny.safetensors", "guidance_start": 0.9, "guidance_end": 0.1}]},
    )
    assert answer.status_code == 422 and "guidance_start must be below guidance_end" in answer.text
    answer = submit(
        api, "txt2img", BASE | {"controlnet": [unit | {"model": "control_tiny.safetensors", "module": "depth"}]}
    )
    assert answer.status_code == 422 and "module" in answer.text


def test_a_lora_tag_stacks_with_controlnet_and_hires_fix(api, models_dir):
    import torch
    from safetensors.torch import save_file

    from sdaws_jobs.pngmeta import read_png_infotext, spec_fields

    gen = torch.Generator().manual_seed(4)
    module = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_v"  # kohya's SD1 naming
    lora = {
        f"{module}.lora_down.weight": torch.randn(2, 16, generator=gen),
        f"{module}.lora_up.weight": torch.randn(16, 2, generator=gen) * 4,
        f"{module}.alpha": torch.tensor(2.0),
    }
    (models_dir / "Lora").mkdir()
    save_file(lora, str(models_dir / "Lora" / "style.safetensors"))
    square, _ = _control_images(api)
    params = BASE | {
        "controlnet": [{"model": "control_tiny.safetensors", "image": square}],
        "enable_hr": True,
        "hr_scale": 1.5,
        "denoising_strength": 0.6,
    }
    without, _ = _image(api, params)
    with_lora, png = _image(api, params | {"prompt": "a house <lora:style:0.9>"})
    assert with_lora.shape == (96, 96, 3) and np.abs(with_lora - without).max() > 0
    fields = spec_fields(read_png_infotext(io.BytesIO(png)))
    assert fields["loras"] == [{"name": "style", "weight": 0.9}] and fields["enable_hr"] is True
    assert fields["controlnet"][0]["model"] == "control_tiny"
