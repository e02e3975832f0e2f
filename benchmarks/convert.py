"""Conversion at the copy floor: `sdaws convert` vs `cp` of the same bytes (and diffusers).

Builds full-size single-file checkpoints with random fp16 weights in the original
layouts (SD1.5: 2.1 GB, SDXL: 6.9 GB; see random_models.py), then, in one run,
converts each with `sdaws convert` (the CLI as a user runs it, a whole process) and
copies the same bytes with `cp` as the disk floor; SD1 also with diffusers
(`from_single_file` with a local config folder, then `save_pretrained`). Each runs in
its own child process; wall time and that child's peak RSS (from wait4) are printed
with the ratios.

How it measures, because the machine is shared and the page cache is not neutral:
the source is read once beforehand (every contender reads from the page cache), and
before every timed run `sync` writes back what the previous one left dirty, so no
contender pays for another's writeback (measuring `sdaws` right after `cp` once
charged it for cp's 2 GB). `--rounds` rounds run the contenders in a shuffled
order; medians are reported. Targets: sdaws <= 1.5x cp (SD1 and SDXL), peak RSS
<= 64 MB; SD1 also sdaws <= 0.5x diffusers' time and <= 0.25x its peak RSS.

    .venv/bin/python benchmarks/convert.py [--sizes sd1,sdxl] [--rounds 3] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from random_models import build_random_checkpoint, build_sd15_checkpoint

SIZES = {"sd1": "SD1.5", "sdxl": "SDXL"}


def build_checkpoint(size: str, path: Path) -> None:
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        if size == "sd1":
            build_sd15_checkpoint(path, Path(scratch))
        else:
            build_random_checkpoint(size, path, Path(scratch))


def child(tool: str, src: Path, out: Path, config: Path | None) -> None:
    """Runs in the measured child process."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    if tool == "diffusers":
        import json

        import diffusers
        import torch

        pipeline = getattr(diffusers, json.loads((config / "model_index.json").read_text())["_class_name"])
        pipe = pipeline.from_single_file(str(src), config=str(config), local_files_only=True, torch_dtype=torch.float16)
        pipe.save_pretrained(str(out))
    elif tool in SIZES:
        build_checkpoint(tool, out)


def measure(argv: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds: user + system) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # Linux reports KiB


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def sdaws_command() -> list[str]:
    installed = Path(sys.executable).parent / "sdaws"
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "sdaws.entry"]


def compare(size: str, src: Path, work: Path, tools: list[str], rounds: int) -> dict[str, list[tuple]]:
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]
    out = work / f"out-{size}"
    config = work / f"config-{size}"  # diffusers gets an sdaws conversion as its config= (offline)
    if "diffusers" in tools and not config.exists():
        subprocess.run(
            [*sdaws_command(), "convert", str(src), "-o", str(config)], check=True, stdout=subprocess.DEVNULL
        )
    commands = {
        "cp": ["cp", str(src), str(out)],
        "sdaws": [*sdaws_command(), "convert", str(src), "-o", str(out)],
        "diffusers": [*me, "diffusers", str(src), str(out), str(config)],
    }
    subprocess.run(["cat", str(src)], stdout=subprocess.DEVNULL, check=True)  # into the page cache
    results: dict[str, list[tuple]] = {tool: [] for tool in tools}
    for _ in range(rounds):
        order = random.sample(tools, len(tools))
        for tool in order:
            remove(out)
            subprocess.run(["sync"], check=True)
            time.sleep(1)
            results[tool].append(measure(commands[tool]))
    remove(out)
    return results


def report(size: str, nbytes: int, results: dict[str, list[tuple]]) -> None:
    wall = {tool: statistics.median(w for w, _, _ in runs) for tool, runs in results.items()}
    rss = {tool: max(r for _, r, _ in runs) for tool, runs in results.items()}
    cpu = {tool: statistics.median(c for _, _, c in runs) for tool, runs in results.items()}
    print(f"\n{SIZES[size]}-size checkpoint: {nbytes / 1e9:.2f} GB, random fp16 weights")
    print(f"{'tool':<10} {'median s':>9} {'CPU s':>7} {'peak RSS MiB':>13}   runs (wall s)")
    for tool in results:
        runs = " ".join(f"{w:.2f}" for w, _, _ in results[tool])
        print(f"{tool:<10} {wall[tool]:>9.2f} {cpu[tool]:>7.2f} {rss[tool]:>13.0f}   {runs}")
    print(f"{SIZES[size]} sdaws / cp time: {wall['sdaws'] / wall['cp']:.2f}x  (target <= 1.5)")
    # CPU time moves less than wall time when other work shares the machine.
    print(f"{SIZES[size]} sdaws / cp CPU time: {cpu['sdaws'] / cpu['cp']:.2f}x")
    print(f"{SIZES[size]} sdaws peak RSS: {rss['sdaws']:.0f} MiB  (target <= 64)")
    if "diffusers" in wall:
        print(f"{SIZES[size]} sdaws / diffusers time: {wall['sdaws'] / wall['diffusers']:.3f}x  (target <= 0.5)")
        print(f"{SIZES[size]} sdaws / diffusers peak RSS: {rss['sdaws'] / rss['diffusers']:.3f}x  (target <= 0.25)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, help="where to put the checkpoints (default: a temp dir, removed)")
    parser.add_argument("--sizes", default="sd1,sdxl", help="comma-separated: sd1 (2.1 GB), sdxl (6.9 GB)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs per contender (shuffled order)")
    parser.add_argument(
        "--diffusers",
        default="sd1",
        help="sizes diffusers also converts (SDXL needs ~14 GB of memory): sd1,sdxl or none",
    )
    parser.add_argument("--child", nargs=4, metavar=("TOOL", "SRC", "OUT", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tool, src, out, config = args.child
        child(tool, Path(src), Path(out), Path(config) if config != "-" else None)
        return
    sizes = [s for s in args.sizes.split(",") if s]
    if unknown := set(sizes) - set(SIZES):
        raise SystemExit(f"--sizes: unknown {', '.join(sorted(unknown))} (choose from sd1, sdxl)")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sdaws-bench-convert-"))
    work.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]
    try:
        print(f"{os.cpu_count()} CPUs (the machine may be shared: figures are noisy; medians of {args.rounds})")
        for size in sizes:
            src = work / f"{size}-random-fp16.safetensors"
            if not src.exists():
                print(f"building the {SIZES[size]}-size checkpoint ...", flush=True)
                measure([*me, size, "-", str(src), "-"])
            tools = ["cp", "sdaws"] + (["diffusers"] if size in args.diffusers.split(",") else [])
            report(size, src.stat().st_size, compare(size, src, work, tools, args.rounds))
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
