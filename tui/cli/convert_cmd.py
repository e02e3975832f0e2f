"""`sdaws convert` / `sdaws export` (filled in with the conversion engine)."""

from __future__ import annotations


def register(subparsers) -> None:
    return None
