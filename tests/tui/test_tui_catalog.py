"""Pilot tests of the model catalog in the details pane, against the real local server:
hashes, family, a kohya LoRA's facts and the WebUI's NAME.json fields shown as plain text,
the preview image where the tree is local, and `i` editing the notes into NAME.json."""

from __future__ import annotations

import io
import json

import pytest
from textual.widgets import Input, TextArea

from sdaws.client.catalog_rows import hash_rows
from sdaws.client.config import Target
from tests.support.catalog_files import (
    kohya_lora_tensors,
    kohya_metadata,
    write_safetensors,
    write_webui_user_metadata,
)
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.screens.metadata_dialog import MetadataDialog
from tui.widgets.model_details import ModelDetails
from tui.widgets.model_preview import ModelPreview
from tui.widgets.model_tree import ModelTree

SIZE = (140, 44)
NOTES = {
    "description": "an orange cat, [bold]sitting[/]",
    "activation text": "sks cat",
    "preferred weight": 0.7,
    "notes": "trained on 82 images\x1b]0;pwned\x07",
    "sd version": "SDXL",
}


def png(size=(8, 8)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, format="PNG")
    return out.getvalue()


def webui_lora(models, name: str = "sks_cat", preview: bytes | None = None) -> None:
    """An SDXL kohya LoRA with its NAME.json and preview, as the WebUI and sd-scripts leave them."""
    model = models / "Lora" / f"{name}.safetensors"
    write_safetensors(model, kohya_lora_tensors("sdxl"), kohya_metadata("sdxl_base_v1-0", dim=16, alpha=8.0))
    write_webui_user_metadata(model, NOTES)
    (models / "Lora" / f"{name}.preview.png").write_bytes(preview if preview is not None else png())


async def details_of(pilot, folder: str, name: str) -> ModelDetails:
    """Open the folder, put the cursor on the model, wait until its hashes are known."""
    app = pilot.app
    await until(pilot, lambda: app.conn is not None, "connected")
    tree = app.query_one(ModelTree)
    node = tree.folder_node(folder)
    node.expand()
    await until(pilot, lambda: [m.name for m in tree.models_in(folder)] == [name], "listed")
    tree.focus()
    await move_cursor_to(pilot, tree, node.children[0])
    details = app.query_one(ModelDetails)
    # No key pressed: while the server hashes, the pane asks again by itself.
    await until(pilot, lambda: "AutoV2" in dict(details.rows), "hashes shown", attempts=1200)
    return details


@pytest.mark.anyio
async def test_details_show_hashes_family_lora_facts_and_webui_notes_as_plain_text(server):
    import hashlib

    webui_lora(server.models)
    sha = hashlib.sha256((server.models / "Lora/sks_cat.safetensors").read_bytes()).hexdigest()
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        details = await details_of(pilot, "Lora", "sks_cat.safetensors")
        shown = dict(details.rows)
        assert shown["SHA-256"] == sha[:12] + "…" and shown["AutoV2"] == sha[:10]
        assert shown["Family"].startswith("fits SDXL")
        assert shown["Trained on"] == "sdxl_base_v1-0" and shown["Dim / alpha"] == "16 / 8.0"
        assert shown["Top tags"].startswith("sks cat (40), orange fur (30), sitting (12)")
        assert shown["Activation text"] == "sks cat" and shown["Weight"] == "0.7"
        assert shown["Description"] == "an orange cat, [bold]sitting[/]"  # brackets stay text
        assert "\x1b" not in shown["Notes"] and "\\x1b]0;pwned\\x07" in shown["Notes"]
        assert shown["Preview"] == "Lora/sks_cat.preview.png"


def test_a_model_still_hashing_says_so():
    # HashState as GET /models/{type}/{name} sends it while the local server hashes.
    assert hash_rows({"status": "hashing", "hashed_bytes": 512, "size": 2048}) == [("SHA-256", "hashing… 25%")]
    assert hash_rows({"status": "pending"})[0][1].startswith("pending")


@pytest.mark.anyio
async def test_the_preview_image_shows_where_the_tree_is_on_this_machine(user_env, tmp_path):
    models = tmp_path / "models"
    (models / "Stable-diffusion").mkdir(parents=True)
    webui_lora(models)
    app = SdawsApp(Target(None, "", "embedded local server", str(models)), half_block_images=True)
    async with app.run_test(size=SIZE) as pilot:
        await details_of(pilot, "Lora", "sks_cat.safetensors")
        preview = app.query_one(ModelPreview)
        await until(pilot, lambda: len(preview.query(".preview-image")) == 1, "the preview image is on screen")
        assert preview.path == (models / "Lora/sks_cat.preview.png").resolve()


@pytest.mark.anyio
async def test_the_preview_of_a_remote_tree_comes_by_its_url(server):
    webui_lora(server.models)
    app = SdawsApp(Target(server.url, server.token, "test"), half_block_images=True)  # not this machine's tree
    async with app.run_test(size=SIZE) as pilot:
        await details_of(pilot, "Lora", "sks_cat.safetensors")
        preview = app.query_one(ModelPreview)
        await until(pilot, lambda: len(preview.query(".preview-image")) == 1, "the preview image is on screen")
        assert (
            preview.path is not None
            and preview.path.read_bytes() == (server.models / "Lora/sks_cat.preview.png").read_bytes()
        )


@pytest.mark.anyio
async def test_a_broken_preview_file_is_named_not_a_crash(user_env, tmp_path):
    models = tmp_path / "models"
    (models / "Stable-diffusion").mkdir(parents=True)
    webui_lora(models, preview=png((64, 64))[:45])  # cut short, as a half-copied file is
    app = SdawsApp(Target(None, "", "embedded local server", str(models)), half_block_images=True)
    async with app.run_test(size=SIZE) as pilot:
        await details_of(pilot, "Lora", "sks_cat.safetensors")
        preview = app.query_one(ModelPreview)
        await until(pilot, lambda: len(preview.children) == 1, "the preview's place filled")
        assert not preview.query(".preview-image")
        assert "preview not shown" in str(preview.children[0].render())


@pytest.mark.anyio
async def test_i_edits_the_notes_into_the_webui_json_and_the_details_follow(server):
    webui_lora(server.models)
    sidecar = server.models / "Lora/sks_cat.json"
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        details = await details_of(pilot, "Lora", "sks_cat.safetensors")
        await settle(pilot)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, MetadataDialog), "notes dialog")
        dialog = app.screen
        assert dialog.query_one("#meta-activation_text", Input).value == "sks cat"
        assert dialog.query_one("#meta-weight", Input).value == "0.7"
        dialog.query_one("#meta-weight", Input).value = "12"  # out of range: the dialog says so, stays
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and json.loads(sidecar.read_text())["preferred weight"] == 0.7
        dialog.query_one("#meta-weight", Input).value = "0.85"
        dialog.query_one("#meta-activation_text", Input).value = "sks cat, orange fur"
        dialog.query_one("#meta-notes", TextArea).text = "best at 1024px"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: dict(details.rows).get("Notes") == "best at 1024px", "details refreshed")
        saved = json.loads(sidecar.read_text())
        assert saved["activation text"] == "sks cat, orange fur" and saved["preferred weight"] == 0.85
        assert saved["notes"] == "best at 1024px"
        # Untouched fields keep the bytes they had, also the ones shown escaped.
        assert saved["description"] == NOTES["description"] and saved["sd version"] == "SDXL"
        assert dict(details.rows)["Weight"] == "0.85"
