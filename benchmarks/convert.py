"""Convert a full-size SD1.5-architecture checkpoint: sdaws vs diffusers vs `cp`.

Builds a ~2 GB checkpoint with random fp16 weights in the real SD1 "ldm" layout (key
names and shapes from sd-mecha's published list), then, in one run, converts it
with sdaws (`convert_checkpoint`) and with diffusers (`from_single_file` with a local
config folder, then `save_pretrained`), and copies the same bytes with `cp` as the
disk floor. Each runs in its own child process; wall time and that child's peak RSS
(from wait4) are printed with the ratios. Targets: sdaws <= 0.5x diffusers' time,
<= 0.25x its peak RSS, <= 2x the copy.

    .venv/bin/python benchmarks/convert.py [--workdir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from random_models import build_sd15_checkpoint


def build_checkpoint(path: Path) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        build_sd15_checkpoint(path, Path(scratch))


def child(tool: str, src: Path, out: Path, config: Path | None) -> None:
    """Runs in the measured child process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    if tool == "sdaws":
        from sdaws_jobs.convert import convert_checkpoint

        convert_checkpoint(src, out)
    elif tool == "diffusers":
        import torch
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline.from_single_file(
            str(src), config=str(config), local_files_only=True, torch_dtype=torch.float16
        )
        pipe.save_pretrained(str(out))
    elif tool == "build":
        build_checkpoint(out)


def measure(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="where to put the 2 GB files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the files afterwards")
    parser.add_argument("--child", nargs=4, metavar=("TOOL", "SRC", "OUT", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, src, out, config = args.child
        child(tool, Path(src), Path(out), Path(config) if config != "-" else None)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sdaws-bench-convert-"))
    work.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]
    src = work / "sd15-random-fp16.safetensors"
    try:
        if not src.exists():
            print("building the 2 GB checkpoint ...", flush=True)
            measure([*me, "build", "-", str(src), "-"])
        size = src.stat().st_size
        # Warm the page cache once so every contender reads from the same (cached) state.
        subprocess.run(["cat", str(src)], stdout=subprocess.DEVNULL, check=True)
        results = {}
        for tool in ("cp", "sdaws", "diffusers"):
            out = work / f"out-{tool}"
            shutil.rmtree(out, ignore_errors=True)
            if out.with_suffix(".safetensors").exists():
                out.with_suffix(".safetensors").unlink()
            if tool == "cp":
                results[tool] = measure(["cp", str(src), str(out)])
            else:
                # diffusers gets sdaws' output folder as its config= (the same configs, offline).
                config = str(work / "out-sdaws") if tool == "diffusers" else "-"
                results[tool] = measure([*me, tool, str(src), str(out), config])
        print(
            f"\ncheckpoint: {size / 1e9:.2f} GB, SD1.5 architecture, random fp16 weights; "
            f"{os.cpu_count()} CPUs (machine may be shared)\n"
        )
        print(f"{'tool':<10} {'wall s':>8} {'peak RSS MiB':>13}")
        for tool, (wall, rss) in results.items():
            print(f"{tool:<10} {wall:>8.2f} {rss:>13.0f}")
        s, d, c = results["sdaws"], results["diffusers"], results["cp"]
        print(f"\nsdaws / diffusers time: {s[0] / d[0]:.3f}x  (target <= 0.5)")
        print(f"sdaws / diffusers peak RSS: {s[1] / d[1]:.3f}x  (target <= 0.25)")
        print(f"sdaws / cp time: {s[0] / c[0]:.3f}x  (target <= 2)")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
