"""SDXL at WebUI parity through the local server's API: the refiner, SDXL embeddings, an SDXL
ControlNet in the WebUI single-file layout and SDXL LoRA training (tiny models, CPU)."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest

from sam_app.adapters.local.job_runner import job_command
from tests.support.env import need, torch_available
from tests.support.parity import downloads, log_events, pixels, png_bytes, run, upload_input

pytestmark = [pytest.mark.torch, pytest.mark.slow]

SIZE = 64
BASE = {"prompt": "a forest", "steps": 4, "seed": 8, "width": SIZE, "height": SIZE, "model": "diffusers/tiny-xl"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    need(torch_available(), "torch and diffusers are needed for generation jobs")
    from tests.support.parity_models import random_controlnet, webui_controlnet_file
    from tests.support.tiny_models import save_pipeline
    from tests.support.tiny_sdxl import build_refiner, build_sdxl, save

    root = tmp_path_factory.mktemp("built")
    base = build_sdxl()
    save(base, root / "tiny-xl")
    save(build_refiner(), root / "tiny-xl-refiner")
    save_pipeline(root / "tiny-sd1")
    webui_controlnet_file(random_controlnet(base.unet), root / "control_xl.safetensors")
    return root


@pytest.fixture
def api(start_server, models_dir, built):
    for name in ("tiny-xl", "tiny-xl-refiner", "tiny-sd1"):
        shutil.copytree(built / name, models_dir / "diffusers" / name)
    (models_dir / "ControlNet").mkdir()
    shutil.copy2(built / "control_xl.safetensors", models_dir / "ControlNet")
    return start_server(job_command=job_command)[1]


def test_refiner_takes_over_at_the_switch_and_an_sdxl_embedding_is_used(api, models_dir):
    import torch
    from safetensors.torch import save_file

    from sdaws_jobs.pngmeta import parse_infotext, read_png_infotext, spec_fields

    (models_dir / "embeddings").mkdir()
    gen = torch.Generator().manual_seed(0)
    save_file(
        {"clip_l": torch.randn(2, 32, generator=gen), "clip_g": torch.randn(2, 64, generator=gen)},
        str(models_dir / "embeddings" / "xlemb.safetensors"),
    )
    (plain,) = downloads(api, run(api, "txt2img", BASE))
    params = BASE | {"prompt": "a forest, xlemb", "refiner_checkpoint": "tiny-xl-refiner", "refiner_switch_at": 0.5}
    job = run(api, "txt2img", params)
    (png,) = downloads(api, job)
    assert np.abs(pixels(png) - pixels(plain)).max() > 0
    info = read_png_infotext(io.BytesIO(png))
    values = parse_infotext(info)["params"]
    assert values["Refiner"] == "tiny-xl-refiner" and values["Refiner switch at"] == "0.5"
    assert values["TI hashes"].startswith("xlemb: ")
    fields = spec_fields(info)
    assert fields["refiner_checkpoint"] == "tiny-xl-refiner" and fields["refiner_switch_at"] == 0.5
    # Half the steps on the base, half on the refiner: one count across both.
    steps = [e for e in log_events(api, job) if e["event"] == "progress" and e["total"]]
    assert steps[-1]["step"] == steps[-1]["total"] == 4
    sd1 = run(api, "txt2img", params | {"model": "diffusers/tiny-sd1", "prompt": "a forest"}, status="FAILED")
    assert "needs an SDXL base model" in sd1["error"]


def test_sdxl_controlnet_single_file_changes_the_output(api):
    from PIL import Image, ImageDraw

    bars = Image.new("RGB", (SIZE, SIZE), "black")
    ImageDraw.Draw(bars).rectangle((0, 0, 20, 63), fill="white")
    key = upload_input(api, "bars.png", png_bytes(bars), group="xl")
    params = BASE | {"steps": 2}
    (plain,) = downloads(api, run(api, "txt2img", params))
    unit = {"model": "ControlNet/control_xl.safetensors", "image": key, "module": "canny"}
    (controlled,) = downloads(api, run(api, "txt2img", params | {"controlnet": [unit]}))
    assert np.abs(pixels(controlled) - pixels(plain)).max() > 0


def test_sdxl_lora_training_gives_a_kohya_sdxl_lora_that_generation_loads(api, models_dir):
    from PIL import Image
    from safetensors import safe_open

    for i, colour in enumerate(((200, 40, 40), (40, 200, 40))):
        upload_input(api, f"img{i}.png", png_bytes(Image.new("RGB", (SIZE, SIZE), colour)), group="xlset")
        upload_input(api, f"img{i}.caption", f"sks, colour {i}".encode(), group="xlset")
    params = {
        "base_model": "diffusers/tiny-xl",
        "dataset": "xlset",
        "steps": 2,
        "resolution": SIZE,
        "rank": 2,
        "alpha": 2.0,
        "seed": 1,
        "caption_extension": ".caption",
        "output_name": "xl-sks",
    }
    job = run(api, "train", params)
    assert [o["key"] for o in job["outputs"]] == ["Lora/xl-sks.safetensors"]
    with safe_open(str(models_dir / "Lora" / "xl-sks.safetensors"), "pt") as lora:
        keys = list(lora.keys())
    # kohya names SDXL UNet modules by their original (sgm) path.
    assert keys and all(k.startswith("lora_unet_") for k in keys)
    assert any(
        k.startswith(("lora_unet_input_blocks_", "lora_unet_output_blocks_", "lora_unet_middle_block_")) for k in keys
    )
    (png,) = downloads(api, run(api, "txt2img", BASE | {"steps": 2, "prompt": "sks <lora:xl-sks:1>"}))
    assert pixels(png).shape == (SIZE, SIZE, 3)
