"""The `sdaws` command: no subcommand opens the terminal UI, a subcommand runs the CLI.

Kept apart from sdaws.cli so the CLI never imports the Textual app (an import-linter
contract); the TUI is imported only when it is asked for.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from sdaws.cli.main import build_parser, run_command

    args = build_parser(argv).parse_args(argv)
    if not getattr(args, "func", None):
        from tui.app_entry import run_tui

        return run_tui(args)
    return run_command(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
