"""The command palette finds actions by their description too (lora, export, diffusers, demo)."""

from __future__ import annotations

import pytest

from sdaws.client.config import Target
from sdaws.client.demo import demo_bytes
from tests.support.pilot import until
from tui.app import SdawsApp
from tui.commands import DescribedCommandsProvider

SIZE = (120, 40)


@pytest.mark.anyio
async def test_words_of_a_description_find_the_command(server):
    (server.models / "Stable-diffusion/x.safetensors").write_bytes(demo_bytes())
    app = SdawsApp(Target(server.url, server.token, "test"))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.conn is not None, "connected")
        provider = DescribedCommandsProvider(app.screen)
        for word, wanted in (
            ("lora", "New txt2img job"),
            ("export", "Models: export highlighted converted model"),
            ("diffusers", "Models: convert highlighted"),
            ("demo", "Create demo model"),
        ):
            found = [str(hit.match_display) async for hit in provider.search(word)]
            assert any(wanted in title for title in found), (word, found)
