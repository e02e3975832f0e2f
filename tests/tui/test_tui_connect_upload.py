"""Pilot tests: start and connect (embedded server, sagemaker_ui.json, Settings with Test
Connection), the first-run demo offer, uploads with resume, help and the command palette."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
from textual.widgets import Input, Label, Select

from sdaws.client.config import Target, config_path, resolve
from sdaws.client.demo import DEMO_NAME, demo_bytes
from sdaws.client.uploader import UploadState
from tests.support.pilot import click_when_ready, settle, until
from tests.support.upload_worlds import upload_stopped_after
from tui.app import SdawsApp
from tui.screens.confirm import ConfirmModal
from tui.screens.help import HelpModal
from tui.screens.path_picker import PathPickerModal
from tui.screens.settings import SettingsModal
from tui.screens.upload_dialog import UploadDialog
from tui.widgets.model_tree import ModelData, ModelTree
from tui.widgets.uploads_pane import UploadsPane

SIZE = (120, 40)


@pytest.mark.anyio
async def test_embedded_server_starts_and_offers_a_demo_on_an_empty_tree(user_env, tmp_path):
    models = tmp_path / "webui-models"
    app = SdawsApp(Target(None, "", "embedded local server", str(models)))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "demo offer")
        assert app.conn.server is not None and "local" in app.sub_title
        await pilot.press("y")
        await until(pilot, lambda: (models / "Stable-diffusion" / DEMO_NAME).exists(), "demo written")
        sd = app.query_one(ModelTree).folder_node("Stable-diffusion")
        await until(
            pilot,
            lambda: [c.data.name for c in sd.children if isinstance(c.data, ModelData)] == [DEMO_NAME],
            "demo listed",
        )
    assert app.conn is None or app.conn.server is None  # the server stopped with the app


@pytest.mark.anyio
async def test_sagemaker_ui_json_in_the_current_folder_connects_to_that_api(server, user_env):
    (server.models / "Stable-diffusion/x.safetensors").write_bytes(demo_bytes())
    with open("sagemaker_ui.json", "w") as fh:
        json.dump({"api_gateway_url": server.url, "api_token": server.token}, fh)
    target = resolve()
    assert target.url == server.url and target.token == server.token
    app = SdawsApp(target)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        assert app.conn.server is None and server.url in app.sub_title


@pytest.mark.anyio
async def test_settings_test_connection_explains_failures_and_save_reconnects(server, user_env):
    (server.models / "Stable-diffusion/x.safetensors").write_bytes(demo_bytes())
    app = SdawsApp(Target("http://127.0.0.1:9", "nope", "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "not connected" in app.sub_title, "first connection failed")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsModal), "settings open")
        await settle(pilot)
        modal = app.screen
        result = modal.query_one("#test-result", Label)

        async def test_with(url: str, token: str) -> str:
            before = str(result.render())  # each call's answer differs from the one before
            modal.query_one("#api-url", Input).value = url
            modal.query_one("#api-token", Input).value = token
            app.clear_notifications()  # a toast (the first connection's error) may lie over the button
            await click_when_ready(pilot, "#test")
            await settle(pilot)
            await until(pilot, lambda: str(result.render()) not in ("", "Testing…", before), "test result")
            return str(result.render())

        assert "403" in await test_with(server.url, "wrong-token")
        assert "Cannot reach" in await test_with("http://127.0.0.1:9", "x")
        assert result.size.height > 1  # a long message wraps inside the dialog instead of being cut
        assert "http:// or https://" in await test_with("localhost:8080", "x")
        ok = await test_with(server.url, server.token)
        assert "Connected" in ok and "local" in ok
        await pilot.click("#save")
        await until(pilot, lambda: app.conn is not None and server.url in app.sub_title, "reconnected")
    saved = json.loads(config_path().read_text())
    assert saved["api_url"] == server.url and saved["api_token"] == server.token
    assert stat.S_IMODE(os.stat(config_path()).st_mode) == 0o600  # it holds a token


@pytest.mark.anyio
async def test_upload_suggests_the_folder_and_verifies_sha256(server, tmp_path):
    src = tmp_path / "unnamed.safetensors"
    src.write_bytes(demo_bytes())
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        app.action_upload()
        await until(pilot, lambda: isinstance(app.screen, PathPickerModal), "file picker")
        await settle(pilot)
        path_input = app.screen.query_one("#path", Input)
        path_input.value = str(src)
        path_input.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, UploadDialog), "upload dialog")
        await settle(pilot)
        assert app.screen.query_one(Select).value == "Stable-diffusion"  # from the header's keys
        await pilot.click("#upload")
        pane = app.query_one(UploadsPane)
        await until(pilot, lambda: pane.results, "uploaded")
        assert pane.results[0]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (server.models / "Stable-diffusion/unnamed.safetensors").read_bytes() == src.read_bytes()


@pytest.mark.anyio
async def test_uploading_a_taken_name_offers_to_overwrite(server, tmp_path):
    (server.models / "Lora").mkdir()
    (server.models / "Lora/style.safetensors").write_bytes(b"old bytes")
    src = tmp_path / "style.safetensors"
    src.write_bytes(demo_bytes())
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        pane = app.query_one(UploadsPane)
        pane.enqueue(src, "Lora")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "asked to overwrite")
        assert "already exists" in app.screen.question
        assert app.screen.focused.id == "no"  # replacing a model is never the default
        await pilot.press("y")
        await until(pilot, lambda: pane.results, "uploaded over it")
    assert (server.models / "Lora/style.safetensors").read_bytes() == src.read_bytes()


@pytest.mark.anyio
async def test_an_upload_interrupted_in_an_earlier_run_resumes_after_restart(server, tmp_path):
    src = tmp_path / "big.safetensors"
    src.write_bytes(os.urandom(4 * 1024 * 1024 + 17))
    client = server.client()
    upload_stopped_after(client, src, "Lora", parts=2)  # "the earlier run": stopped after two of five parts
    (record,) = UploadState().pending().values()
    (server.models / "Stable-diffusion/x.safetensors").write_bytes(demo_bytes())  # not empty: no demo offer
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        pane = app.query_one(UploadsPane)
        await until(
            pilot,
            lambda: any(i.status.startswith("interrupted") for i in pane.queue.values()),
            "interrupted upload listed",
        )
        await pilot.press("u")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: pane.results, "resumed and completed")
        assert pane.results[0]["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert client.get_upload(record["upload_id"])["status"] == "completed"  # the same upload, resumed
    assert (server.models / "Lora/big.safetensors").read_bytes() == src.read_bytes()


@pytest.mark.anyio
async def test_help_screen_and_every_action_in_the_command_palette(server):
    (server.models / "Stable-diffusion/x.safetensors").write_bytes(demo_bytes())  # not empty: no demo offer
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpModal), "help open")
        await pilot.press("escape")
        await settle(pilot)
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for wanted in (
            "Upload a model file",
            "New txt2img job",
            "New img2img job",
            "New train job",
            "New merge job",
            "Settings",
            "Help",
            "Models: delete highlighted",
            "Models: convert highlighted",
            "Uploads: resume interrupted",
            "Models: filter by name",
        ):
            assert wanted in titles
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Settings")
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SettingsModal), "palette ran Settings")
