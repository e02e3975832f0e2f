"""Journey: the WebUI-parity parts of the job forms (hires fix, ControlNet units, inpainting,
merge methods, the upscale form) against the real local server. Sections start closed;
a problem inside one opens it beside its field; what a section holds reaches the server
in the spec's shape, with the control image uploaded as a job input."""

from __future__ import annotations

import pytest
from PIL import Image
from textual.widgets import Button, Checkbox, Collapsible

from sdaws.client.config import Target
from sdaws.client.demo import demo_bytes
from tests.support.job_forms import choose, fill, open_form, submitted_params
from tests.support.pilot import settle, until
from tui.app import SdawsApp
from tui.screens.image_view import ImageScreen
from tui.screens.job_form import JobForm
from tui.screens.job_kind import JobKindModal

SIZE = (120, 40)


@pytest.fixture
def tree(server):
    (server.models / "Stable-diffusion/demo.safetensors").write_bytes(demo_bytes())
    for folder, name in (("ControlNet", "control_demo.safetensors"), ("ESRGAN", "4x-demo.pth"), ("GFPGAN", "gfp.pth")):
        (server.models / folder).mkdir()
        (server.models / folder / name).write_bytes(demo_bytes())
    return server


@pytest.fixture
def app(tree):
    """The TUI aimed at the server with that tree, not started yet."""
    return SdawsApp(Target(tree.url, tree.token, "test"))


def section(form: JobForm, title: str) -> Collapsible:
    return next(c for c in form.query(Collapsible).results(Collapsible) if c.title == title)


@pytest.mark.anyio
async def test_hires_fix_and_a_controlnet_unit_from_the_form_reach_the_server(app, tmp_path):
    control = tmp_path / "edges.png"
    Image.new("RGB", (64, 64), "white").save(control)
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "txt2img")
        titles = [c.title for c in form.query(Collapsible).results(Collapsible)]
        assert titles == ["Hires. fix", "Refiner", "Live previews", "ControlNet unit 1", "ControlNet unit 2"]
        assert all(c.collapsed for c in form.query(Collapsible).results(Collapsible))  # the form stays short
        assert "ControlNet/" in str(form.query_one(".form-hint").render())  # which folders the job can use
        fill(form, model="demo.safetensors", enable_hr=True, hr_scale="1.5", hr_second_pass_steps="3")
        await choose(pilot, form, "hr_upscaler", "ESRGAN/4x-demo.pth")  # a model upscaler from the tree
        await choose(pilot, form, "cn1_model", "ControlNet/control_demo.safetensors")
        fill(form, cn1_image=str(control))
        section(form, "ControlNet unit 1").collapsed = False
        await settle(pilot)
        form.query_one("#view-cn1_image", Button).press()  # the control image, seen before it is sent
        await until(pilot, lambda: isinstance(app.screen, ImageScreen), "the control image shown")
        assert app.screen.path == control
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is form, "back in the form")
        fill(form, cn1_module="canny", cn1_weight="3")  # a weight over the spec's 2
        fill(form, preview_every="2", refiner_checkpoint="demo.safetensors", refiner_switch_at="0.7")

        await pilot.press("ctrl+s")
        await settle(pilot)
        error = form.query_one("#err-cn1_weight")
        assert not error.has_class("hidden") and "less than or equal to 2" in str(error.render())
        section(form, "ControlNet unit 1").collapsed = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not section(form, "ControlNet unit 1").collapsed  # opened so the field can be fixed
        assert form.focused is form.query_one("#f-cn1_weight")

        fill(form, cn1_weight="0.8", cn1_guidance_end="0.6")
        params = await submitted_params(pilot)
    assert params["enable_hr"] is True and params["hr_scale"] == 1.5 and params["hr_second_pass_steps"] == 3
    assert params["hr_upscaler"] == "ESRGAN/4x-demo.pth" and params["preview_every"] == 2
    assert params["refiner_checkpoint"] == "demo.safetensors" and params["refiner_switch_at"] == 0.7
    (unit,) = params["controlnet"]
    assert unit["model"] == "ControlNet/control_demo.safetensors" and unit["module"] == "canny"
    assert unit["weight"] == 0.8 and unit["guidance_end"] == 0.6 and unit["threshold_a"] == 100
    assert unit["image"].startswith("job-inputs/") and unit["image"].endswith("/edges.png")  # uploaded


