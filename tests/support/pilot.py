"""Helpers for Pilot tests: wait for the app's workers instead of sleeping for a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# Workers that live as long as their screen (they follow something): never waited on.
LONG_LIVED = ("_loader", "job-detail-follow")


async def _our_workers_done(app) -> None:
    # DirectoryTree keeps a loader worker alive for as long as it is shown, and the job view
    # follows its job until it ends or the view closes; a worker cancelled because its screen
    # closed is done too (it is not an error of the test).
    ours = [w for w in app.workers if w.group not in LONG_LIVED]
    if ours:
        await asyncio.gather(*(w.wait() for w in ours), return_exceptions=True)


async def settle(pilot, rounds: int = 3) -> None:
    """Let queued messages run and every running worker finish, a few times over."""
    for _ in range(rounds):
        await pilot.pause()
        await _our_workers_done(pilot.app)
    await pilot.pause()


async def until(
    pilot, condition: Callable[[], bool], what: str, attempts: int = 400, *, during_work: bool = False
) -> None:
    """Poll ``condition`` between event-loop turns; fail naming ``what`` if it never holds.

    ``during_work``: the condition holds only while a worker runs (a busy indicator), so do
    not wait for the workers between polls."""
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause()
        if not during_work:
            await _our_workers_done(pilot.app)
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def move_cursor_to(pilot, tree, node) -> None:
    """Put a Tree's cursor on ``node`` as a user's arrow keys would: once the node has its line."""
    await until(pilot, lambda: node.line >= 0, "the node is laid out")
    tree.move_cursor(node)
    await until(pilot, lambda: tree.cursor_node is node, "the cursor is on the node")


async def click_when_ready(pilot, selector: str) -> None:
    """Click a Button the way a person does: not while it still shows its last press.

    Textual ignores a click on a Button whose 0.2 s press effect (class ``-active``) is
    still on, so a second click that comes quickly after the first would be lost.
    """
    button = pilot.app.screen.query_one(selector)
    await until(pilot, lambda: not button.has_class("-active"), f"{selector} ready for another click")
    await pilot.click(selector)
