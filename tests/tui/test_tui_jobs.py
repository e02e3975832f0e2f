"""Pilot tests of the job flows against the real local server running real (tiny, CPU) jobs:
txt2img with the image shown, training from a dataset folder, merge, convert, cancel."""

from __future__ import annotations

import pytest
from PIL import Image
from textual.widgets import Input, Select

from sdaws.client.config import Target
from tests.support.job_forms import JOB_WAIT, finished, highlight_job, open_form
from tests.support.job_server import TOKEN
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.screens.confirm import ConfirmModal
from tui.screens.convert_dialog import ConvertDialog
from tui.screens.job_form import JobForm
from tui.screens.path_picker import PathPickerModal
from tui.widgets.jobs_pane import JobsPane
from tui.widgets.model_tree import ModelTree

pytestmark = [pytest.mark.torch, pytest.mark.slow]
SIZE = (140, 44)


@pytest.fixture
def app(job_server, user_env):
    handle, _ = job_server
    return SdawsApp(Target(handle.url, TOKEN, "test"), half_block_images=True)


def fill(form: JobForm, **values: str) -> None:
    for name, value in values.items():
        form.query_one(f"#f-{name}", Input).value = value


@pytest.mark.anyio
async def test_txt2img_form_streams_the_log_shows_the_image_and_saves_it(app, tmp_path):
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, from_menu=True, kind="txt2img")
        fill(form, model="tiny-sd", prompt="a red fox", steps="2", width="32", height="32", seed="7")
        await pilot.press("ctrl+s")
        _, job = await finished(pilot)
        screen = app.screen
        assert job["params"]["seed"] == 7 and job["params"]["model"] == "tiny-sd"
        log_text = "\n".join(screen.log_lines)
        assert "denoising 2/2" in log_text and "succeeded" in log_text
        # Readable lines: no raw events, no library noise (the raw log file keeps both).
        assert not any(
            line.startswith('{"event"') or "[transformers]" in line or "%|" in line for line in screen.log_lines
        )
        await until(pilot, lambda: len(screen.query(".output-image")) == 1, "the image is on screen")
        assert len(screen.image_paths) == 1
        with Image.open(screen.image_paths[0]) as image:
            assert image.size == (32, 32)
            assert "a red fox" in image.info.get("parameters", "")  # the WebUI infotext came along
        assert "Saved in" in str(screen.query_one("#outputs-hint").render())  # where the images are kept
        saved_to = tmp_path / "saved" / "new"  # not there yet: the picker offers to create it
        await pilot.press("o")  # save outputs locally
        await until(pilot, lambda: isinstance(app.screen, PathPickerModal), "folder picker")
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#path")
        app.screen.query_one("#path", Input).value = str(saved_to)
        await pilot.click("#choose")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "offer to create the folder")
        await pilot.press("enter")
        await until(
            pilot,
            lambda: saved_to.is_dir() and [p.name for p in saved_to.iterdir()] == [screen.image_paths[0].name],
            "saved",
        )
        await pilot.press("escape")
        await settle(pilot)
        jobs = app.query_one(JobsPane)
        await until(pilot, lambda: jobs.jobs.get(job["job_id"], {}).get("status") == "SUCCEEDED", "table updated")


@pytest.mark.anyio
async def test_train_form_uploads_the_dataset_folder_and_registers_a_lora(app, job_server, tmp_path):
    _, models = job_server
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for i, colour in enumerate(("red", "blue")):
        Image.new("RGB", (32, 32), colour).save(dataset / f"img{i}.png")
        (dataset / f"img{i}.txt").write_text(f"a {colour} square")
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, from_menu=True, kind="train")
        fill(
            form,
            base_model="tiny-sd",
            dataset=str(dataset),
            output_name="tui-lora",
            steps="2",
            resolution="32",
            rank="2",
        )
        await pilot.press("ctrl+s")
        _, job = await finished(pilot)
        assert job["params"]["dataset"]  # the group the form uploaded the folder into
        assert any(o["type"] == "Lora" or "lora" in o["name"].lower() for o in job["outputs"]), job["outputs"]
        assert list((models / "Lora").glob("tui-lora*"))


@pytest.mark.anyio
async def test_merge_form_writes_the_merged_checkpoint(app, job_server):
    _, models = job_server
    async with app.run_test(size=SIZE) as pilot:
        form = await open_form(pilot, from_menu=True, kind="merge")
        fill(form, model_a="alpha.safetensors", model_b="beta.safetensors", multiplier="0.25", output_name="mixed")
        await pilot.press("ctrl+s")
        await finished(pilot)
    assert list((models / "Stable-diffusion").glob("mixed*"))


@pytest.mark.anyio
async def test_convert_dialog_is_prefilled_from_detection_and_launches_the_job(app, job_server):
    _, models = job_server
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        tree = app.query_one(ModelTree)
        sd = tree.folder_node("Stable-diffusion")
        await until(
            pilot, lambda: any(getattr(c.data, "name", "") == "alpha.safetensors" for c in sd.children), "listed"
        )
        tree.focus()
        await move_cursor_to(
            pilot, tree, next(c for c in sd.children if getattr(c.data, "name", "") == "alpha.safetensors")
        )
        await settle(pilot)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConvertDialog), "dialog open")
        dialog: ConvertDialog = app.screen
        # prefilled from the server's detection (header only), so it works against AWS too
        assert dialog.query_one("#arch", Select).value == "sd1"
        assert dialog.why.startswith("Detected sd1: text encoder is OpenAI CLIP")
        assert dialog.query_one("#output-name", Input).value == "alpha"
        dialog.query_one("#output-name", Input).value = "alpha-tui"
        await pilot.click("#convert")
        _, job = await finished(pilot)
        await pilot.press("escape")
        jobs = app.query_one(JobsPane)
        table = jobs.query_one("#jobs-table")
        await until(pilot, lambda: jobs.jobs.get(job["job_id"], {}).get("status") == "SUCCEEDED", "table updated")
        await settle(pilot)
        row = table.get_row(job["job_id"])
        assert str(row[3]) == "SUCCEEDED" and str(row[4]) == "100%"  # progress shown at the end, no stale message
    assert (models / "diffusers/alpha-tui/model_index.json").exists()


@pytest.mark.anyio
async def test_cancel_a_job_from_the_jobs_table(app, job_server):
    handle, _ = job_server
    from sdaws.client.api import ApiClient

    with ApiClient(handle.url, TOKEN) as client:
        long = client.submit_job(
            "txt2img", {"model": "tiny-sd", "prompt": "slow", "steps": 500, "width": 32, "height": 32}
        )
    async with app.run_test(size=SIZE) as pilot:
        jobs = await highlight_job(pilot, long["job_id"])
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await until(pilot, lambda: jobs.jobs[long["job_id"]]["status"] == "CANCELLED", "cancelled", JOB_WAIT)
