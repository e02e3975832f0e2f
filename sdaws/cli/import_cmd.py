"""`sdaws import SOURCE --type T`: a server-side import (https URL or Hugging Face repo),
downloaded where the model will live, never through this machine's link.

The source's credential (a Civitai API key, a Hugging Face token) is read from the
environment or a file, never from the command line (argv is visible to every user of
the machine and lands in shell history): $SDAWS_IMPORT_TOKEN, --source-token-file, and
for Hugging Face sources $HF_TOKEN / $HF_API_TOKEN.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sdaws.cli.common import UsageError, add_connection_args, add_json_arg, api_errors, open_connection, print_json
from sdaws.cli.submit import ProgressLine, finish, stopped_following
from sdaws.client import catalog
from sdaws.client.api import ApiError
from sdaws.client.job_follow import follow_job
from sdaws.client.safe_text import printable
from sdaws.contract.errors import InvalidInput
from sdaws.contract.import_spec import HF_TOKEN_ENVS, TOKEN_ENV, parse_source

MAX_TOKEN_FILE = 8192


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import a model from an https URL or Hugging Face, server-side",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "source", help="https://… or a Hugging Face repo id: org/name, org/name:sub/folder, org/name:file"
    )
    parser.add_argument(
        "--type", required=True, help="tree folder (Lora, Stable-diffusion, …) or diffusers for a folder"
    )
    parser.add_argument("--name", help="file (or folder) name in the tree; default: what the source says")
    parser.add_argument("--sha256", help="expected sha256: the import fails, keeping nothing, unless it matches")
    parser.add_argument("--revision", help="Hugging Face branch, tag or commit")
    parser.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    parser.add_argument(
        "--source-token-file", type=Path, metavar="PATH", help=f"file holding the source's token (else ${TOKEN_ENV})"
    )
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends; exit 0 only on success")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls with --wait")
    parser.add_argument("--idempotency-key", help="retrying with the same key starts no second import")
    add_json_arg(parser)
    add_connection_args(parser)
    parser.set_defaults(func=cmd_import)


def source_token(args: argparse.Namespace, env=os.environ) -> str | None:
    """The source's token from a file or the environment (never argv)."""
    if args.source_token_file is not None:
        try:
            with open(args.source_token_file, "rb") as fh:
                text = fh.read(MAX_TOKEN_FILE + 1).decode("utf-8", "replace").strip()
        except OSError as exc:
            raise UsageError(f"cannot read --source-token-file: {exc.strerror or exc}") from None
        if not text or len(text) > MAX_TOKEN_FILE:
            raise UsageError("--source-token-file must hold one token (at most 8 KiB)")
        return text
    own = (env.get(TOKEN_ENV) or "").strip()
    if own:
        return own
    if "://" not in args.source:  # a Hugging Face source: the token users already export
        for name in HF_TOKEN_ENVS:
            value = (env.get(name) or "").strip()
            if value:
                return value
    return None


@api_errors
def cmd_import(args: argparse.Namespace) -> int:
    try:
        parse_source(args.source)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    token = source_token(args)
    # outlive_me: in local mode the server that runs the import outlives this command.
    with open_connection(args, outlive_me=True) as conn:
        job = catalog.start_import(
            conn.client,
            args.source,
            args.type,
            name=args.name,
            sha256=args.sha256,
            token=token,
            revision=args.revision,
            overwrite=args.overwrite,
            idempotency_key=args.idempotency_key,
        )
        if not args.wait:
            if args.json:
                print_json(job)
            else:
                print(f"import job {job['job_id']} {printable(job.get('status'), single_line=True)}")
                print(f"follow it with: sdaws jobs watch {job['job_id']}", file=sys.stderr)
            return 0

        try:
            done = follow_job(conn.client, job["job_id"], ProgressLine(quiet=args.json), interval=args.interval)
        except KeyboardInterrupt:
            print(f"\nsdaws: stopped waiting; the import goes on (sdaws jobs watch {job['job_id']})", file=sys.stderr)
            return 130
        except ApiError as exc:  # the server stopped answering: say how to look again
            raise stopped_following(exc, job["job_id"]) from None
        return finish(conn.client, done or job, None, args.json)