@pytest.mark.anyio
async def test_a_unit_image_without_a_model_and_inpaint_fields_in_the_webui_words(app, tmp_path):
    init = tmp_path / "init.png"
    Image.new("RGB", (64, 64), "gray").save(init)
    mask = tmp_path / "mask.png"
    Image.new("L", (64, 64), 0).save(mask)  # a mask file here, or a rectangle, not both
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "img2img")
        assert "Hires. fix" not in [c.title for c in form.query(Collapsible).results(Collapsible)]  # txt2img's
        fill(form, model="demo.safetensors", init_image=str(init), cn2_image=str(init))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "choose the ControlNet model" in str(form.query_one("#err-cn2_model").render())
        fill(form, cn2_image="", mask=str(mask), mask_rect="8,8,16,16")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "a mask image or a rectangle, not both" in str(form.query_one("#err-mask_rect").render())
        fill(form, mask="")  # the rectangle, drawn on the init image, is the mask
        fill(form, mask_blur="8", inpainting_fill="fill", inpainting_mask_invert="Inpaint not masked")
        params = await submitted_params(pilot)
    assert params["mask"].startswith("job-inputs/") and params["mask"].endswith("/mask-rect.png")
    assert params["mask_blur"] == 8
    assert params["inpainting_fill"] == 0 and params["inpainting_mask_invert"] == 1  # the WebUI's numbers
    assert "controlnet" not in params and "enable_hr" not in params


@pytest.mark.anyio
async def test_upscale_is_a_job_kind_with_its_form_and_face_restorer(app, tmp_path):
    photo = tmp_path / "photo.png"
    Image.new("RGB", (24, 16), "red").save(photo)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, JobKindModal), "kinds")
        assert "upscale" in str(app.screen.query_one("#job-kinds").get_option("upscale").prompt)
        await pilot.press("escape")
        form = await open_form(pilot, "upscale")
        assert form.focused is form.query_one("#f-image")
        fill(form, image=str(photo))
        await choose(pilot, form, "upscaler_1", "ESRGAN/4x-demo.pth")
        fill(form, upscaling_resize="4", gfpgan_visibility="0.5")  # no GFPGAN model: the visibility is not sent
        params = await submitted_params(pilot)
        await pilot.press("escape")
        await settle(pilot)
        again = await open_form(pilot, "upscale")  # remembered, restorer section opened for it
        await choose(pilot, again, "gfpgan_model", "GFPGAN/gfp.pth")
        fill(again, gfpgan_visibility="2")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "less than or equal to 1" in str(again.query_one("#err-gfpgan_visibility").render())
        assert not section(again, "Face restoration").collapsed
    assert params["upscaler_1"] == "ESRGAN/4x-demo.pth" and params["upscaling_resize"] == 4
    assert params["image"].startswith("job-inputs/") and "gfpgan_visibility" not in params


@pytest.mark.anyio
async def test_merge_methods_and_block_weights(app):
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "merge")
        fill(form, mode="ties", model_a="demo.safetensors", model_b="demo.safetensors", output_name="m")
        fill(form, block_weights="0.5, x")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "'x' is not a number" in str(form.query_one("#err-block_weights").render())
        fill(form, block_weights=",".join(["0.5"] * 25))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "needs model_c" in str(form.query_one("#err-model_c").render())  # ties: the base model
        fill(form, model_c="demo.safetensors", density="0.3", dare=True)
        params = await submitted_params(pilot)
    assert params["mode"] == "ties" and params["block_weights"] == [0.5] * 25
    assert params["density"] == 0.3 and params["dare"] is True


@pytest.mark.anyio
async def test_training_buckets_captions_saves_and_samples_from_the_form(app, tmp_path):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    Image.new("RGB", (48, 32), "red").save(dataset / "wide.png")
    (dataset / "wide.caption").write_text("sq, a red thing")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "train")
        titles = [c.title for c in form.query(Collapsible).results(Collapsible)]
        assert titles == ["Buckets", "Captions", "Saves, samples", "Resume"]
        fill(form, base_model="demo.safetensors", dataset=str(dataset), steps="4")
        fill(form, enable_bucket=True, min_bucket_reso="1024", max_bucket_reso="512")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "must not exceed" in str(form.query_one("#err-min_bucket_reso").render())
        assert not section(form, "Buckets").collapsed
        fill(form, min_bucket_reso="256", caption_extension=".caption", shuffle_caption=True, keep_tokens="1")
        fill(form, save_every_n_steps="2", sample_every="2", sample_prompts="a red thing | a blue thing")
        params = await submitted_params(pilot)
    assert params["enable_bucket"] is True and params["min_bucket_reso"] == 256 and params["max_bucket_reso"] == 512
    assert (
        params["caption_extension"] == ".caption" and params["shuffle_caption"] is True and params["keep_tokens"] == 1
    )
    assert params["save_every_n_steps"] == 2 and params["sample_every"] == 2
    assert params["sample_prompts"] == ["a red thing", "a blue thing"] and params["dataset"]


@pytest.mark.anyio
async def test_a_section_opens_again_only_when_it_holds_what_the_user_set(app):
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, "txt2img")
        await pilot.press("escape")  # remembered as they were: nothing set in any section
        await settle(pilot)
        form = await open_form(pilot, "txt2img")
        assert all(c.collapsed for c in form.query(Collapsible).results(Collapsible))
        fill(form, enable_hr=True)
        await pilot.press("escape")
        await settle(pilot)
        form = await open_form(pilot, "txt2img")
        opened = [c.title for c in form.query(Collapsible).results(Collapsible) if not c.collapsed]
        assert opened == ["Hires. fix"] and form.query_one("#f-enable_hr", Checkbox).value is True
