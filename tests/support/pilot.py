"""Helpers for Pilot tests: wait for the app's workers instead of sleeping for a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def _our_workers_done(app) -> None:
    # DirectoryTree keeps a loader worker alive for as long as it is shown: never wait on it.
    ours = [w for w in app.workers if w.group != "_loader"]
    if ours:  # an empty list would mean "all workers" to Textual
        await app.workers.wait_for_complete(ours)


async def settle(pilot, rounds: int = 3) -> None:
    """Let queued messages run and every running worker finish, a few times over."""
    for _ in range(rounds):
        await pilot.pause()
        await _our_workers_done(pilot.app)
    await pilot.pause()


async def until(pilot, condition: Callable[[], bool], what: str, attempts: int = 400) -> None:
    """Poll ``condition`` between event-loop turns; fail naming ``what`` if it never holds."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause()
        await _our_workers_done(pilot.app)
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def click_when_ready(pilot, selector: str) -> None:
    """Click a Button the way a person does: not while it still shows its last press.

    Textual ignores a click on a Button whose 0.2 s press effect (class ``-active``) is
    still on, so a second click that comes quickly after the first would be lost.
    """
    button = pilot.app.screen.query_one(selector)
    await until(pilot, lambda: not button.has_class("-active"), f"{selector} ready for another click")
    await pilot.click(selector)
