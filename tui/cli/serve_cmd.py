"""`sdaws serve`: the embedded local API server (filled in with the local server)."""

from __future__ import annotations


def register(subparsers) -> None:
    parser = subparsers.add_parser("serve", help="run the sdaws API on this machine")
    parser.set_defaults(func=lambda args: 0)
