"""Model hashes as the WebUI and Civitai define them, and the one streaming sha256 every
program uses (the local hasher, the S3 hasher, the import job, the benchmarks).

    sha256   the whole file's SHA-256, lowercase hex (WebUI `hashes.calculate_sha256`)
    AutoV2   its first 10 hex digits (WebUI `CheckpointInfo.shorthash = sha256[0:10]`;
             Civitai's "AutoV2", which `GET /api/v1/model-versions/by-hash/{hash}` accepts)

Civitai prints AutoV2 in capitals; the WebUI and this project store lowercase, and every
comparison here ignores case.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from .errors import InvalidInput

AUTOV2_LENGTH = 10
SHA256_LENGTH = 64
# A hash query shorter than this matches too much to mean anything.
MIN_HASH_PREFIX = 6
# Big reads: hashlib releases the GIL and OpenSSL's SHA-NI path runs at memory speed,
# so the read size, not Python, decides the throughput (benchmarks/hash.py).
READ_SIZE = 4 * 1024 * 1024

_HEX = re.compile(r"^[0-9a-f]+$")

Progress = Callable[[int], None]


def autov2(sha256: str) -> str:
    """The WebUI/Civitai short hash of a full sha256."""
    sha = normalize_sha256(sha256)
    return sha[:AUTOV2_LENGTH]


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == SHA256_LENGTH and bool(_HEX.match(value.lower()))


def normalize_sha256(value: str) -> str:
    """A full sha256 in lowercase, or InvalidInput."""
    text = (value or "").strip().lower()
    if not is_sha256(text):
        raise InvalidInput(f"{value!r} is not a sha256 (64 hexadecimal digits)")
    return text


def hash_query(value: str) -> str:
    """A search for a model by hash: a full sha256, an AutoV2 or any hex prefix of at least
    MIN_HASH_PREFIX digits; `sha256:` / `autov2:` prefixes as Civitai pages show them are
    accepted. Returns the lowercase hex prefix."""
    text = (value or "").strip().lower()
    for label in ("sha256:", "autov2:"):
        text = text.removeprefix(label).strip()
    if not _HEX.match(text or "-") or not MIN_HASH_PREFIX <= len(text) <= SHA256_LENGTH:
        raise InvalidInput(
            f"hash {value!r} is not a sha256, an AutoV2 ({AUTOV2_LENGTH} hex digits) or a hex prefix of "
            f"{MIN_HASH_PREFIX} to {SHA256_LENGTH} digits"
        )
    return text


def matches_hash(sha256: str | None, query: str) -> bool:
    """Whether a model with this sha256 is what `query` (from hash_query) asks for."""
    return bool(sha256) and str(sha256).lower().startswith(query)


def sha256_of_stream(stream: BinaryIO, progress: Progress | None = None, read_size: int = READ_SIZE) -> str:
    """sha256 of everything `stream` yields, read into one reused buffer (no per-chunk
    allocation); `progress(bytes_so_far)` after each read."""
    digest = hashlib.sha256()
    buffer = bytearray(read_size)
    view = memoryview(buffer)
    done = 0
    readinto = getattr(stream, "readinto", None)
    while True:
        if readinto is not None:
            n = readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
        else:
            chunk = stream.read(read_size)
            if not chunk:
                break
            n = len(chunk)
            digest.update(chunk)
        done += n
        if progress is not None:
            progress(done)
    return digest.hexdigest()


def sha256_of_ranges(
    read_range: Callable[[int, int], bytes],
    size: int,
    chunk: int = 16 * 1024 * 1024,
    prefetch: int = 2,
    progress: Progress | None = None,
) -> str:
    """sha256 of an object read in ranges (S3 GetObject Range), the next `prefetch` ranges
    fetched while the current one is hashed, so the network and the CPU overlap.

    SHA-256 is sequential: ranges are fetched in parallel but hashed strictly in order.
    Each `read_range` must return exactly the bytes asked for (it retries its own
    dropped connections); a short read raises, never a wrong hash."""
    digest = hashlib.sha256()
    offsets = list(range(0, size, chunk))
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, prefetch)) as pool:
        pending: list[tuple[int, Future[bytes]]] = []
        queue = iter(offsets)

        def submit() -> None:
            start = next(queue, None)
            if start is not None:
                pending.append((start, pool.submit(read_range, start, min(chunk, size - start))))

        for _ in range(max(1, prefetch)):
            submit()
        while pending:
            start, future = pending.pop(0)
            data = future.result()
            expected = min(chunk, size - start)
            if len(data) != expected:
                raise OSError(f"range at {start} returned {len(data)} bytes, not {expected}")
            submit()
            digest.update(data)
            done += expected
            if progress is not None:
                progress(done)
    return digest.hexdigest()
