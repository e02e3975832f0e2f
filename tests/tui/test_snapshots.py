"""Snapshot tests (pytest-textual-snapshot) of the main screens against the real local server.

Values that change per run (the server's port in the header) are pinned in
``run_before``; everything else on screen comes from the server as is.
Update after an intended UI change: pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import pytest

from sdaws.client.config import Target
from sdaws.client.demo import demo_bytes
from tests.support.pilot import settle, until
from tui.app import SdawsApp
from tui.widgets.model_tree import ModelData, ModelTree

SIZE = (110, 34)


@pytest.fixture
def app(server):
    for name in ("v1-5-pruned-emaonly.safetensors", "dreamshaper_8.safetensors"):
        (server.models / "Stable-diffusion" / name).write_bytes(demo_bytes())
    (server.models / "Lora").mkdir()
    (server.models / "Lora/add_detail.safetensors").write_bytes(demo_bytes())
    return SdawsApp(Target(server.url, server.token, "test"))


def ready(*keys: str):
    async def run_before(pilot) -> None:
        app = pilot.app
        await until(pilot, lambda: app.conn is not None, "connected")
        sd = app.query_one(ModelTree).folder_node("Stable-diffusion")
        await until(pilot, lambda: any(isinstance(c.data, ModelData) for c in sd.children), "listed")
        app.sub_title = "http://127.0.0.1:PORT · local"  # the port differs per run
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        await settle(pilot)

    return run_before


def test_models_tab(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=ready())


def test_help_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=ready("f1"))


def test_settings_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=ready("s"))


def test_new_job_menu(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=ready("n"))


def test_txt2img_form(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=ready("n", "enter"))


def test_uploads_tab(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=ready("u"))


def test_jobs_tab_empty(app, snap_compare):
    assert snap_compare(app, terminal_size=SIZE, run_before=ready("j"))


def test_txt2img_form_at_80x24(app, snap_compare):
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready("n", "enter"))


def test_models_tab_at_80x24(app, snap_compare):
    assert snap_compare(app, terminal_size=(80, 24), run_before=ready())
