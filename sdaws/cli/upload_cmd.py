"""`sdaws upload FILE... [--type T]`: resumable parallel upload into the model tree."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from sdaws.cli.common import UsageError, add_connection_args, add_json_arg, api_errors, open_connection, print_json, say
from sdaws.client import fmt
from sdaws.client.model_kind import suggest_type
from sdaws.client.uploader import Progress, UploadCancelled, upload_file


def register(subparsers) -> None:
    parser = subparsers.add_parser("upload", help="upload model files (resumes an interrupted upload of the same file)")
    parser.add_argument("files", nargs="+", metavar="FILE", type=Path)
    parser.add_argument("--type", help="target folder, any case, e.g. Lora (default: suggested from the file header)")
    parser.add_argument("--name", help="name in the model tree (one file only; default: the file name)")
    parser.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    parser.add_argument("--workers", type=int, default=4, help="parallel part uploads (default 4)")
    add_json_arg(parser)
    add_connection_args(parser)
    parser.set_defaults(func=cmd_upload)


def _printer(label: str):
    tty = sys.stderr.isatty()

    def show(p: Progress) -> None:
        if tty:
            line = (
                f"\r{label}: {p.fraction * 100:5.1f}%  {fmt.size(p.done)}/{fmt.size(p.total)}"
                f"  {fmt.rate(p.rate)}  ETA {fmt.duration(p.eta_s)}   "
            )
            sys.stderr.write(line)
            sys.stderr.flush()

    return show


@api_errors
def cmd_upload(args: argparse.Namespace) -> int:
    if args.name and len(args.files) > 1:
        raise UsageError("--name works with one file only")
    if not 1 <= args.workers <= 32:
        raise UsageError("--workers must be between 1 and 32")
    plan = []
    for path in args.files:
        if not path.is_file():
            raise UsageError(f"{path} is not a file")
        model_type = args.type or suggest_type(path)
        if not model_type:
            raise UsageError(f"cannot tell which folder {path.name} belongs in: pass --type (e.g. --type Lora)")
        plan.append((path, model_type))
    results = []
    with open_connection(args) as conn:
        known = {t["name"].lower(): t["name"] for t in conn.client.model_types().get("types", [])}
        for i, (path, model_type) in enumerate(plan):
            if known and model_type.lower() not in known:  # the server takes any case: so do we
                raise UsageError(f"unknown type {model_type!r}; one of: {', '.join(sorted(known.values()))}")
            plan[i] = (path, known.get(model_type.lower(), model_type))
        cancel = threading.Event()
        for path, model_type in plan:
            try:
                result = upload_file(
                    conn.client,
                    path,
                    model_type,
                    name=args.name,
                    workers=args.workers,
                    on_progress=_printer(path.name),
                    cancel=cancel,
                    scope=conn.scope,
                    overwrite=args.overwrite,
                )
            except (KeyboardInterrupt, UploadCancelled):
                cancel.set()
                say(f"\nsdaws: upload of {path.name} stopped; run the same command to resume", err=True)
                return 130
            if sys.stderr.isatty():
                sys.stderr.write("\n")
            results.append(result)
            if not args.json:
                say(
                    f"uploaded {result['type']}/{result['name']} ({fmt.size(result.get('size'))}, sha256 {result.get('sha256')})"
                )
    if args.json:
        print_json({"uploaded": results})
    return 0
