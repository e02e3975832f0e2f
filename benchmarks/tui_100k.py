"""The TUI on a 100,000-model folder: first paint, and the filter per keystroke.

A Lora/ folder of 100,000 (empty) .safetensors files under `sdaws serve` (the real CLI,
a child process); the real app runs headless under Textual's Pilot against it.

* paint: from opening the folder to its first rows on screen (the tree lists a page
  and pages on as the cursor goes down). Target < 1 s.
* filter: each keystroke of a name typed into the filter box, timed from the key to
  the tree showing that prefix's models (painted). Typed once while the folder's
  in-memory index is still being listed (the filter is then the API's prefix filter),
  and again once it is whole (the filter then asks nothing). Target < 100 ms per
  keystroke. Then the same name typed with no turn between keys (results of a
  superseded prefix must never land): time to the last prefix's rows.

Baseline: `ls -1 <folder> | grep ^<prefix>` for the same prefixes (a shell listing the
folder and filtering its names, per keystroke).

  .venv/bin/python benchmarks/tui_100k.py [--models 100000] [--typed lora-0421]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_api import TOKEN, start_server, stop_server
from models_100k import FOLDER, make_tree
from random_models import REPO


def shell_filter_s(folder: Path, prefix: str) -> float:
    start = time.perf_counter()
    subprocess.run(f"ls -1 {folder} | grep ^{prefix}", shell=True, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


async def run_app(url: str, typed: str) -> dict:
    """The figures: paint, before_index, indexed, keys, fast (seconds) and rows."""
    from textual.widgets import Input

    from sdaws.client.config import Target
    from tui.app import SdawsApp
    from tui.widgets.model_tree import ModelData, ModelTree

    app = SdawsApp(Target(url, TOKEN, "bench"))
    async with app.run_test(size=(120, 40)) as pilot:
        while app.conn is None:
            await pilot.pause(0.01)
        tree = app.query_one(ModelTree)
        while tree.loading_folders():  # Stable-diffusion/ opens on connect
            await pilot.pause(0.005)

        # When the screen last painted a change of the tree: the refresh after each filter
        # change and after each page that lands (Pilot's own pauses are not counted).
        painted_at: list[float] = []
        changes = [0]
        for method in ("set_prefix", "_add_page"):
            original = getattr(tree, method)

            def stamped(*args, _original=original):
                _original(*args)
                changes[0] += 1
                app.call_after_refresh(lambda: painted_at.append(time.perf_counter()))

            setattr(tree, method, stamped)

        async def settled(prefix: str) -> float:
            """Wait until the tree shows `prefix`'s models in Lora/ on screen; when it painted them."""
            lora = tree.folder_node(FOLDER)
            while tree.prefix != prefix or tree.loading_folders() or not (lora and lora.children):
                await pilot.pause(0.002)
            while len(painted_at) < changes[0]:
                await pilot.pause(0.002)
            return painted_at[-1]

        async def type_key_by_key() -> list[tuple[float, bool]]:
            """(seconds from the key to its rows on screen, whether the index served it) per key."""
            tree.focus()  # `/` moves the focus to the filter box (typed there, it would be a character)
            await pilot.press("slash")
            keys = []
            for i, char in enumerate(typed):
                from_index = tree.indexed(FOLDER)
                start = time.perf_counter()
                await pilot.press(char)
                keys.append((await settled(typed[: i + 1]) - start, from_index))
            shown = tree.models_in(FOLDER)
            assert all(isinstance(m, ModelData) and m.name.startswith(typed) for m in shown), "a stale row"
            for _ in typed:
                await pilot.press("backspace")
            await settled("")
            return keys

        start = time.perf_counter()
        tree.open_folder(FOLDER)
        result = {"paint": await settled("") - start}
        assert tree.models_in(FOLDER)
        result["before_index"] = await type_key_by_key()  # while the index is still being listed
        while not tree.indexed(FOLDER):  # the folder's names, listed to the end behind the first page
            await pilot.pause(0.02)
        result["indexed"] = time.perf_counter() - start
        result["keys"] = await type_key_by_key()

        box = app.query_one("#model-filter", Input)
        start = time.perf_counter()
        for i in range(len(typed)):  # as fast as a person types: no turn for the app in between
            box.value = typed[: i + 1]
        result["fast"] = await settled(typed) - start
        shown = tree.models_in(FOLDER)
        assert shown and all(m.name.startswith(typed) for m in shown), "typed fast: a stale row landed"
        result["rows"] = len(shown)
    return result


def ms(seconds: list[float]) -> str:
    return " ".join(f"{s * 1e3:.0f}" for s in seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--typed", default="lora-0421", help="the name typed into the filter, key by key")
    args = parser.parse_args()
    sys.path[:0] = [str(REPO)]
    with tempfile.TemporaryDirectory(prefix="sdaws-bench-tui-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        folder = make_tree(root / "models", args.models)
        print(f"made {args.models:,} files in {time.perf_counter() - start:.1f} s")
        baseline = [shell_filter_s(folder, args.typed[: i + 1]) for i in range(len(args.typed))]
        server, url = start_server(root / "models", root / "data", root / "serve.log")
        try:
            result = asyncio.run(run_app(url, args.typed))
        finally:
            stop_server(server)
    base = statistics.median(baseline)
    keys = [s for s, _ in result["keys"]]
    early = result["before_index"]
    print(f"\nTUI (Pilot, headless, 120x40) against `sdaws serve`, {args.models:,} models in {FOLDER}/")
    print(f"  first paint of the folder: {result['paint'] * 1e3:.0f} ms (target < 1,000 ms)")
    print(
        "  typed while the index is being listed (the API's prefix filter; i = from the index): "
        + " ".join(f"{s * 1e3:.0f}{'i' if hit else ''}" for s, hit in early)
        + " ms"
    )
    print(f"  the folder's index whole, listed behind the first page: {result['indexed']:.1f} s after opening it")
    print(f"  filter from the index, {len(keys)} keystrokes of {args.typed!r} ({result['rows']} rows at the end):")
    print(f"    per key ms: {ms(keys)}")
    print(f"    median {statistics.median(keys) * 1e3:.0f} ms, max {max(keys) * 1e3:.0f} ms (target < 100 ms)")
    print(
        f"  typed with no turn between keys: the last prefix's rows on screen {result['fast'] * 1e3:.0f} ms after the first"
    )
    print(
        f"  baseline `ls -1 | grep ^prefix` per keystroke: median {base * 1e3:.0f} ms, max {max(baseline) * 1e3:.0f} ms"
    )
    print(f"  sdaws / baseline per keystroke (median): {statistics.median(keys) / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
