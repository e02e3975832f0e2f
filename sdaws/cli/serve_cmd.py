"""`sdaws serve`: run the sdaws API on this machine over a local model folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the sdaws API on this machine (the embedded default)",
        description="Serve the sdaws API on loopback over a local model folder, SQLite and this machine's GPU/CPU.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument("--models", type=Path, help="model root, e.g. stable-diffusion-webui/models")
    parser.add_argument("--data-dir", type=Path, help="where SQLite, uploads in flight and job folders live")
    parser.add_argument("--token", help="API token (default: SDAWS_TOKEN, else one generated and kept 0600)")
    parser.add_argument(
        "--max-jobs",
        type=int,
        default=1,
        metavar="N",
        help="jobs run at once on this machine (default 1; the rest queue)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sam_app.adapters.local.token import TOKEN_FILE, load_or_create_token
    from sam_app.local_server import paths
    from sam_app.local_server.server import LocalApiServer

    from .main import UsageError

    data_dir = args.data_dir or paths.default_data_dir()
    models_dir = args.models or paths.default_models_dir()
    if args.models and not args.models.is_dir():
        raise UsageError(f"--models {args.models} is not a folder; point it at your model root")
    if args.max_jobs < 1:
        raise UsageError("--max-jobs must be at least 1")
    config_dir = paths.default_config_dir()
    token = args.token or load_or_create_token(config_dir)
    try:
        server = LocalApiServer(models_dir, data_dir, token, args.host, args.port, max_local_jobs=args.max_jobs)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}; pick another --port") from None
    if args.token:
        where = "from --token"
    elif os.environ.get("SDAWS_TOKEN", "").strip():
        where = "from SDAWS_TOKEN"
    else:
        where = f"in {config_dir / TOKEN_FILE}"
    print(f"sdaws API on {server.url}  (models: {models_dir}; token {where}; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
