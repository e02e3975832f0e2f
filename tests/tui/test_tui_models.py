"""Pilot tests of the model browser against the real local server (connect, browse, filter, delete)."""

from __future__ import annotations

import pytest

from sdaws.client.config import Target
from sdaws.client.demo import demo_bytes
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.widgets.model_details import ModelDetails
from tui.widgets.model_tree import ModelData, ModelTree, MoreData

SIZE = (120, 40)


def remote(server) -> Target:
    return Target(server.url, server.token, "test")


def labels(node) -> list[str]:
    return [str(child.label) for child in node.children]


def folder_node(app, name):
    return app.query_one(ModelTree).folder_node(name)


async def on_a_checkpoint(pilot, listed: int, index: int):
    """Wait for Stable-diffusion/ to list ``listed`` models, then put the tree's cursor on one."""
    tree = pilot.app.query_one(ModelTree)
    sd = folder_node(pilot.app, "Stable-diffusion")
    await until(pilot, lambda: len(sd.children) == listed, "listed")
    tree.focus()
    await move_cursor_to(pilot, tree, sd.children[index])
    return tree, sd


async def lora_details(pilot, name: str) -> ModelDetails:
    """Open Lora/, put the cursor on its first LoRA (``name``) and wait for its details."""
    tree = pilot.app.query_one(ModelTree)
    lora = folder_node(pilot.app, "Lora")
    lora.expand()
    await until(pilot, lambda: tree.models_in("Lora"), "LoRAs listed")
    await move_cursor_to(pilot, tree, lora.children[0])
    details = pilot.app.query_one(ModelDetails)
    await until(pilot, lambda: dict(details.rows).get("Model") == f"Lora/{name}", "LoRA details")
    return details


@pytest.mark.anyio
async def test_connect_browse_and_details(server):
    (server.models / "Stable-diffusion/demo.safetensors").write_bytes(demo_bytes())
    app = SdawsApp(remote(server))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        assert "local" in app.sub_title
        tree = app.query_one(ModelTree)
        assert len(tree.root.children) == 16  # the 15 tree folders, then the converted models
        assert str(tree.root.children[-1].label) == "diffusers (converted models)"
        sd = folder_node(app, "Stable-diffusion")
        await until(pilot, lambda: any(isinstance(c.data, ModelData) for c in sd.children), "first page listed")
        assert [c.data.name for c in sd.children] == ["demo.safetensors"]
        await move_cursor_to(pilot, tree, sd.children[0])
        details = app.query_one(ModelDetails)
        await until(pilot, lambda: details.rows, "details shown")
        shown = dict(details.rows)
        assert shown["Model"] == "Stable-diffusion/demo.safetensors"
        assert shown["Format"] == "safetensors" and shown["Tensors"].startswith("8 ")


@pytest.mark.anyio
async def test_missing_stable_diffusion_is_a_visible_warning_until_it_exists(server):
    (server.models / "Stable-diffusion").rmdir()
    (server.models / "Lora").mkdir()
    (server.models / "Lora/a.safetensors").write_bytes(demo_bytes())
    app = SdawsApp(remote(server))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        await pilot.press("escape")  # the empty-tree demo offer is not shown: Lora has a model
        warning = app.query_one("#tree-warning")
        await until(pilot, lambda: not warning.has_class("hidden"), "warning visible")
        assert "Stable-diffusion" in str(warning.render())
        (server.models / "Stable-diffusion").mkdir()  # the user makes it; a refresh sees it
        app.query_one(ModelTree).focus()
        await pilot.press("r")
        await until(pilot, lambda: warning.has_class("hidden"), "warning gone")


@pytest.mark.anyio
async def test_ten_thousand_models_page_lazily_and_filter_as_you_type(server):
    lora = server.models / "Lora"
    lora.mkdir()
    for i in range(2_000):  # enough for many pages; the benchmark does 10,000
        (lora / f"m{i:05d}.safetensors").write_bytes(b"x")
    app = SdawsApp(remote(server))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        tree = app.query_one(ModelTree)
        node = folder_node(app, "Lora")
        node.expand()
        await until(pilot, lambda: len(node.children) > 1, "first page")
        assert len(node.children) == 201 and isinstance(node.children[-1].data, MoreData)  # one page + "more"
        await until(pilot, lambda: node.children[-1].line >= 0, "laid out")
        tree.move_cursor(node.children[-1])  # reaching the end loads the next page
        await until(pilot, lambda: len(node.children) == 401, "second page")
        await pilot.press("slash")
        await pilot.press(*"m0199")
        await until(
            pilot,
            lambda: (
                [c.data.name for c in node.children if isinstance(c.data, ModelData)]
                == [f"m0199{i}.safetensors" for i in range(10)]
            ),
            "filtered by prefix",
        )


@pytest.mark.anyio
async def test_delete_asks_first_and_then_deletes(server):
    model = server.models / "Stable-diffusion/gone.safetensors"
    model.write_bytes(demo_bytes())
    (server.models / "Stable-diffusion/kept.safetensors").write_bytes(demo_bytes())
    app = SdawsApp(remote(server))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        tree, sd = await on_a_checkpoint(pilot, listed=2, index=0)
        await settle(pilot)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("n")  # "no" keeps it
        await settle(pilot)
        assert model.exists()
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await until(pilot, lambda: not model.exists(), "deleted on disk")
        await until(
            pilot,
            lambda: [c.data.name for c in sd.children if isinstance(c.data, ModelData)] == ["kept.safetensors"],
            "tree refreshed",
        )


@pytest.mark.anyio
async def test_refresh_keeps_the_cursor_and_the_header_names_the_mode_once(server):
    for name in ("a.safetensors", "b.safetensors", "c.safetensors"):
        (server.models / "Stable-diffusion" / name).write_bytes(demo_bytes())
    (server.models / "Lora").mkdir()
    (server.models / "Lora/style.safetensors").write_bytes(demo_bytes())
    app = SdawsApp(remote(server))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        assert app.sub_title.count("local") == 1, app.sub_title
        tree, sd = await on_a_checkpoint(pilot, listed=3, index=1)
        await settle(pilot)
        (server.models / "Stable-diffusion/0-new.safetensors").write_bytes(demo_bytes())  # shifts every line
        await pilot.press("r")
        await until(pilot, lambda: len(sd.children) == 4, "reloaded")
        await until(pilot, lambda: tree.highlighted_model() is not None, "cursor back on a model")
        assert tree.highlighted_model().name == "b.safetensors"

        details = await lora_details(pilot, "style.safetensors")
        assert "Conversions" not in dict(details.rows) and "Architecture" not in dict(details.rows)


@pytest.mark.anyio
async def test_model_metadata_is_shown_as_plain_text_never_as_markup_or_escapes(server):
    from rich.console import Console

    from tests.support.safetensors_files import write_safetensors

    write_safetensors(
        server.models / "Lora/hostile.safetensors",
        {"lora_unet_x.lora_down.weight": ("F16", [4, 8])},
        metadata={"ss_output_name": "\x1b]0;pwned\x07evil", "note": "[bold red]not markup[/]"},
    )
    app = SdawsApp(remote(server))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        details = await lora_details(pilot, "hostile.safetensors")
        console = Console(width=200, record=True, color_system=None)
        console.print(details.content)
        shown = console.export_text()
        assert "[bold red]not markup[/]" in shown  # the brackets are text, not styling
        assert "\\x1b]0;pwned\\x07evil" in shown and "\x1b" not in shown
