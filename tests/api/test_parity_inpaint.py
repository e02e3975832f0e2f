"""Inpainting (img2img with a mask) on a normal and an inpainting model, through the local server's API."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest

from sam_app.adapters.local.job_runner import job_command
from tests.support.env import need, torch_available
from tests.support.parity import downloads, pixels, png_bytes, run, upload_input

pytestmark = [pytest.mark.torch, pytest.mark.slow]

SIZE = 32
BOX = (8, 8, 24, 24)  # the repainted rectangle (left, top, right, bottom)
BLUR = 2


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    need(torch_available(), "torch and diffusers are needed for generation jobs")
    from tests.support.tiny_models import save_pipeline

    root = tmp_path_factory.mktemp("built")
    inpaint = save_pipeline(root / "tiny-inpaint", seed=1, unet_in_channels=9)
    index = json.loads((inpaint / "model_index.json").read_text())
    (inpaint / "model_index.json").write_text(json.dumps(index | {"_class_name": "StableDiffusionInpaintPipeline"}))
    return save_pipeline(root / "tiny"), inpaint


@pytest.fixture
def api(start_server, models_dir, tiny_models):
    for folder in tiny_models:
        shutil.copytree(folder, models_dir / "diffusers" / folder.name)
    return start_server(job_command=job_command)[1]


@pytest.fixture
def inputs(api):
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    source = Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    mask = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(mask).rectangle((BOX[0], BOX[1], BOX[2] - 1, BOX[3] - 1), fill=255)
    init = upload_input(api, "source.png", png_bytes(source), group="inpaint")
    mask_key = upload_input(api, "mask.png", png_bytes(mask), group="inpaint")
    return np.asarray(source).astype(np.int16), init, mask_key


def _outside(array: np.ndarray, margin: int) -> np.ndarray:
    keep = np.ones(array.shape[:2], dtype=bool)
    keep[BOX[1] - margin : BOX[3] + margin, BOX[0] - margin : BOX[2] + margin] = False
    return array[keep]


def _inside(array: np.ndarray) -> np.ndarray:
    return array[BOX[1] + BLUR * 2 : BOX[3] - BLUR * 2, BOX[0] + BLUR * 2 : BOX[2] - BLUR * 2]


def _inpaint(init: str, mask: str) -> dict:
    return {
        "prompt": "a flower",
        "steps": 2,
        "seed": 4,
        "width": SIZE,
        "height": SIZE,
        "model": "diffusers/tiny",
        "init_image": init,
        "mask": mask,
    }


@pytest.mark.parametrize(
    "model,only_masked", [("diffusers/tiny", False), ("diffusers/tiny-inpaint", False), ("diffusers/tiny", True)]
)
def test_unmasked_pixels_are_kept_and_the_masked_ones_repainted(api, inputs, model, only_masked):
    from sdaws_jobs.pngmeta import parse_infotext, read_png_infotext

    source, init, mask = inputs
    params = _inpaint(init, mask) | {
        "steps": 3,
        "model": model,
        "mask_blur": BLUR,
        "denoising_strength": 0.9,
        "inpaint_full_res": only_masked,
        "inpaint_full_res_padding": 4,
    }
    (png,) = downloads(api, run(api, "img2img", params))
    result = pixels(png)
    # Outside the blurred mask the original pixels come back (the WebUI's overlay); allow 1 level of rounding.
    assert np.abs(_outside(result, BLUR * 3) - _outside(source, BLUR * 3)).max() <= 1
    assert np.abs(_inside(result) - _inside(source)).mean() > 10  # the rectangle was repainted
    values = parse_infotext(read_png_infotext(io.BytesIO(png)))["params"]
    assert values["Mask blur"] == str(BLUR) and values["Denoising strength"] == "0.9"
    assert (values.get("Inpaint area") == "Only masked") is only_masked


def test_fill_and_inverted_mask(api, inputs):
    from sdaws_jobs.pngmeta import read_png_infotext, spec_fields

    source, init, mask = inputs
    params = _inpaint(init, mask) | {
        "mask_blur": 0,
        "inpainting_mask_invert": 1,
        "inpainting_fill": 0,
    }
    (png,) = downloads(api, run(api, "img2img", params))
    result = pixels(png)
    # Inverted: the rectangle is what stays.
    inner = (slice(BOX[1] + 1, BOX[3] - 1), slice(BOX[0] + 1, BOX[2] - 1))
    assert np.abs(result[inner] - source[inner]).max() <= 1
    fields = spec_fields(read_png_infotext(io.BytesIO(png)))
    assert fields["inpainting_mask_invert"] == 1 and fields["inpainting_fill"] == 0 and fields["mask_blur"] == 0
