"""`sdaws` with no subcommand: resolve where the API is and run the TUI."""

from __future__ import annotations

import argparse
import os
import sys


def run_tui(args: argparse.Namespace) -> int:
    try:
        import textual  # noqa: F401
    except ImportError:
        print("sdaws: the terminal UI needs the 'tui' extra: pip install 'sdaws[tui]'", file=sys.stderr)
        return 2
    if not sys.stdout.isatty():
        print("sdaws: the terminal UI needs a terminal; use a subcommand for scripts (sdaws --help)", file=sys.stderr)
        return 2
    # textual-image asks the terminal about graphics support; it must do so before Textual takes over.
    import textual_image.widget  # noqa: F401

    from sdaws.client.config import resolve
    from tui.app import SdawsApp

    target = resolve(getattr(args, "api", None), getattr(args, "token", None))
    half_block = bool(os.environ.get("TMUX")) or os.environ.get("SDAWS_IMAGES") == "halfblock"
    SdawsApp(target, half_block_images=half_block).run()
    return 0
