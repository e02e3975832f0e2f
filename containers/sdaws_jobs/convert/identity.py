"""A source file's identity: its full sha256, and a quick fingerprint of a few sampled
blocks that tells different files apart without reading them whole.

Fine-tunes of one architecture have the same size and the same header, so neither
tells them apart; their weights differ everywhere, so three 1 MiB samples do. The
fingerprint only decides whether to wait for the full hash before converting;
identity itself is always the full sha256.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SAMPLE = 1 << 20


def quick_fingerprint(path: Path) -> str:
    """sha256 over the size and the first, middle and last MiB (a few ms, even for 7 GB)."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        digest.update(str(size).encode())
        for start in sorted({0, max(0, size // 2 - SAMPLE // 2), max(0, size - SAMPLE)}):
            digest.update(os.pread(fh.fileno(), SAMPLE, start))
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    buffer = bytearray(8 << 20)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buffer):
            digest.update(view[:n])  # hashlib releases the GIL: a conversion can run meanwhile
    return digest.hexdigest()
