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

__all__ = ["UsageError", "build_parser", "run_command"]

# Modules under sdaws.cli that provide subcommands, in the order --help lists them.
SUBCOMMAND_MODULES = (
    "serve_cmd",
    "convert_cmd",
    "export_cmd",
    "models_cmd",
    "upload_cmd",
    "import_cmd",
    "jobs_cmd",
    "generate_cmd",
    "train_cmd",
    "merge_cmd",
    "upscale_cmd",
    "endpoints_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdaws",
        description="Stable Diffusion model operations on AWS or on this machine.",
    )
    from sdaws.cli.common import add_connection_args  # `sdaws --api URL --token T` opens the TUI on it

    add_connection_args(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(f"sdaws.cli.{name}")
        module.register(subparsers)
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
