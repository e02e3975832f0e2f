"""Plumbing shared by the script-facing subcommands: connection flags, output, errors."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sdaws.cli.words import in_cli_words
from sdaws.client.safe_text import printable

if TYPE_CHECKING:
    from sdaws.client.api import ApiClient
    from sdaws.client.connection import Connection

T = TypeVar("T")

# The client (httpx, pydantic specs) is imported where a command connects, not here:
# the offline commands (convert, export, serve) start without paying for it.


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit code 2."""


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    """--api/--token on the top-level parser and on every subcommand.

    SUPPRESS as default keeps a subparser from overwriting a value given before
    the subcommand (``sdaws --api URL models ls`` and ``sdaws models ls --api URL``).
    """
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--api",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="API URL of a deployed stack (default: config, ./sagemaker_ui.json, or the local server)",
    )
    group.add_argument("--token", metavar="TOKEN", default=argparse.SUPPRESS, help="API token (x-api-key)")


def add_json_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def api_action(sub, func: Callable[[argparse.Namespace], int], name: str, **kwargs) -> argparse.ArgumentParser:
    """A subcommand action that talks to the API: `func` runs it, with --json and --api/--token."""
    parser = sub.add_parser(name, **kwargs)
    add_json_arg(parser)
    add_connection_args(parser)
    parser.set_defaults(func=func)
    return parser


def add_out_arg(parser: argparse.ArgumentParser, needs: str = "") -> None:
    """--out DIR: where a finished job's files are saved on this machine."""
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="save the job's files into this folder when it succeeds" + needs
    )


@contextmanager
def open_connection(args: argparse.Namespace, *, outlive_me: bool = False) -> Iterator[Connection]:
    """The connection the flags, environment and config name; ``outlive_me`` for commands that
    submit jobs (in local mode the server they run on must not stop when the command does)."""
    from sdaws.client.config import resolve
    from sdaws.client.connection import connect

    conn = connect(resolve(getattr(args, "api", None), getattr(args, "token", None)), outlive_me=outlive_me)
    try:
        yield conn
    finally:
        conn.close()


def fetch(args: argparse.Namespace, call: Callable[[ApiClient], T]) -> T:
    """One API call on the connection the flags name."""
    with open_connection(args) as conn:
        return call(conn.client)


def answer(args: argparse.Namespace, data: object, lines: Iterable[str] = ()) -> int:
    """--json prints the API's answer as it came; otherwise `lines`, shown safely. Exit 0."""
    if args.json:
        print_json(data)
    else:
        for line in lines:
            say(line)
    return 0


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def say(text: object, *, err: bool = False) -> None:
    """Print text that may hold untrusted parts (names, metadata, server messages) safely."""
    print(printable(text), file=sys.stderr if err else sys.stdout)


def api_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Report an ApiError as one line on stderr with exit 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        from sdaws.client.api import ApiError

        try:
            return func(args)
        except ApiError as exc:
            if getattr(args, "json", False):
                print_json({"error": exc.code, "message": exc.message, "status": exc.status})
            say(f"sdaws: {in_cli_words(str(exc))}", err=True)
            return 1

    return wrapper
