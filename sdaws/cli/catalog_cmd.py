"""`sdaws models search|duplicates|edit|preview|find`: the catalog, for scripts
(registered under `sdaws models` by models_cmd)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaws.cli.common import UsageError, answer, api_action, api_errors, fetch, open_connection, print_json
from sdaws.client import catalog, fmt
from sdaws.client.safe_text import printable
from sdaws.contract.model_facts import FAMILIES


def register_models_actions(sub) -> None:
    search = api_action(sub, cmd_search, "search", help="search all folders by name, tag / trigger word, family, hash")
    search.add_argument("query", nargs="*", help="words the name (or Civitai title) must all hold")
    search.add_argument("--tag", help="a trigger word or training tag")
    search.add_argument("--family", choices=FAMILIES, help="base family")
    search.add_argument("--hash", help="sha256, AutoV2 or a hex prefix")
    search.add_argument("--type", help="one folder, e.g. Lora")
    search.add_argument("--limit", type=int, default=0, help="stop after this many (default: all)")

    api_action(sub, cmd_duplicates, "duplicates", help="models with the same sha256 (space you could free)")

    find = api_action(sub, cmd_find, "find", help="models with this sha256 or AutoV2 hash")
    find.add_argument("hash")

    edit = api_action(sub, cmd_edit, "edit", help="edit NAME.json as the WebUI does (notes, activation text, weight…)")
    edit.add_argument("model", nargs="+", metavar="TYPE NAME", help="TYPE NAME or TYPE/NAME")
    edit.add_argument("--description")
    edit.add_argument("--activation-text", help="words the WebUI adds to the prompt with this LoRA")
    edit.add_argument("--weight", type=float, dest="preferred_weight", help="preferred weight (0: the WebUI default)")
    edit.add_argument("--negative-text")
    edit.add_argument("--notes")
    edit.add_argument("--sd-version", help="SD1, SD2, SDXL, SD3 or Unknown")

    preview = api_action(sub, cmd_preview, "preview", help="set the preview image (a file, or a job's output image)")
    preview.add_argument("model", nargs="+", metavar="TYPE NAME", help="TYPE NAME or TYPE/NAME")
    source = preview.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="a PNG, JPEG or WebP file")
    source.add_argument("--job", metavar="JOB_ID", help="use an image this job made (with --output)")
    preview.add_argument("--output", help="the image's name in the job's outputs")


def _hash_text(item: dict) -> str:
    state = item.get("hash") or {}
    if state.get("status") == "done" and state.get("autov2"):
        return str(state["autov2"])
    return str(state.get("status") or "")


def item_line(item: dict) -> str:
    family = item.get("family") or ""
    return printable(
        f"{item['type']:<17} {fmt.size(item.get('size')):>10}  {_hash_text(item):<10}  {family:<5}  {item['name']}",
        single_line=True,
    )


@api_errors
def cmd_search(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UsageError("--limit must be 0 (all) or more")
    filters = {"q": " ".join(args.query) or None, "tag": args.tag, "family": args.family, "hash": args.hash}
    items = fetch(args, lambda client: list(catalog.iter_search(client, args.limit or None, type=args.type, **filters)))
    return answer(args, {"items": items}, map(item_line, items))


@api_errors
def cmd_duplicates(args: argparse.Namespace) -> int:
    found = fetch(args, catalog.duplicates)
    lines = []
    for group in found.get("groups", []):
        lines.append(f"{group['autov2']}  {fmt.size(group['size'])} each, {fmt.size(group['wasted_bytes'])} duplicated")
        lines.extend(f"  {printable(key, single_line=True)}" for key in group["models"])
    return answer(args, found, lines)


@api_errors
def cmd_find(args: argparse.Namespace) -> int:
    found = fetch(args, lambda client: catalog.find_by_hash(client, args.hash))
    answer(args, found, map(item_line, found.get("items", [])))
    return 0 if args.json or found.get("items") else 1  # found nothing: exit 1, as grep does


@api_errors
def cmd_edit(args: argparse.Namespace) -> int:
    from sdaws.cli.models_cmd import split_ref

    model_type, name = split_ref(args.model)
    fields = ("description", "activation_text", "preferred_weight", "negative_text", "notes", "sd_version")
    edits = {f: getattr(args, f) for f in fields if getattr(args, f) is not None}
    if not edits:
        raise UsageError("nothing to edit: give --notes, --activation-text, --weight, --description, … ")
    saved = fetch(args, lambda client: catalog.edit_metadata(client, model_type, name, edits))
    return answer(args, saved, (printable(f"{f}: {saved.get(f)}", single_line=True) for f in fields if f in edits))


@api_errors
def cmd_preview(args: argparse.Namespace) -> int:
    from sdaws.cli.models_cmd import split_ref

    model_type, name = split_ref(args.model)
    with open_connection(args) as conn:
        if args.image is not None:
            try:
                result = catalog.set_preview_image(conn.client, model_type, name, args.image)
            except (OSError, ValueError) as exc:
                raise UsageError(str(exc)) from None
        else:
            if not args.output:
                raise UsageError("--job needs --output: the image's name in the job's outputs")
            result = catalog.set_preview_from_job(conn.client, model_type, name, args.job, args.output)
    if args.json:
        print_json(result)
    else:
        print(printable(f"preview {result['preview']} ({fmt.size(result['size'])})", single_line=True))
    return 0
