"""`sdaws models ls|info|rm`: the model tree, for scripts."""

from __future__ import annotations

import argparse
import sys

from sdaws.cli.common import add_connection_args, add_json_arg, api_errors, open_connection, print_json
from sdaws.client import fmt


def _usage(message: str):
    from sdaws.cli.main import UsageError

    return UsageError(message)


def split_ref(parts: list[str]) -> tuple[str, str]:
    """``TYPE NAME`` or ``TYPE/NAME`` -> (type, name)."""
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 1 and "/" in parts[0]:
        model_type, name = parts[0].split("/", 1)
        if model_type and name:
            return model_type, name
    raise _usage("give the model as TYPE NAME or TYPE/NAME, e.g. Lora/style.safetensors")


def register(subparsers) -> None:
    parser = subparsers.add_parser("models", help="list, inspect and delete models in the model tree")
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = sub.add_parser("ls", help="list models (all folders, or one)")
    ls.add_argument("type", nargs="?", help="folder, e.g. Stable-diffusion or Lora")
    ls.add_argument("--prefix", help="only names starting with this")
    ls.add_argument("--limit", type=int, default=0, help="stop after this many (default: all)")
    add_json_arg(ls)
    add_connection_args(ls)
    ls.set_defaults(func=cmd_ls)

    info = sub.add_parser("info", help="size, format, hash and safetensors summary of one model")
    info.add_argument("model", nargs="+", metavar="TYPE NAME", help="TYPE NAME or TYPE/NAME")
    add_json_arg(info)
    add_connection_args(info)
    info.set_defaults(func=cmd_info)

    rm = sub.add_parser("rm", help="delete a model")
    rm.add_argument("model", nargs="+", metavar="TYPE NAME", help="TYPE NAME or TYPE/NAME")
    rm.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    add_json_arg(rm)
    add_connection_args(rm)
    rm.set_defaults(func=cmd_rm)


@api_errors
def cmd_ls(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise _usage("--limit must be 0 (all) or more")
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
        print(f"warning: {warning}", file=sys.stderr)
    for item in items:
        print(
            f"{item['type']:<17} {fmt.size(item.get('size')):>10}  {fmt.timestamp(item.get('modified'))}  {item['name']}"
        )
    return 0


@api_errors
def cmd_info(args: argparse.Namespace) -> int:
    model_type, name = split_ref(args.model)
    with open_connection(args) as conn:
        info = conn.client.model_info(model_type, name)
    if args.json:
        print_json(info)
        return 0
    print(f"{info['type']}/{info['name']}")
    print(f"  size      {fmt.size(info.get('size'))} ({info.get('size')} bytes)")
    print(f"  modified  {fmt.timestamp(info.get('modified'))}")
    print(f"  format    {info.get('format')}")
    print(f"  sha256    {info.get('sha256') or '—'}")
    st = info.get("safetensors")
    if st:
        dtypes = ", ".join(f"{k}×{v}" for k, v in sorted(st.get("dtypes", {}).items()))
        print(f"  tensors   {st.get('tensor_count')} ({dtypes})")
        print(f"  params    {fmt.count(st.get('parameter_count') or 0)}")
        for key, value in sorted((st.get("metadata") or {}).items()):
            print(f"  meta      {key} = {str(value)[:100]}")
    return 0


@api_errors
def cmd_rm(args: argparse.Namespace) -> int:
    model_type, name = split_ref(args.model)
    if not args.yes:
        if not sys.stdin.isatty():
            raise _usage("refusing to delete without --yes when not run interactively")
        answer = input(f"Delete {model_type}/{name}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("not deleted")
            return 1
    with open_connection(args) as conn:
        result = conn.client.delete_model(model_type, name)
    if args.json:
        print_json(result)
    else:
        print(f"deleted {model_type}/{name}")
    return 0
