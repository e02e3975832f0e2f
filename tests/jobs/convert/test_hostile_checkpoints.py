"""`sdaws convert` / `sdaws export` on hostile files: exit 2 with one line, bounded memory.

The safetensors corpus is the generated one (tests/support/hostile_inputs.py); the
checkpoints are built here with torch as an attacker would build them: tensors that
are stride-0 views of a few bytes (a 30 MiB file once became a 1 GiB model), a torch
zip whose entries are deflated zeros (a zip bomb: 3.3 GiB before the refusal), and a
diffusers folder whose config nests deeper than Python's recursion limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.hostile_inputs import hostile_safetensors

pytestmark = [pytest.mark.torch]

SDAWS = str(Path(sys.executable).parent / "sdaws")

# The CLI's own entry point, run in one process for the whole corpus (one process per
# file would spend minutes starting Python): exit code and stderr per file.
DRIVE_CLI = """
import contextlib, io, json, sys
from sdaws.entry import main
results = {}
for src, out in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main(["convert", src, "--output", out])
        except SystemExit as exc:
            code = exc.code
        except BaseException as exc:  # what a user would see as a traceback
            code = f"{type(exc).__name__}: {exc}"[:300]
    results[src] = [code, err.getvalue()]
print(json.dumps(results))
"""


def _sdaws(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([SDAWS, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


def _one_line_exit_2(code, stderr: str) -> bool:
    lines = [line for line in stderr.splitlines() if line.strip()]
    return code == 2 and len(lines) == 1 and lines[0].startswith("sdaws: ") and "Traceback" not in stderr


def test_every_hostile_safetensors_file_is_exit_2_with_one_line(tmp_path):
    jobs = []
    for i, (_case, data) in enumerate(sorted(hostile_safetensors().items())):
        src = tmp_path / f"case{i:02d}.safetensors"
        src.write_bytes(data)
        jobs.append((str(src), str(tmp_path / f"out{i:02d}")))
    run = subprocess.run(
        [sys.executable, "-c", DRIVE_CLI, json.dumps(jobs)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout.splitlines()[-1])
    cases = dict(zip((src for src, _ in jobs), sorted(hostile_safetensors()), strict=True))
    bad = {cases[src]: result for src, result in results.items() if not _one_line_exit_2(*result)}
    assert bad == {}
    assert not any((tmp_path / f"out{i:02d}").exists() for i in range(len(jobs))), "nothing half-written"


def test_the_installed_command_says_one_line_for_an_unparseable_dimension(tmp_path):
    src = tmp_path / "digits.safetensors"
    src.write_bytes(hostile_safetensors()["a dimension with 5000 digits"])
    run = _sdaws("convert", src, "--output", tmp_path / "out")
    assert _one_line_exit_2(run.returncode, run.stderr), run.stderr


def test_a_config_nested_past_the_recursion_limit_is_exit_2(tmp_path, converted):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(converted("sd1"), folder)
    (folder / "model_index.json").write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    run = _sdaws("export", folder, "--output", tmp_path / "back.safetensors")
    assert _one_line_exit_2(run.returncode, run.stderr), run.stderr[-500:]
    assert "nests deeper" in run.stderr


def _stride_zero(state_dict: dict) -> dict:
    """Every tensor replaced by a view of one stored element (same shapes, a few bytes stored)."""
    import torch

    return {k: torch.zeros(1, dtype=v.dtype).expand(v.shape) if v.dim() else v for k, v in state_dict.items()}


def test_views_larger_than_their_storage_are_refused(tmp_path):
    import torch

    from tests.support.checkpoint_layouts import BUILDERS

    src = tmp_path / "views.ckpt"
    views = _stride_zero(BUILDERS["sd1"]())
    views["junk.extra"] = torch.zeros(1).expand(4096, 4096)  # 64 MiB "of" four bytes, kept as an extra
    torch.save({"state_dict": views}, src)
    assert src.stat().st_size < 4 * 1024 * 1024
    run = _sdaws("convert", src, "--output", tmp_path / "out")
    assert _one_line_exit_2(run.returncode, run.stderr), run.stderr[-500:]
    assert "stride-0" in run.stderr and not (tmp_path / "out").exists()


def _zip_bomb(path: Path, zeros_mib: int) -> None:
    """A torch zip checkpoint re-packed with every entry deflated: zeros shrink ~1000:1."""
    import torch

    plain = path.with_suffix(".plain")
    torch.save({"state_dict": {"model.diffusion_model.x": torch.zeros(zeros_mib * 1024 * 1024 // 4)}}, plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    plain.unlink()


PEAK = """
import resource, sys, torch
from sdaws.contract.errors import InvalidInput
from sdaws_jobs.convert import convert_checkpoint
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    convert_checkpoint(sys.argv[1], sys.argv[2])
except InvalidInput as exc:
    print(exc, file=sys.stderr)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    bomb = tmp_path / "bomb.ckpt"
    _zip_bomb(bomb, zeros_mib=512)
    assert bomb.stat().st_size < 8 * 1024 * 1024
    run = subprocess.run([sys.executable, "-c", PEAK, str(bomb), str(tmp_path / "out")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-1000:]
    assert "zip bomb" in run.stderr
    grown = int(run.stdout.split()[-1])
    assert grown < 128, f"memory grew by {grown} MiB while refusing a {bomb.stat().st_size:,}-byte file"
    cli = _sdaws("convert", bomb, "--output", tmp_path / "out")
    assert _one_line_exit_2(cli.returncode, cli.stderr), cli.stderr[-500:]
