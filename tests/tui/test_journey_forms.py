"""Journey: filling a job form. A problem the server finds keeps the form open with the
message beside its field and nothing typed is lost; forms remember their last values per
kind; the model field takes the highlighted model only when it is a checkpoint (a
highlighted LoRA goes into the LoRA list instead); at 80×24 every form fits."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Footer, Input

from sdaws.client.config import Target
from sdaws.client.demo import demo_bytes
from tests.support.job_forms import open_form
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.screens.confirm import ConfirmModal
from tui.screens.convert_dialog import ConvertDialog
from tui.screens.job_detail import JobDetailScreen
from tui.screens.job_form import FORMS, JobForm
from tui.screens.settings import SettingsModal
from tui.widgets.lora_picker import LoraPicker
from tui.widgets.model_tree import ModelData, ModelTree

SIZE = (120, 40)


@pytest.fixture
def tree(server):
    (server.models / "Stable-diffusion/demo.safetensors").write_bytes(demo_bytes())
    (server.models / "Lora").mkdir()
    (server.models / "Lora/style.safetensors").write_bytes(demo_bytes())
    return server


async def highlight(pilot, folder: str, name: str) -> None:
    tree = pilot.app.query_one(ModelTree)
    node = tree.folder_node(folder)
    node.expand()
    tree.focus()
    await until(pilot, lambda: name in [m.name for m in tree.models_in(folder)], f"{folder}/{name} listed")
    await move_cursor_to(
        pilot, tree, next(c for c in node.children if isinstance(c.data, ModelData) and c.data.name == name)
    )


@pytest.mark.anyio
async def test_a_server_side_error_keeps_the_form_and_what_was_typed(tree):
    app = SdawsApp(Target(tree.url, tree.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        model_tree = app.query_one(ModelTree)
        await until(pilot, lambda: model_tree.models_in("Stable-diffusion"), "listed")
        model_tree.folder_node("Lora").expand()
        await until(pilot, lambda: model_tree.models_in("Lora"), "LoRAs listed")
        await highlight(pilot, "Lora", "style.safetensors")
        await settle(pilot)

        form = await open_form(pilot, "txt2img")
        assert form.focused is form.query_one("#f-model")  # the first field
        assert form.query_one("#f-model", Input).value == "demo.safetensors"  # a LoRA is not a model…
        assert form.query_one(LoraPicker).value == [{"name": "style.safetensors", "weight": 1.0}]  # …it is a LoRA
        form.query_one("#f-model", Input).value = "no-such-model"  # a fine name, but the server has no such model
        form.query_one("#f-prompt", Input).value = "a kept prompt"
        await pilot.press("ctrl+s")
        error = form.query_one("#err-model")
        await until(pilot, lambda: not error.has_class("hidden"), "the server's problem beside the model field")
        assert isinstance(app.screen, JobForm)  # still open
        assert "no converted model 'no-such-model'" in str(error.render())
        assert form.query_one("#f-prompt", Input).value == "a kept prompt"

        form.query_one("#f-model", Input).value = "demo.safetensors"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "submitted: the job view opens")
        view = app.screen
        await until(pilot, lambda: view.job, "job shown")
        assert view.job["params"]["loras"] == [{"name": "style.safetensors", "weight": 1.0}]
        assert view.job["params"]["prompt"] == "a kept prompt"
        await pilot.press("escape")
        await settle(pilot)

        await highlight(pilot, "Stable-diffusion", "demo.safetensors")
        await settle(pilot)
        again = await open_form(pilot, "txt2img")  # remembered, and the highlighted checkpoint as model
        assert again.query_one("#f-prompt", Input).value == "a kept prompt"
        assert again.query_one("#f-model", Input).value == "demo.safetensors"
        await pilot.press("escape")
        await settle(pilot)
        merge = await open_form(pilot, "merge")
        assert merge.query_one("#f-model_a", Input).value == "demo.safetensors"


def inside(widget, size: tuple[int, int]) -> bool:
    region = widget.region
    return region.width > 0 and region.height > 0 and region.right <= size[0] and region.bottom <= size[1]


@pytest.mark.anyio
async def test_at_80x24_every_form_and_dialog_fits_with_its_buttons(tree):
    small = (80, 24)
    app = SdawsApp(Target(tree.url, tree.token, "test"))
    async with app.run_test(size=small) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        assert inside(app.query_one(Footer), small)
        for kind in FORMS:
            form = await open_form(pilot, kind)
            assert form.focused is form.query_one(f"#f-{FORMS[kind][0].name}"), kind
            for button in form.query(".dialog-buttons Button").results(Button):
                assert inside(button, small), (kind, button.id, button.region)
            await pilot.press("escape")
            await settle(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsModal), "settings")
        await settle(pilot)
        assert all(inside(b, small) for b in app.screen.query(Button).results(Button))
        await pilot.press("escape")
        await settle(pilot)
        await highlight(pilot, "Stable-diffusion", "demo.safetensors")
        await settle(pilot)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConvertDialog), "convert dialog")
        await settle(pilot)
        assert all(inside(b, small) for b in app.screen.query(Button).results(Button))


@pytest.mark.anyio
async def test_cancelling_a_job_asks_keep_running_or_cancel_job(tree):
    client = tree.client()
    job = client.submit_job("convert", {"model": "demo.safetensors", "output_name": "never"})
    app = SdawsApp(Target(tree.url, tree.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        await pilot.press("j")
        jobs = app.query_one("#jobs-pane")
        await until(pilot, lambda: job["job_id"] in jobs.jobs, "listed")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "asked")
        labels = [str(b.label) for b in app.screen.query(Button).results(Button)]
        assert labels == ["Keep running", "Cancel job"]
        assert app.screen.focused.id == "no"  # Enter keeps it running


@pytest.mark.anyio
async def test_names_in_tables_and_lists_are_text_not_markup(tree, tmp_path):
    client = tree.client()
    job = client.submit_job("convert", {"model": "demo.safetensors", "output_name": "never"}, name="[bold]myjob[/]")
    src = tmp_path / "[reverse]odd.safetensors"
    src.write_bytes(demo_bytes())
    app = SdawsApp(Target(tree.url, tree.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        jobs = app.query_one("#jobs-pane")
        await until(pilot, lambda: job["job_id"] in jobs.jobs, "listed")
        await pilot.press("j")
        await settle(pilot)
        assert "[bold]myjob[/]" in app.export_screenshot()  # shown as typed, not as bold "myjob"
        uploads = app.query_one("#uploads-pane")
        uploads.enqueue(src, "Lora")
        await until(pilot, lambda: uploads.results, "uploaded")
        await pilot.press("u")
        await settle(pilot)
        assert "[reverse]odd.safetensors" in app.export_screenshot()
