"""The scripting CLI: `sdaws <subcommand>` (sdaws.entry opens the TUI when none is given).

Each subcommand lives in its own module exposing ``register(subparsers)``; the
module sets ``func`` on its parser, which receives the parsed args and returns
the process exit code. Imports of heavy libraries (torch, textual) stay inside
the subcommand functions so `sdaws --help` and `sdaws serve` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sdaws.cli.common import UsageError
from sdaws.client.safe_text import printable

__all__ = ["UsageError", "build_parser", "named_subcommand", "run_command"]

# The subcommands, in the order --help lists them; each lives in sdaws.cli.<name>_cmd.
SUBCOMMANDS = (
    "serve",
    "convert",
    "export",
    "models",
    "upload",
    "import",
    "jobs",
    "generate",
    "train",
    "merge",
    "upscale",
    "endpoints",
)
# Top-level options that take a value: the word after them is not the subcommand.
_VALUED_OPTIONS = ("--api", "--token")


def named_subcommand(argv: list[str]) -> str | None:
    """The subcommand `argv` names, or None (no subcommand, --help, or a word argparse must reject)."""
    words = iter(argv)
    for word in words:
        if word in _VALUED_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: only the subcommand it names is imported, since each import
    costs start-up time (`sdaws convert` must stay near `cp`); with none named, all of them."""
    parser = argparse.ArgumentParser(
        prog="sdaws",
        description="Stable Diffusion model operations on AWS or on this machine.",
    )
    from sdaws.cli.common import add_connection_args  # `sdaws --api URL --token T` opens the TUI on it

    add_connection_args(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    named = named_subcommand(sys.argv[1:] if argv is None else argv)
    for name in (named,) if named else SUBCOMMANDS:
        importlib.import_module(f"sdaws.cli.{name}_cmd").register(subparsers)
    return parser


def run_command(args: argparse.Namespace) -> int:
    """Run the subcommand `args` names; its exit code (2 for a usage error, as one line)."""
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"sdaws: {printable(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sdaws: interrupted", file=sys.stderr)
        return 130
