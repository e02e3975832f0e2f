"""Hires fix with the WebUI's field names, through the local server's API (CPU)."""

from __future__ import annotations

import io

import pytest

from tests.support.parity import downloads, log_events, open_png, run, submit

pytestmark = [pytest.mark.torch, pytest.mark.slow]

BASE = {"prompt": "a castle", "steps": 2, "seed": 11, "width": 32, "height": 24, "model": "diffusers/tiny"}


@pytest.fixture
def api(tiny_api):
    return tiny_api


def test_latent_hires_pass_doubles_the_size_and_writes_the_webui_infotext(api):
    from sdaws_jobs.pngmeta import parse_infotext, read_png_infotext, spec_fields

    params = BASE | {
        "enable_hr": True,
        "hr_scale": 2,
        "hr_upscaler": "Latent (bicubic antialiased)",
        "hr_second_pass_steps": 4,
        "denoising_strength": 0.5,
    }
    job = run(api, "txt2img", params)
    (png,) = downloads(api, job)
    assert open_png(png).size == (64, 48)
    info = read_png_infotext(io.BytesIO(png))
    values = parse_infotext(info)["params"]
    assert values["Size"] == "32x24"  # the first pass's size, as the WebUI records it
    assert values["Hires upscale"] == "2" and values["Hires steps"] == "4" and values["Denoising strength"] == "0.5"
    assert values["Hires upscaler"] == "Latent (bicubic antialiased)"
    fields = spec_fields(info)
    assert fields["enable_hr"] is True and fields["hr_scale"] == 2 and fields["hr_second_pass_steps"] == 4
    assert fields["hr_upscaler"] == "Latent (bicubic antialiased)" and fields["denoising_strength"] == 0.5
    # Both passes report their steps: 2 first-pass steps, int(4 * 0.5) hires steps.
    steps = [e for e in log_events(api, job) if e["event"] == "progress" and e["total"]]
    assert steps[-1]["step"] == steps[-1]["total"] == 4


def test_resize_to_a_size_with_a_pixel_upscaler(api):
    from sdaws_jobs.pngmeta import parse_infotext, read_png_infotext

    params = BASE | {"enable_hr": True, "hr_resize_x": 48, "hr_resize_y": 40, "hr_upscaler": "Lanczos"}
    (png,) = downloads(api, run(api, "txt2img", params))
    assert open_png(png).size == (48, 40)
    values = parse_infotext(read_png_infotext(io.BytesIO(png)))["params"]
    assert values["Hires resize"] == "48x40" and values["Hires upscaler"] == "Lanczos" and "Hires upscale" not in values


def test_hires_is_a_txt2img_field_and_an_unknown_upscaler_is_named(api):
    answer = submit(api, "img2img", BASE | {"enable_hr": True, "init_image": "job-inputs/g/x.png"})
    assert answer.status_code == 422 and "txt2img option" in answer.json()["message"]
    answer = submit(api, "txt2img", BASE | {"enable_hr": True, "hr_upscaler": "4x-nothere.pth"})
    assert answer.status_code == 400 and "neither a built-in upscaler" in answer.json()["message"]
    answer = submit(api, "txt2img", BASE | {"enable_hr": True, "hr_upscaler": "LDSR/model.ckpt"})
    assert answer.status_code == 422 and "LDSR/ is not used by any job" in answer.json()["message"]
