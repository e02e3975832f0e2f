"""`sdaws serve`: run the sdaws API on this machine over a local model folder."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

TOKEN_HELP = (
    "API token. Prefer SDAWS_TOKEN or the token file: a --token value is visible to every user of this machine "
    "in the process list. Default: SDAWS_TOKEN, else the token kept 0600 in the config dir (generated once). "
    "At least 16 characters."
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the sdaws API on this machine (the embedded default)",
        description="Serve the sdaws API on loopback over a local model folder, SQLite and this machine's GPU/CPU. "
        "The token comes from SDAWS_TOKEN or the config dir's token file (created 0600 on first start).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--models", type=Path, help="model root, e.g. stable-diffusion-webui/models")
    parser.add_argument("--data-dir", type=Path, help="where SQLite, uploads in flight and job folders live (0700)")
    parser.add_argument("--token", help=TOKEN_HELP)
    parser.add_argument(
        "--max-jobs",
        type=int,
        default=1,
        metavar="N",
        help="jobs run at once on this machine (default 1; the rest queue)",
    )
    parser.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to a public address


def warn(message: str) -> None:
    print(f"sdaws: warning: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from sam_app.adapters.local.signing import UnusableSigningKey
    from sam_app.adapters.local.token import TOKEN_FILE, check_token, load_or_create_token
    from sam_app.local_server import paths
    from sam_app.local_server.server import LocalApiServer
    from sdaws.contract.errors import SdawsError

    from .main import UsageError

    data_dir = args.data_dir or paths.default_data_dir()
    models_dir = args.models or paths.default_models_dir()
    if args.models and not args.models.is_dir():
        raise UsageError(f"--models {args.models} is not a folder; point it at your model root")
    if args.max_jobs < 1:
        raise UsageError("--max-jobs must be at least 1")
    config_dir = paths.default_config_dir()
    if args.token is not None:
        where = "from --token"
    elif os.environ.get("SDAWS_TOKEN", "").strip():
        where = "from SDAWS_TOKEN"
    else:
        where = f"in {config_dir / TOKEN_FILE}"
    try:
        token = check_token(args.token if args.token is not None else load_or_create_token(config_dir), where)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.token is not None:
        warn(
            "--token is visible to other users of this machine in the process list; set SDAWS_TOKEN or keep it in "
            f"{config_dir / TOKEN_FILE} instead"
        )
    if not is_loopback(args.host):
        warn(
            f"listening on {args.host} exposes the API (models, uploads, jobs) to every machine that can reach this "
            "one, over plain HTTP, guarded only by the token; use 127.0.0.1 unless you mean to share it"
        )
    try:
        server = LocalApiServer(models_dir, data_dir, token, args.host, args.port, max_local_jobs=args.max_jobs)
    except (UnusableSigningKey, SdawsError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        if exc.filename:
            raise UsageError(f"cannot use {exc.filename}: {exc.strerror}") from None
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}; pick another --port") from None
    print(f"sdaws API on {server.url}  (models: {models_dir}; token {where}; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
