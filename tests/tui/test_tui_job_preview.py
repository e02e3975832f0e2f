"""Pilot test of "use as preview" in the job view, against the real local server running a
real (tiny, CPU) txt2img: `p` on the highlighted image asks which model (the job's own by
default), and the image becomes that model's NAME.preview.png, which its details then name."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from sdaws.client.api import ApiClient
from sdaws.client.config import Target
from tests.support.job_forms import JOB_WAIT, highlight_job
from tests.support.job_server import TOKEN
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.screens.job_detail import JobDetailScreen
from tui.screens.preview_target_dialog import PreviewTargetDialog
from tui.widgets.model_details import ModelDetails
from tui.widgets.model_tree import ModelData, ModelTree

pytestmark = [pytest.mark.torch, pytest.mark.slow]
SIZE = (140, 44)


@pytest.mark.anyio
async def test_p_in_the_job_view_makes_the_image_a_models_preview(job_server, user_env):
    handle, models = job_server
    with ApiClient(handle.url, TOKEN) as client:
        job = client.submit_job(
            "txt2img", {"model": "tiny-sd", "prompt": "a fox", "steps": 2, "width": 32, "height": 32, "seed": 3}
        )
    app = SdawsApp(Target(handle.url, TOKEN, "test"), half_block_images=True)
    async with app.run_test(size=SIZE) as pilot:
        await highlight_job(pilot, job["job_id"])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "job view")
        view = app.screen
        await until(pilot, lambda: view.outputs_shown, "job finished", JOB_WAIT)
        assert view.job["status"] == "SUCCEEDED", view.job.get("error")
        image = view.image_paths[0]

        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PreviewTargetDialog), "which model?")
        field = app.screen.query_one("#preview-model", Input)
        assert field.value == "diffusers/tiny-sd"  # the job's model, as params name it
        field.value = "Stable-diffusion/alpha.safetensors"  # a model with sidecars
        await pilot.press("enter")
        target = models / "Stable-diffusion/alpha.preview.png"
        await until(pilot, lambda: target.is_file(), "preview written")
        assert target.read_bytes() == image.read_bytes()

        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("m")
        tree = app.query_one(ModelTree)
        sd = tree.folder_node("Stable-diffusion")
        await until(pilot, lambda: any(isinstance(c.data, ModelData) for c in sd.children), "listed")
        tree.focus()
        alpha = next(c for c in sd.children if isinstance(c.data, ModelData) and c.data.name == "alpha.safetensors")
        await move_cursor_to(pilot, tree, alpha)
        details = app.query_one(ModelDetails)
        await until(
            pilot, lambda: dict(details.rows).get("Preview") == "Stable-diffusion/alpha.preview.png", "details name it"
        )
        target.unlink()  # the module's server is shared: leave its tree as it was
