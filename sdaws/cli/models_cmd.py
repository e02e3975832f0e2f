"""`sdaws models ls|info|rm`: the model tree, for scripts."""

from __future__ import annotations

import argparse
import sys

from sdaws.cli.common import (
    UsageError,
    answer,
    api_action,
    api_errors,
    fetch,
    open_connection,
    print_json,
    say,
)
from sdaws.client import fmt
from sdaws.client.model_info import details_rows
from sdaws.client.safe_text import printable


def split_ref(parts: list[str]) -> tuple[str, str]:
    """``TYPE NAME`` or ``TYPE/NAME`` -> (type, name)."""
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 1 and "/" in parts[0]:
        model_type, name = parts[0].split("/", 1)
        if model_type and name:
            return model_type, name
    raise UsageError("give the model as TYPE NAME or TYPE/NAME, e.g. Lora/style.safetensors")


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list, inspect and delete models in the model tree")
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = api_action(sub, cmd_ls, "ls", help="list models (all folders, or one)")
    ls.add_argument("type", nargs="?", help="folder, e.g. Stable-diffusion, Lora, or diffusers (converted models)")
    ls.add_argument("--prefix", help="only names starting with this")
    ls.add_argument("--limit", type=int, default=0, help="stop after this many (default: all)")

    info = api_action(sub, cmd_info, "info", help="size, format, hash and safetensors summary of one model")
    info.add_argument("model", nargs="+", metavar="TYPE NAME", help="TYPE NAME or TYPE/NAME")

    rm = api_action(sub, cmd_rm, "rm", help="delete a model")
    rm.add_argument("model", nargs="+", metavar="TYPE NAME", help="TYPE NAME or TYPE/NAME")
    rm.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    from sdaws.cli.catalog_cmd import register_models_actions

    register_models_actions(sub)  # search, duplicates, find, edit, preview


@api_errors
def cmd_ls(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    items = []
    with open_connection(args) as conn:
        page_size = min(args.limit, 1000) if args.limit else 1000
        cursor = None
        warnings: list[str] = []
        while True:
            page = conn.client.list_models(type=args.type, prefix=args.prefix, limit=page_size, cursor=cursor)
            warnings = page.get("warnings") or warnings
            items.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor or (args.limit and len(items) >= args.limit):
                break
    if args.limit:
        items = items[: args.limit]
    if args.json:
        print_json({"items": items, "warnings": warnings})
        return 0
    for warning in warnings:
        say(f"warning: {warning}", err=True)
    for item in items:
        say(
            f"{item['type']:<17} {fmt.size(item.get('size')):>10}  {fmt.timestamp(item.get('modified'))}  {item['name']}"
        )
    return 0


@api_errors
def cmd_info(args: argparse.Namespace) -> int:
    model_type, name = split_ref(args.model)
    info = fetch(args, lambda client: client.model_info(model_type, name))
    # Names and metadata come from the file's author: `answer` shows escapes, never runs them.
    rows = details_rows(info, metadata_limit=None, single_line=True)
    return answer(args, info, [f"{info['type']}/{info['name']}", *(f"  {label:<13} {value}" for label, value in rows)])


@api_errors
def cmd_rm(args: argparse.Namespace) -> int:
    model_type, name = split_ref(args.model)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to delete without --yes when not run interactively")
        reply = input(printable(f"Delete {model_type}/{name}? [y/N] ", single_line=True)).strip().lower()
        if reply not in ("y", "yes"):
            say("not deleted")
            return 1
    result = fetch(args, lambda client: client.delete_model(model_type, name))
    return answer(args, result, [f"deleted {model_type}/{name}"])
