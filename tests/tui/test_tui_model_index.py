"""The model tree's in-memory index under Pilot against the real local server: once a
large folder is listed to its end, the filter shows matches (a few screens at a time)
without asking the server; a refresh lists it again; a folder too large to index keeps
the API's prefix filter, where a superseded filter's pages never land."""

from __future__ import annotations

import pytest
from textual.widgets import Input

import tui.widgets.model_tree as model_tree
from sdaws.client.config import Target
from tests.support.access_log import access_log
from tests.support.pilot import move_cursor_to, settle, until
from tui.app import SdawsApp
from tui.widgets.model_tree import INDEX_ROWS, ModelData, ModelTree, MoreData

SIZE = (120, 40)


def lora_folder(server, count: int) -> None:
    lora = server.models / "Lora"
    lora.mkdir()
    for i in range(count):
        (lora / f"m{i:05d}.safetensors").write_bytes(b"x")


def names(tree: ModelTree) -> list[str]:
    return [m.name for m in tree.models_in("Lora")]


@pytest.mark.anyio
async def test_an_indexed_folder_filters_without_asking_the_server_and_a_refresh_lists_it_again(server):
    lora_folder(server, 1_500)
    with access_log() as log:
        app = SdawsApp(Target(server.url, server.token, "test"))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.conn is not None, "connected")
            tree = app.query_one(ModelTree)
            node = tree.folder_node("Lora")
            node.expand()
            await until(pilot, lambda: tree.indexed("Lora"), "Lora/ listed to its end")
            await settle(pilot)
            asked = log.count("GET", "/models")

            await pilot.press("slash", *"m01")
            await until(pilot, lambda: names(tree) == [f"m01{i:03d}.safetensors" for i in range(100)], "filtered")
            await pilot.press("backspace")  # "m0": 1,000 matches, shown a few screens at a time
            await until(pilot, lambda: len(names(tree)) == INDEX_ROWS, "first rows of m0")
            assert isinstance(node.children[-1].data, MoreData)
            tree.focus()
            await move_cursor_to(pilot, tree, node.children[-1])  # reaching "more" shows the next rows
            await until(pilot, lambda: len(names(tree)) == 2 * INDEX_ROWS, "next rows of m0")
            assert names(tree) == [f"m{i:05d}.safetensors" for i in range(2 * INDEX_ROWS)]
            await settle(pilot)
            assert log.count("GET", "/models") == asked  # all of it from the index

            # A model that arrived meanwhile shows once the tree is refreshed.
            (server.models / "Lora" / "m00000a.safetensors").write_bytes(b"x")
            await pilot.press("r")
            await until(pilot, lambda: "m00000a.safetensors" in names(tree), "listed again")
            await until(pilot, lambda: tree.indexed("Lora"), "indexed again")
            assert log.count("GET", "/models") > asked


@pytest.mark.anyio
async def test_a_folder_too_large_to_index_filters_through_the_api_and_stale_pages_never_land(server, monkeypatch):
    monkeypatch.setattr(model_tree, "INDEX_LIMIT", 500)
    lora_folder(server, 1_500)
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        tree = app.query_one(ModelTree)
        tree.folder_node("Lora").expand()
        await until(pilot, lambda: len(names(tree)) == model_tree.PAGE_SIZE, "first page")
        await settle(pilot)
        assert not tree.indexed("Lora")
        box = app.query_one("#model-filter", Input)
        for typed in ("m", "m0", "m01", "m012", "m0123"):  # as fast as a person types: no turn in between
            box.value = typed
        await until(pilot, lambda: names(tree) == [f"m0123{i}.safetensors" for i in range(10)], "filtered")
        await settle(pilot, rounds=5)
        assert names(tree) == [f"m0123{i}.safetensors" for i in range(10)]
        assert all(isinstance(c.data, ModelData) for c in tree.folder_node("Lora").children)
