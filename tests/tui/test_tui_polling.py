"""How often the TUI asks the real local server (counted in its access log): the jobs
list once a timer tick while a job runs, never while nothing runs or while the job view
covers the app; the job view stops when its job ends; the Endpoints view's list does not
repeat while it holds no endpoint that is changing. The jobs are the runner's scripted
stand-ins (a `block` job runs until the test releases it); no time is asserted, only
requests against timer ticks."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

import tui.screens.endpoints as endpoints_view
import tui.screens.job_detail as job_detail
import tui.widgets.jobs_pane as jobs_pane
from sdaws.client.config import Target
from tests.support.access_log import access_log
from tests.support.jobs_api import TOKEN, merge_params
from tests.support.pilot import settle, until
from tui.app import SdawsApp
from tui.screens.endpoints import EndpointsScreen
from tui.screens.job_detail import JobDetailScreen
from tui.widgets.jobs_pane import JobsPane

SIZE = (120, 40)
TICK_S = 0.1  # the timers' intervals, shortened so a test sees many ticks


@pytest.fixture
def ticks(monkeypatch) -> dict[str, int]:
    """Timer ticks of the jobs pane and the Endpoints view, counted as they fire."""
    seen = {"jobs": 0, "endpoints": 0}
    for name, cls in (("jobs", JobsPane), ("endpoints", EndpointsScreen)):
        original = cls._tick

        def counting(self, _original=original, _name=name):
            seen[_name] += 1
            _original(self)

        monkeypatch.setattr(cls, "_tick", counting)
    monkeypatch.setattr(jobs_pane, "POLL_S", TICK_S)
    monkeypatch.setattr(job_detail, "POLL_S", TICK_S)
    monkeypatch.setattr(endpoints_view, "REFRESH_S", TICK_S)
    return seen


async def over_ticks(pilot, ticks: dict[str, int], which: str, n: int = 5) -> int:
    """Let ``n`` ticks of ``which`` pass (and the requests they sent finish); the ticks that passed."""
    start = ticks[which]
    await until(pilot, lambda: ticks[which] >= start + n, f"{n} {which} ticks")
    await settle(pilot)
    return ticks[which] - start


@asynccontextmanager
async def connected_app(handle):
    """(app, pilot, log): the TUI on the server, connected and settled, and the server's access
    log counting every request from before the app starts."""
    with access_log() as log:
        app = SdawsApp(Target(handle.url, TOKEN, "test"))
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.conn is not None, "connected")
            await settle(pilot)
            yield app, pilot, log


def polls_in_flight(app) -> int:
    """Polls sent by a tick already counted whose request may reach the server later."""
    return sum(1 for w in app.workers if w.group == "jobs-poll" and not w.is_finished)


@pytest.mark.anyio
async def test_the_jobs_list_is_asked_once_a_tick_while_a_job_runs_and_never_when_idle(
    start_server, tmp_path, ticks, user_env
):
    handle, http = start_server()
    async with connected_app(handle) as (app, pilot, log):
        pane = app.query_one(JobsPane)

        # Nothing runs: the list asked for on connect is the only one, tick after tick.
        assert log.count("GET", "/jobs") == 1
        await over_ticks(pilot, ticks, "jobs")
        assert log.count("GET", "/jobs") == 1

        # A job started elsewhere (a script) appears when the Jobs tab is shown ...
        job = http.post("/jobs", json={"kind": "merge", "params": merge_params("block-poll")}).json()
        await pilot.press("j")
        await until(pilot, lambda: job["job_id"] in pane.jobs, "the job listed")
        await settle(pilot)
        # ... and while it runs the list is asked for once a tick, no more.
        before, in_flight = log.count("GET", "/jobs"), polls_in_flight(app)
        passed = await over_ticks(pilot, ticks, "jobs")
        asked = log.count("GET", "/jobs") - before
        assert 1 <= asked <= passed + in_flight

        # The job view follows its job; the list behind it is not asked for meanwhile.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), "job view open")
        view_polls = lambda: log.count("GET", f"/jobs/{job['job_id']}/logs")  # noqa: E731
        record_asks = lambda: log.count("GET", f"/jobs/{job['job_id']}")  # noqa: E731
        await until(pilot, lambda: view_polls() >= 2, "the view polls", during_work=True)
        await settle(pilot)  # a poll sent just before the view opened has landed
        before, start, records = log.count("GET", "/jobs"), ticks["jobs"], record_asks()
        await until(pilot, lambda: ticks["jobs"] >= start + 5, "ticks behind the view", during_work=True)
        assert log.count("GET", "/jobs") == before
        # One request a poll: the log page carries the job's record, which is not asked for apart.
        assert view_polls() >= 2 and record_asks() == records

        # The job ends: the view stops asking; back on the list one poll sees the end, then none.
        (tmp_path / "data" / "jobs" / job["job_id"] / "release").touch()
        screen = app.screen
        await until(pilot, lambda: screen.job.get("status") == "SUCCEEDED", "the view saw the end", 600)
        await settle(pilot)
        followed = view_polls()
        await pilot.press("escape")
        await until(pilot, lambda: not pane.running(), "the list saw the end")
        await over_ticks(pilot, ticks, "jobs")
        after = log.count("GET", "/jobs")
        await over_ticks(pilot, ticks, "jobs")
        assert log.count("GET", "/jobs") == after
        assert view_polls() == followed


@pytest.mark.anyio
async def test_the_endpoints_view_asks_once_when_nothing_is_changing(start_server, ticks, user_env):
    handle, _ = start_server()
    async with connected_app(handle) as (app, pilot, log):
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EndpointsScreen), "endpoints open")
        await until(pilot, lambda: app.screen.mode == "local", "listed")
        await over_ticks(pilot, ticks, "endpoints")
        assert log.count("GET", "/endpoints") == 1
