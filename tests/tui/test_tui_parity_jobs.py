"""Pilot tests of the WebUI-parity job flows against the real local server running real (tiny,
CPU) jobs: an upscale with an ESRGAN model from the tree, and a txt2img with hires fix and a
ControlNet unit filled in the form."""

from __future__ import annotations

import pytest
from PIL import Image
from textual.widgets import Input

from sdaws.client.config import Target
from tests.support.job_forms import JOB_WAIT, choose, fill, finished, open_form
from tests.support.parity_job_server import CONTROLNET, ESRGAN, MODEL
from tests.support.pilot import settle, until
from tui.app import SdawsApp
from tui.screens.job_detail import JobDetailScreen
from tui.screens.job_form import JobForm

pytestmark = [pytest.mark.torch, pytest.mark.slow]
SIZE = (140, 44)


@pytest.fixture
def app(parity_job_server, user_env):
    server = parity_job_server
    return SdawsApp(Target(server.url, server.token, "test"), half_block_images=True)


@pytest.mark.anyio
async def test_upscale_form_runs_an_esrgan_model_and_shows_the_larger_image(app, tmp_path):
    photo = tmp_path / "photo.png"
    Image.effect_noise((20, 12), 64).convert("RGB").save(photo)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, from_menu=True, kind="upscale")
        fill(form, image=str(photo))
        await choose(pilot, form, "upscaler_1", ESRGAN)
        fill(form, upscaling_resize="4", tile="0")
        await pilot.press("ctrl+s")
        screen, job = await finished(pilot)
        assert job["kind"] == "upscale" and job["params"]["upscaler_1"] == ESRGAN
        assert job["params"]["image"].startswith("job-inputs/")
        await until(pilot, lambda: len(screen.image_paths) == 1, "the image is kept")
        with Image.open(screen.image_paths[0]) as image:
            assert image.size == (80, 48)

        await pilot.press("u")  # upscale this job's own image again: it is not uploaded, it is named
        await until(pilot, lambda: isinstance(app.screen, JobForm), "the upscale form on the job's image")
        again = app.screen
        await settle(pilot)
        key = again.query_one("#f-image", Input).value
        assert key.startswith(f"job-outputs/{job['job_id']}/")
        await choose(pilot, again, "upscaler_1", "Lanczos")
        fill(again, upscaling_resize="2")
        await pilot.press("ctrl+s")
        await until(
            pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.job_id != job["job_id"], "new job"
        )
        screen, second = await finished(pilot)
        assert second["params"]["image"] == key
        await until(pilot, lambda: len(screen.image_paths) == 1, "the image is kept")
        with Image.open(screen.image_paths[0]) as image:
            assert image.size == (160, 96)


@pytest.mark.anyio
async def test_txt2img_form_with_hires_fix_and_a_controlnet_unit(app, tmp_path):
    control = tmp_path / "square.png"
    square = Image.new("RGB", (64, 64), "black")
    square.paste("white", (16, 16, 48, 48))
    square.save(control)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, from_menu=True, kind="txt2img")
        fill(form, model=MODEL, prompt="a house", steps="2", seed="5", width="64", height="64")
        fill(form, enable_hr=True, hr_scale="1.5", hr_second_pass_steps="2", denoising_strength="0.5")
        await choose(pilot, form, "cn1_model", CONTROLNET)
        fill(form, cn1_image=str(control), cn1_weight="0.9")
        await pilot.press("ctrl+s")
        screen, job = await finished(pilot)
        params = job["params"]
        assert params["enable_hr"] is True and params["hr_scale"] == 1.5 and params["hr_second_pass_steps"] == 2
        (unit,) = params["controlnet"]
        assert unit["model"] == CONTROLNET and unit["weight"] == 0.9 and unit["image"].startswith("job-inputs/")
        await until(pilot, lambda: len(screen.image_paths) == 1, "the image is kept")
        with Image.open(screen.image_paths[0]) as image:
            assert image.size == (96, 96)  # the hires pass's size
            infotext = image.info.get("parameters", "")
        assert "Hires upscale: 1.5" in infotext and "ControlNet 0:" in infotext


@pytest.mark.anyio
async def test_the_job_view_shows_live_previews_while_the_job_denoises(app):
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, from_menu=True, kind="txt2img")
        fill(form, model=MODEL, prompt="a boat", steps="150", seed="2", width="64", height="64", preview_every="1")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "job detail open")
        screen: JobDetailScreen = app.screen
        await until(pilot, lambda: screen.live_preview is not None, "a live preview shown", JOB_WAIT)
        name, status = screen.live_preview
        assert status == "RUNNING" and "-step-" in name  # shown while it still denoised
        assert screen.query_one("#job-image").children  # the picture itself
        assert "Live preview" in str(screen.query_one("#outputs-hint").render())
        screen.client.cancel_job(screen.job_id)  # the rest of its 150 steps would only hold up the next test
