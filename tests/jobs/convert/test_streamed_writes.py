"""The conversion engine's write path: tensors that keep their bytes are copied by the
kernel in merged runs, a plain safetensors conversion never imports torch, and every
fallback (another filesystem, no kernel copy at all) writes the very same files."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import REPO_ROOT

pytestmark = [pytest.mark.torch]


def _weights(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.safetensors"))}


def _convert(src: Path, out: Path) -> dict:
    from sdaws_jobs.convert import convert_checkpoint

    return convert_checkpoint(src, out)


def test_contiguous_tensors_become_a_few_kernel_copies(checkpoint_file, converted, tmp_path, monkeypatch):
    calls = []
    real = os.copy_file_range

    def counting(*args):
        calls.append(args[2])
        return real(*args)

    monkeypatch.setattr(os, "copy_file_range", counting)
    summary = _convert(checkpoint_file("sd1"), tmp_path / "out")
    # One run per component file (plus the set-aside extras), not one call per tensor.
    assert 0 < len(calls) <= 8 < summary["tensors_written"]
    assert _weights(tmp_path / "out") == _weights(converted("sd1"))


@pytest.mark.parametrize("arch", ["sdxl", "sd2-768"])
def test_plain_conversion_never_imports_torch(arch, checkpoint_file, tmp_path):
    # SDXL's text projection is stored transposed: reordering it must not pay torch's
    # import (seconds) and memory (hundreds of MB) on a job that only copies bytes.
    script = (
        "import sys\n"
        "from sdaws_jobs.convert import convert_checkpoint\n"
        f"convert_checkpoint({str(checkpoint_file(arch))!r}, {str(tmp_path / 'out')!r})\n"
        # VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec).
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "print('torch' in sys.modules, int(hwm.split()[1]) // 1024)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'containers'}"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    imported, peak_mib = done.stdout.split()
    assert imported == "False"
    assert int(peak_mib) < 64


def test_transposed_matrix_equals_torch_for_every_item_size():
    import torch

    from sdaws_jobs.convert.st_io import transposed_bytes

    for dtype in (torch.uint8, torch.float16, torch.float32, torch.float64):
        t = (torch.arange(6 * 5) * 3).reshape(6, 5).to(dtype)
        raw = t.contiguous().view(torch.uint8).numpy().tobytes()
        want = t.T.contiguous().view(torch.uint8).numpy().tobytes()
        assert transposed_bytes(raw, 6, 5, t.element_size()).tobytes() == want, dtype


def _refuse(err: int):
    def call(*args):
        raise OSError(err, os.strerror(err))

    return call


def test_no_kernel_copy_between_filesystems_falls_back_to_sendfile(checkpoint_file, converted, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "copy_file_range", _refuse(errno.EXDEV))
    _convert(checkpoint_file("sdxl"), tmp_path / "out")
    assert _weights(tmp_path / "out") == _weights(converted("sdxl"))


def test_neither_kernel_copy_falls_back_to_reading(checkpoint_file, converted, tmp_path, monkeypatch):
    monkeypatch.setattr(os, "copy_file_range", _refuse(errno.ENOSYS))
    monkeypatch.setattr(os, "sendfile", _refuse(errno.EINVAL))
    _convert(checkpoint_file("sd1"), tmp_path / "out")
    assert _weights(tmp_path / "out") == _weights(converted("sd1"))


def test_a_real_second_filesystem_gives_the_same_files(checkpoint_file, converted, tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem (/dev/shm) here; the fallbacks are covered above")
    src = shm / f"sdaws-test-{os.getpid()}.safetensors"
    src.write_bytes(checkpoint_file("sd1").read_bytes())
    try:
        _convert(src, tmp_path / "out")
    finally:
        src.unlink()
    assert _weights(tmp_path / "out") == _weights(converted("sd1"))


def test_a_full_disk_fails_cleanly_instead_of_falling_back(checkpoint_file, tmp_path, monkeypatch):
    from sdaws_jobs.convert import ConvertError

    monkeypatch.setattr(os, "copy_file_range", _refuse(errno.ENOSPC))
    with pytest.raises(ConvertError, match="free disk space"):
        _convert(checkpoint_file("sd1"), tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_copied_bytes_keep_their_offset_within_a_page(checkpoint_file, tmp_path, monkeypatch):
    from safetensors import safe_open

    copies = []
    real = os.copy_file_range

    def recording(src, dst, count, src_offset, dst_offset):
        copies.append((src_offset, dst_offset))
        return real(src, dst, count, src_offset, dst_offset)

    monkeypatch.setattr(os, "copy_file_range", recording)
    _convert(checkpoint_file("sd1"), tmp_path / "out")
    from sdaws_jobs.convert.st_io import FOLIO, PAGE

    aligned = [(s, d) for s, d in copies if s % 8 == 0]
    assert aligned and all(s % PAGE == d % PAGE for s, d in aligned)
    # ... on a page that begins a large folio of the new file (the fast kernel copy).
    assert all((d - d % PAGE) % FOLIO == 0 for _, d in aligned)
    # The padded header is one any reader accepts, and the data block stays 8-byte aligned.
    for weights in (tmp_path / "out").rglob("*.safetensors"):
        with safe_open(str(weights), "pt") as f:
            assert f.keys()
        assert int.from_bytes(weights.read_bytes()[:8], "little") % 8 == 0


def test_a_long_run_is_copied_in_folio_ending_pieces_and_reports_each_tensor_once(tmp_path, monkeypatch):
    from safetensors.numpy import load_file

    from sdaws_jobs.convert import st_io

    monkeypatch.setattr(st_io, "MAX_PIECE", st_io.FOLIO)  # a 40 KiB tensor run spans several pieces
    data = os.urandom(10 * 40 << 10)
    src = tmp_path / "src.bin"
    src.write_bytes(b"\0" * 24 + data)  # the source's data starts 8-aligned, mid-page
    pieces, reported = [], []
    real = os.copy_file_range

    def recording(src_fd, dst_fd, count, src_offset, dst_offset):
        pieces.append((dst_offset, count))
        return real(src_fd, dst_fd, count, src_offset, dst_offset)

    monkeypatch.setattr(os, "copy_file_range", recording)
    with src.open("rb") as f:
        entries = [
            st_io.OutEntry(
                f"t{i}", "U8", (40 << 10,), order=i, span=st_io.Span(f.fileno(), 24 + i * (40 << 10), 40 << 10)
            )
            for i in range(10)
        ]
        st_io.write_file(tmp_path / "out.safetensors", entries, on_tensor=reported.append)
    assert reported == [f"t{i}" for i in range(10)]
    assert len(pieces) > 1 and all((start + count) % st_io.FOLIO == 0 for start, count in pieces[:-1])
    loaded = load_file(tmp_path / "out.safetensors")
    assert b"".join(loaded[f"t{i}"].tobytes() for i in range(10)) == data
