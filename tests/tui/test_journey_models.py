"""Journeys in the model browser: converted models are a branch of the tree (listed with
size, architecture and source, usable as a job's model, exportable, deletable), and a
filter typed fast shows each model once."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from sdaws.client.config import Target
from sdaws.client.demo import demo_bytes
from tests.support.job_server import TOKEN
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.screens.confirm import ConfirmModal
from tui.screens.convert_dialog import ConvertDialog
from tui.screens.export_dialog import ExportDialog
from tui.screens.job_detail import JobDetailScreen
from tui.screens.job_form import JobForm
from tui.widgets.model_details import ModelDetails
from tui.widgets.model_tree import ModelData, ModelTree

SIZE = (140, 44)
JOB_WAIT = 3000  # event-loop turns: a deadline for a hung job, not a timing assertion


def leaf(tree: ModelTree, folder: str, name: str):
    node = tree.folder_node(folder)
    return next(c for c in node.children if isinstance(c.data, ModelData) and c.data.name == name)


async def finish_job(pilot) -> dict:
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "job view")
    view = app.screen
    await until(pilot, lambda: view.job.get("status") in ("SUCCEEDED", "FAILED", "CANCELLED"), "job ended", JOB_WAIT)
    assert view.job["status"] == "SUCCEEDED", view.job.get("error")
    return view.job


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.anyio
async def test_a_converted_model_is_listed_used_exported_and_deleted(job_server, user_env):
    handle, models = job_server
    app = SdawsApp(Target(handle.url, TOKEN, "test"), half_block_images=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        tree = app.query_one(ModelTree)
        await until(pilot, lambda: "beta.safetensors" in [m.name for m in tree.models_in("Stable-diffusion")], "listed")
        tree.focus()
        await move_cursor_to(pilot, tree, leaf(tree, "Stable-diffusion", "beta.safetensors"))
        await settle(pilot)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConvertDialog), "convert dialog")
        await settle(pilot)
        assert app.screen.focused is app.screen.query_one("#arch")  # the first field
        assert app.screen.query_one("#output-name", Input).value == "beta"
        await pilot.press("ctrl+s")  # as the help says
        job = await finish_job(pilot)
        assert "given by the caller" not in job["progress"]["message"]  # the dialog's prefill is not an override
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("m")

        # The checkpoint's details (the cursor stayed on it) now name its conversion, unasked.
        details = app.query_one(ModelDetails)
        await until(pilot, lambda: dict(details.rows).get("Conversions") == "diffusers/beta", "details refreshed")
        assert dict(details.rows)["Model"] == "Stable-diffusion/beta.safetensors"
        converted = tree.folder_node("diffusers")
        converted.expand()
        await until(pilot, lambda: "beta" in [m.name for m in tree.models_in("diffusers")], "converted listed")
        await move_cursor_to(pilot, tree, leaf(tree, "diffusers", "beta"))
        await until(pilot, lambda: dict(details.rows).get("Model") == "diffusers/beta", "converted details")
        shown = dict(details.rows)
        assert shown["Architecture"].startswith("sd1 · epsilon")
        assert shown["Source"] == "Stable-diffusion/beta.safetensors"
        assert shown["Format"] == "diffusers" and shown["Size"].endswith("bytes)")

        # Usable as a job's model: the form opens with it.
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobForm), "form")
        assert app.screen.query_one("#f-model", Input).value == "diffusers/beta"
        await pilot.press("escape")
        await settle(pilot)

        # Exported back to one file from the TUI.
        await pilot.press("ctrl+e")
        await until(pilot, lambda: isinstance(app.screen, ExportDialog), "export dialog")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await finish_job(pilot)
        assert (models / "Stable-diffusion/beta-export.safetensors").is_file()
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)

        # Deleted, the whole folder, after asking.
        tree.focus()
        await move_cursor_to(pilot, tree, leaf(tree, "diffusers", "beta"))
        await settle(pilot)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "asked")
        await pilot.press("y")
        await until(pilot, lambda: not (models / "diffusers/beta").exists(), "folder deleted")
        await until(pilot, lambda: "beta" not in [m.name for m in tree.models_in("diffusers")], "gone from tree")


@pytest.mark.anyio
async def test_a_filter_typed_fast_shows_each_model_once(server):
    for name in ("sdaws-demo-tiny.safetensors", "sdxl.safetensors", "other.safetensors"):
        (server.models / "Stable-diffusion" / name).write_bytes(demo_bytes())
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        tree = app.query_one(ModelTree)
        await until(pilot, lambda: len(tree.models_in("Stable-diffusion")) == 3, "listed")
        box = app.query_one("#model-filter", Input)
        for typed in ("s", "sd", "sda", "sdaw", "sdaws"):  # as fast as a person types: no turn in between
            box.value = typed
        await settle(pilot)
        await until(
            pilot,
            lambda: [m.name for m in tree.models_in("Stable-diffusion")] == ["sdaws-demo-tiny.safetensors"],
            "filtered",
        )
        await settle(pilot, rounds=5)
        assert [m.name for m in tree.models_in("Stable-diffusion")] == ["sdaws-demo-tiny.safetensors"]
