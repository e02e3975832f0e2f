"""The one safetensors header reader against hostile files: a HeaderError with a reason,
or a checked header; never another exception, and never unbounded memory."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdaws.contract.safetensors_header import (
    METADATA_VALUE_SHOWN,
    HeaderError,
    read_checked_header,
    summarize,
    tensor_shapes,
)
from tests.support.hostile_inputs import GOOD_ENTRY, hostile_safetensors, many_items_header

CORPUS = hostile_safetensors()


def _read(data: bytes):
    stream = io.BytesIO(data)

    def read_range(start: int, length: int) -> bytes:
        stream.seek(start)
        return stream.read(length)

    return read_checked_header(read_range, len(data))


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_every_hostile_file_is_a_header_error_or_a_checked_header(case):
    try:
        header, entries = _read(CORPUS[case])
    except HeaderError as exc:
        assert str(exc) and len(str(exc)) < 400
        return
    # Accepted: then everything built from it is sound and serializable.
    summary = summarize(header, entries)
    json.dumps(summary)
    assert all(isinstance(d, int) and d >= 0 for shape in tensor_shapes(header, entries).values() for d in shape)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=2**64 - 1))
def test_random_bytes_behind_any_length_are_refused_cleanly(body, length):
    data = struct.pack("<Q", length) + body
    try:
        _read(data)
    except HeaderError:
        pass


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["dtype", "shape", "data_offsets", "x"]), JSONISH, max_size=4))
def test_any_json_as_a_tensor_entry_is_checked_or_refused(entry):
    raw = json.dumps({"w": entry, "__metadata__": {"a": "b"}}).encode()
    data = struct.pack("<Q", len(raw)) + raw + b"\0" * 64
    try:
        header, entries = _read(data)
    except HeaderError:
        return
    assert set(entries) == {"w"} and entries["w"].end <= len(data)


def test_long_metadata_values_are_shortened_for_display():
    raw = json.dumps({"__metadata__": {"tags": "x" * (METADATA_VALUE_SHOWN + 10)}, "w": GOOD_ENTRY}).encode()
    header, entries = _read(struct.pack("<Q", len(raw)) + raw + b"\0" * 8)
    shown = summarize(header, entries)["metadata"]["tags"]
    assert len(shown) < METADATA_VALUE_SHOWN + 100 and shown.endswith("characters in all)")


PEAK_RSS = """
import resource, sys
from pathlib import Path
from sdaws.contract.safetensors_header import HeaderError, read_file_header
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    read_file_header(Path(sys.argv[1]))
except HeaderError as exc:
    print("refused:", exc, file=sys.stderr)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_96_mib_header_of_a_million_tensors_is_refused_without_parsing_it(tmp_path):
    path = tmp_path / "many.safetensors"
    path.write_bytes(many_items_header())
    run = subprocess.run([sys.executable, "-c", PEAK_RSS, str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "refused: safetensors header lists over" in run.stderr
    grown_mib = int(run.stdout)
    assert grown_mib < 250, f"reading it grew the process by {grown_mib} MiB (parsing it whole took +720 MiB)"
