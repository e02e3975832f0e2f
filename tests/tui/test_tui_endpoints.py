"""The Endpoints view (`e`) under Pilot: against the AWS API on moto it shows the default
endpoint the first txt2img created and deletes it on request; locally the one `local`."""

from __future__ import annotations

import boto3
import pytest
from textual.widgets import DataTable, Label

from sdaws.client.config import Target
from tests.support.api_world import TOKEN
from tests.support.compute_api import ENDPOINT
from tests.support.pilot import settle, until
from tui.app import SdawsApp
from tui.screens.confirm import ConfirmModal
from tui.screens.endpoints import EndpointsScreen

SIZE = (140, 44)


def rows(screen: EndpointsScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def open_view(pilot) -> EndpointsScreen:
    await until(pilot, lambda: pilot.app.conn is not None, "connected")
    await settle(pilot)
    if isinstance(pilot.app.screen, ConfirmModal):  # the empty tree's demo offer: no thanks
        await pilot.press("escape")
        await settle(pilot)
    await pilot.press("e")
    await until(pilot, lambda: isinstance(pilot.app.screen, EndpointsScreen), "endpoints open")
    await settle(pilot)
    return pilot.app.screen


@pytest.mark.anyio
async def test_the_endpoints_view_shows_scales_and_deletes_aws_endpoints(compute_gateway, endpoint_lifecycle, user_env):
    from sdaws.client.api import ApiClient

    with ApiClient(compute_gateway, TOKEN) as client:
        client.put_endpoint("default", "ml.g4dn.xlarge", 0, 1)
    endpoint_lifecycle.finish(ENDPOINT)
    app = SdawsApp(Target(compute_gateway, TOKEN, "test"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_view(pilot)
        assert rows(screen) == [["default", "InService", "ml.g4dn.xlarge", "0", "1", "1"]]
        await pilot.press("plus")
        await until(pilot, lambda: rows(screen)[0][4] == "2", "max raised to 2")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "asked first")
        await pilot.press("y")
        await until(pilot, lambda: rows(screen) == [], "deleted")
        assert "first txt2img creates 'default'" in str(screen.query_one("#endpoints-note", Label).content)
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []


@pytest.mark.anyio
async def test_locally_the_view_shows_this_machine(api_server, user_env):
    app = SdawsApp(Target(api_server.url, TOKEN, "test"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_view(pilot)
        assert rows(screen) == [["local", "InService", "local", "1", "1", "1"]]
        await pilot.press("d")  # nothing to delete locally
        await settle(pilot)
        assert app.screen is screen
