"""Journey: a newcomer's first run. The embedded server starts over an empty model folder,
the Welcome offer takes Enter (a busy indicator shows while the demo is made), the palette
and the help offer the demo again any time, and an image made with it says it is noise."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from sdaws.client.config import Target
from sdaws.client.demo import DEMO_NAME
from tests.support.env import need, torch_available
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.screens.busy import BusyModal
from tui.screens.confirm import ConfirmModal
from tui.screens.help import HELP
from tui.screens.job_detail import DEMO_NOTE, JobDetailScreen
from tui.screens.job_form import JobForm
from tui.widgets.model_tree import ModelData

pytestmark = [pytest.mark.torch, pytest.mark.slow]
SIZE = (120, 40)
JOB_WAIT = 3000  # event-loop turns: a deadline for a hung job, not a timing assertion


@pytest.mark.anyio
async def test_enter_creates_the_demo_and_its_images_say_they_are_noise(user_env, tmp_path, monkeypatch):
    need(torch_available(), "the demo model is built with torch")
    shown: list[str] = []  # the busy indicator may come and go between two looks: note it as it shows
    monkeypatch.setattr(BusyModal, "on_mount", lambda self: shown.append(self.text), raising=False)
    models = tmp_path / "models"
    app = SdawsApp(Target(None, "", "embedded local server", str(models)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "Welcome offer")
        assert app.screen.focused.id == "yes"  # Enter accepts the offer
        await pilot.press("enter")
        await until(pilot, lambda: shown, "busy indicator while the demo is made", during_work=True)
        assert shown == [f"Creating Stable-diffusion/{DEMO_NAME}…"]
        await until(pilot, lambda: not isinstance(app.screen, BusyModal), "demo made", JOB_WAIT)
        assert (models / "Stable-diffusion" / DEMO_NAME).is_file()
        tree = app.query_one("#model-tree")
        sd = tree.folder_node("Stable-diffusion")
        await until(pilot, lambda: [m.name for m in tree.models_in("Stable-diffusion")] == [DEMO_NAME], "listed")

        # Offered again any time: the palette finds it by a word of its description, the help names it.
        assert "Create demo model" in HELP
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert "Create demo model" in commands

        await move_cursor_to(pilot, tree, next(c for c in sd.children if isinstance(c.data, ModelData)))
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("enter")  # txt2img
        await until(pilot, lambda: isinstance(app.screen, JobForm), "form open")
        form = app.screen
        assert form.query_one("#f-model", Input).value == DEMO_NAME  # the highlighted checkpoint
        for name, value in (("steps", "1"), ("width", "64"), ("height", "64")):
            form.query_one(f"#f-{name}", Input).value = value
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "job view")
        view = app.screen
        await until(pilot, lambda: view.outputs_shown, "image shown", JOB_WAIT)
        assert view.job["status"] == "SUCCEEDED", view.job.get("error")
        assert len(view.image_paths) == 1
        await until(pilot, lambda: len(view.query(".output-image")) == 1, "the image is on screen")
        assert str(view.query_one("#job-note").render()) == DEMO_NOTE
