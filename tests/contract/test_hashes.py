"""Hashes as the WebUI and Civitai define them, on files the tests write."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from sdaws.contract.errors import InvalidInput
from sdaws.contract.hashes import autov2, hash_query, matches_hash, sha256_of_ranges, sha256_of_stream


def webui_calculate_sha256(filename) -> str:
    """modules/hashes.py calculate_sha256, as the WebUI has it."""
    hash_sha256 = hashlib.sha256()
    blksize = 1024 * 1024
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(blksize), b""):
            hash_sha256.update(chunk)
    return hash_sha256.hexdigest()


@pytest.mark.parametrize("size", [0, 1, 1024 * 1024 - 1, 1024 * 1024, 5 * 1024 * 1024 + 17])
def test_autov2_is_the_webui_shorthash_of_the_file(tmp_path, size):
    path = tmp_path / "model.safetensors"
    path.write_bytes(os.urandom(size))
    webui_sha = webui_calculate_sha256(path)
    with open(path, "rb") as fh:
        ours = sha256_of_stream(fh)
    assert ours == webui_sha
    assert autov2(ours) == webui_sha[0:10]  # CheckpointInfo.shorthash = self.sha256[0:10]


def test_known_vectors():
    # FIPS 180-2 test vector "abc"
    assert autov2("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD") == "ba7816bf8f"
    assert sha256_of_stream(io.BytesIO(b"abc")) == hashlib.sha256(b"abc").hexdigest()


def test_stream_without_readinto_and_progress():
    class Plain:
        def __init__(self, data):
            self.buf = io.BytesIO(data)

        def read(self, n):
            return self.buf.read(n)

    seen = []
    data = os.urandom(10_000)
    assert sha256_of_stream(Plain(data), progress=seen.append, read_size=4096) == hashlib.sha256(data).hexdigest()
    assert seen == [4096, 8192, 10_000]


def test_ranges_are_hashed_in_order_while_prefetched():
    data = os.urandom(1_000_003)
    calls = []

    def read_range(start, length):
        calls.append(start)
        return data[start : start + length]

    assert sha256_of_ranges(read_range, len(data), chunk=100_000, prefetch=3) == hashlib.sha256(data).hexdigest()
    assert sorted(calls) == list(range(0, len(data), 100_000))


def test_a_short_range_raises_instead_of_a_wrong_hash():
    data = os.urandom(300)
    with pytest.raises(OSError, match="returned"):
        sha256_of_ranges(lambda s, n: data[s : s + n - 1], len(data), chunk=100)


@pytest.mark.parametrize(
    "query,prefix",
    [
        ("BA7816BF8F", "ba7816bf8f"),
        (
            "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        ("AutoV2: ba7816bf8f", "ba7816bf8f"),
        ("ba7816", "ba7816"),
    ],
)
def test_hash_queries(query, prefix):
    assert hash_query(query) == prefix
    assert matches_hash("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", prefix)


@pytest.mark.parametrize("bad", ["", "ba78", "xyz1234567", "a" * 65])
def test_bad_hash_queries_say_what_a_hash_is(bad):
    with pytest.raises(InvalidInput, match="AutoV2"):
        hash_query(bad)
