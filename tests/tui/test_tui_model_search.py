"""Pilot tests of the whole-tree search (ctrl+f) and the duplicates view (D), against the real
local server over WebUI-layout files: a kohya LoRA, a byte-identical copy of it, and a second
LoRA trained on other tags."""

from __future__ import annotations

import hashlib
import shutil

import pytest
from textual.widgets import Input, OptionList

from sdaws.client.config import Target
from tests.support.catalog_files import kohya_lora_tensors, kohya_metadata, write_safetensors
from tests.support.pilot import settle, until
from tui.app import SdawsApp
from tui.screens.model_search import ModelSearchScreen, parse_query
from tui.widgets.model_tree import ModelTree

SIZE = (140, 44)
DOG_TAGS = {"5_blue dog": {"blue dog": 5, "running": 3}}


def webui_loras(models) -> str:
    lora = write_safetensors(
        models / "Lora" / "sks_cat.safetensors", kohya_lora_tensors("sdxl"), kohya_metadata("sdxl_base_v1-0")
    )
    shutil.copy(lora, models / "Lora" / "sks_cat_copy.safetensors")
    write_safetensors(
        models / "Lora" / "blue_dog.safetensors",
        kohya_lora_tensors("sdxl"),
        kohya_metadata("sdxl_base_v1-0", tags=DOG_TAGS, output_name="blue_dog"),
    )
    return hashlib.sha256(lora.read_bytes()).hexdigest()


def all_hashed(server) -> bool:
    client = server.client()
    names = ("sks_cat.safetensors", "sks_cat_copy.safetensors", "blue_dog.safetensors")
    return all(client.model_info("Lora", name)["hash"]["status"] == "done" for name in names)


def listed(screen: ModelSearchScreen) -> list[str]:
    return sorted(screen.keys.values())


@pytest.fixture
def app(server):
    """The TUI aimed at the server, not started yet."""
    return SdawsApp(Target(server.url, server.token, "test"))


async def connected_and_hashed(pilot, server) -> None:
    await until(pilot, lambda: pilot.app.conn is not None, "connected")
    # The server reads headers and hashes in the background; tags are known once it has.
    await until(pilot, lambda: all_hashed(server), "the server has hashed the tree", attempts=1200)


async def open_search(pilot, key: str, what: str) -> ModelSearchScreen:
    """Press `key` (ctrl+f: the search; D: the duplicates view); the screen it opens."""
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, ModelSearchScreen), what)
    screen = app.screen
    assert isinstance(screen, ModelSearchScreen)
    return screen


async def type_query(pilot, text: str) -> None:
    box = pilot.app.screen.query_one("#search-input", Input)
    box.value = ""
    await pilot.press(*text)  # one keystroke at a time: each starts a search that supersedes the last


@pytest.mark.anyio
async def test_search_by_name_and_trigger_tag_then_enter_shows_it_in_the_tree(server, app):
    webui_loras(server.models)
    async with app.run_test(size=SIZE) as pilot:
        await connected_and_hashed(pilot, server)
        screen = await open_search(pilot, "ctrl+f", "the search screen is open")

        await type_query(pilot, "copy")
        await until(pilot, lambda: listed(screen) == ["Lora/sks_cat_copy.safetensors"], "found by name")
        await type_query(pilot, "tag:blue")
        await until(pilot, lambda: listed(screen) == ["Lora/blue_dog.safetensors"], "found by trigger tag")
        await type_query(pilot, "tag:sks family:sdxl")
        await until(
            pilot,
            lambda: listed(screen) == ["Lora/sks_cat.safetensors", "Lora/sks_cat_copy.safetensors"],
            "found by tag and family",
        )
        # A reply to an older query that lands late changes nothing.
        screen._show_results([{"type": "Lora", "name": "stale.safetensors"}], screen.generation - 1)
        assert "Lora/stale.safetensors" not in screen.keys.values()

        await type_query(pilot, "copy")
        await until(pilot, lambda: listed(screen) == ["Lora/sks_cat_copy.safetensors"], "found by name again")
        await pilot.press("enter")  # from the box to the results
        options = screen.query_one("#search-results", OptionList)
        await until(pilot, lambda: options.has_focus and options.highlighted == 0, "the first result highlighted")
        await pilot.press("enter")
        tree = app.query_one(ModelTree)
        await until(pilot, lambda: app.screen is not screen, "the search closed")
        await until(
            pilot,
            lambda: (
                (m := tree.highlighted_model()) is not None and (m.type, m.name) == ("Lora", "sks_cat_copy.safetensors")
            ),
            "the tree's cursor is on the model",
        )


@pytest.mark.anyio
async def test_two_identical_files_show_as_one_duplicates_group(server, app):
    sha = webui_loras(server.models)
    async with app.run_test(size=SIZE) as pilot:
        await connected_and_hashed(pilot, server)
        screen = await open_search(pilot, "D", "the duplicates view is open")
        await until(
            pilot,
            lambda: listed(screen) == ["Lora/sks_cat.safetensors", "Lora/sks_cat_copy.safetensors"],
            "one group of the two copies",
        )
        options = screen.query_one("#search-results", OptionList)
        heads = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert [h for h in heads if not h.startswith(" ")] == [heads[0]] and heads[0].startswith(sha[:12])
        await pilot.press("ctrl+t")  # to the search, then back
        await settle(pilot)
        assert screen.query_one("#search-input", Input).display
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not screen, "closed")


def test_the_search_box_prefixes():
    assert parse_query("sks  tag:cat Family:sdxl hash:ABCD type:Lora") == {
        "q": "sks",
        "tag": "cat",
        "family": "SDXL",
        "hash": "ABCD",
        "type": "Lora",
    }
    assert parse_query("a:b c") == {"q": "a:b c"} and parse_query("  ") == {}


@pytest.mark.anyio
async def test_a_model_the_filter_hides_is_still_shown_in_the_tree(server, app):
    webui_loras(server.models)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        tree = app.query_one(ModelTree)
        tree.folder_node("Lora").expand()
        app.query_one("#model-filter", Input).value = "blue"
        await until(pilot, lambda: [m.name for m in tree.models_in("Lora")] == ["blue_dog.safetensors"], "filtered")
        screen = await open_search(pilot, "ctrl+f", "the search screen is open")
        await type_query(pilot, "sks_cat_copy")
        await until(pilot, lambda: listed(screen) == ["Lora/sks_cat_copy.safetensors"], "found by name")
        await pilot.press("enter", "enter")
        await until(
            pilot,
            lambda: (m := tree.highlighted_model()) is not None and m.name == "sks_cat_copy.safetensors",
            "the tree's cursor is on the model the filter hid",
        )
        assert app.query_one("#model-filter", Input).value == "sks_cat_copy.safetensors"
