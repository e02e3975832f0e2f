"""What the benchmarks over one large random file share: their flags, the file, and the
lines that report each contender's best time and speed."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

BLOCK = 64 * 1024 * 1024


def size_parser(doc: str, *, size_mib: int, runs: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=size_mib, help="size of the file")
    parser.add_argument("--runs", type=int, default=runs, help="timed runs of each contender (the best counts)")
    return parser


def write_random_file(path: Path, size: int) -> None:
    """`size` bytes of one random block repeated: hashing and copying do not care, and it
    is written quickly."""
    block = os.urandom(BLOCK)
    with open(path, "wb") as fh:
        for offset in range(0, size, BLOCK):
            fh.write(block[: min(BLOCK, size - offset)])


def speed_lines(mib: float, rows: list[tuple[str, float, str]]) -> list[str]:
    """One line per (contender, best seconds, note): its time and MiB/s, aligned."""
    return [f"{name:<16} {seconds:7.2f} s  {mib / seconds:8.0f} MiB/s  {note}".rstrip() for name, seconds, note in rows]


def ratio_line(what: str, ratio: float, goal: float) -> str:
    return f"ratio ({what}): {ratio:.2f}x  (goal >= {goal}x) {'OK' if ratio >= goal else 'BELOW GOAL'}"
