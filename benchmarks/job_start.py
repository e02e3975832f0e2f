"""Job start: time from submit to the first denoising step, a single-file checkpoint vs
the same model already converted, in one run. Goal: single file <= 1.1x converted.

Models: full-size random-weight checkpoints built from the shipped configs (SD1.5,
2.1 GB; SDXL, 6.9 GB; random_models.py), each also converted into the tree's
diffusers/ folder. Both are read once beforehand, and the cache's entry once made, so
every variant starts from the page cache (a shared machine may still push some out).
Two paths, each side by side:

  * local: `sdaws serve` (the real CLI, as a process) over that tree; the client
    submits txt2img through the HTTP API and polls GET /jobs/{id} until the job
    reports its first denoising step, then cancels it. Variants: the converted name
    (diffusers/<name>), the checkpoint (Stable-diffusion/<name>.safetensors), and
    the checkpoint again (a cache makes the second one as fast as the converted).
  * in-process (the serving container's path, sdaws_jobs.serve builds its pipeline
    with generate.build_pipeline and its converted-model cache): load + first step
    in one warm process (torch already imported), for the converted folder and the
    checkpoint through the cache (sdaws_jobs.model_cache), cold once (the first job
    on a file converts it) and then cached (every later job).

The images are 64x64 (a few latent pixels) without classifier-free guidance (one
UNet pass per step): start-up is what is measured, not denoising speed. Both paths
run as the job code picks on this machine (CPU: fp32, the fp16 weights widened
while loading; GPU: fp16). `--rounds` rounds run the variants in turn; medians are
reported, with CPU time beside wall time in-process.

    .venv/bin/python benchmarks/job_start.py [--sizes sd1,sdxl] [--paths local,inprocess] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_api import TOKEN, child_env, start_server, stop_server
from random_models import REPO

SIZES = {"sd1": "SD1.5", "sdxl": "SDXL"}
# 64x64, cfg 1 (no second UNet pass): start-up, not denoising.
PARAMS = {
    "prompt": "a lighthouse at dusk",
    "steps": 4,
    "width": 64,
    "height": 64,
    "seed": 1,
    "scheduler": "euler",
    "cfg_scale": 1.0,
}
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def build(size: str, tree: Path) -> tuple[Path, Path]:
    """(checkpoint, converted folder) in the tree, built in a child process (its memory goes with it)."""
    ckpt = tree / "Stable-diffusion" / f"{size}-random.safetensors"
    folder = tree / "diffusers" / f"{size}-random"
    if not folder.is_dir():
        print(f"building the {SIZES[size]}-size model ...", flush=True)
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        script = (
            "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[4])\n"
            "from random_models import build_random_checkpoint\n"
            "from sdaws_jobs.convert import convert_checkpoint\n"
            "ckpt, folder = Path(sys.argv[2]), Path(sys.argv[3])\n"
            "if not ckpt.exists(): build_random_checkpoint(sys.argv[1], ckpt, ckpt.parent)\n"
            "convert_checkpoint(ckpt, folder)\n"
        )
        here = str(Path(__file__).resolve().parent)
        subprocess.run([sys.executable, "-c", script, size, str(ckpt), str(folder), here], check=True, env=child_env())
    return ckpt, folder


def warm(*paths: Path) -> None:
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        subprocess.run(["cat", *map(str, files)], stdout=subprocess.DEVNULL, check=True)


# -- local: through `sdaws serve` ---------------------------------------------------------


def submit_to_first_step(client, model: str) -> float:
    os.sync()  # what the previous job wrote is on disk: none pays for another's writeback
    start = time.perf_counter()
    job = client.submit_job("txt2img", {**PARAMS, "model": model})
    job_id = job["job_id"]
    while True:
        record = client.get_job(job_id)
        progress = record.get("progress") or {}
        if progress.get("message") == "denoising" and progress.get("step", 0) >= 1:
            elapsed = time.perf_counter() - start
            break
        if record["status"] in FINAL:
            raise SystemExit(f"job on {model} ended {record['status']} before denoising: {record.get('error')}")
        time.sleep(0.05)
    client.cancel_job(job_id)
    while client.get_job(job_id)["status"] not in FINAL:
        time.sleep(0.1)
    return elapsed


def local(tree: Path, data: Path, converted: str, single: str, rounds: int) -> dict[str, list[float]]:
    """Rounds of (converted, single file); the first single-file job is reported apart
    (it is the one a cache cannot help)."""
    sys.path[:0] = [str(REPO)]
    from sdaws.client.api import ApiClient

    server, url = start_server(tree, data, data.parent / f"{data.name}-serve.log")
    try:
        with ApiClient(url, TOKEN) as client:
            submit_to_first_step(client, converted)  # warm-up: the job code's own files into the page cache
            times: dict[str, list[float]] = {
                "converted (diffusers/)": [],
                "single file, first": [],
                "single file, again": [],
            }
            for r in range(rounds):
                times["converted (diffusers/)"].append(submit_to_first_step(client, converted))
                times["single file, again" if r else "single file, first"].append(submit_to_first_step(client, single))
                warm(data / "cache" / "converted" / "entries")  # in the page cache, as the tree's folder is
            if rounds == 1:  # one more so "again" exists
                times["single file, again"].append(submit_to_first_step(client, single))
            return times
    finally:
        stop_server(server)


# -- in-process: the serving container's path ----------------------------------------------


class _FirstStep(Exception):
    pass


def _first_step(kit) -> None:
    """Render until the first denoising step ends; `kit` is what generate.build_pipeline returns."""
    from sdaws.contract.specs import Txt2ImgSpec
    from sdaws_jobs.render import render

    def stop():
        raise _FirstStep

    kit.pipe.set_progress_bar_config(disable=True)
    try:
        list(render(kit, Txt2ImgSpec(model="bench", **PARAMS), on_step=stop))
    except _FirstStep:
        return
    raise RuntimeError("the pipeline never reported a denoising step")


def inprocess_child(tree: Path, size: str, cache_root: Path, rounds: int) -> dict[str, list[list[float]]]:
    """Runs in its own process: torch imported once, as in a serving container."""
    import gc
    import tempfile

    from sdaws.contract.specs import Txt2ImgSpec
    from sdaws_jobs.generate import build_pipeline
    from sdaws_jobs.layout import Layout
    from sdaws_jobs.model_cache import ModelCache
    from sdaws_jobs.runtime import pick_runtime

    runtime = pick_runtime(None)
    ckpt = tree / "Stable-diffusion" / f"{size}-random.safetensors"
    folder = tree / "diffusers" / f"{size}-random"

    def through_build_pipeline(model_channel: Path, name: str, cache: ModelCache | None = None):
        with tempfile.TemporaryDirectory() as work:
            channel = Path(work) / "input" / "data" / "model"
            channel.mkdir(parents=True)
            os.symlink(model_channel, channel / model_channel.name)  # as the job runners stage it
            layout = Layout(Path(work) / "input", Path(work) / "output")
            spec = Txt2ImgSpec(model=name, **PARAMS)
            _first_step(build_pipeline(spec, layout, Path(work), runtime, cache=cache))

    def cold() -> None:  # a cache that has never seen the file: what the first job pays
        shutil.rmtree(cache_root, ignore_errors=True)
        through_build_pipeline(ckpt, ckpt.name, ModelCache(cache_root))

    cache = ModelCache(cache_root, tree_converted=None)

    def timed(run) -> list[float]:
        """[wall, CPU] seconds; CPU time (all threads) moves less when others share the machine."""
        os.sync()  # what the previous variant wrote is on disk: none pays for another's writeback
        start, cpu = time.perf_counter(), time.process_time()
        run()
        elapsed = [time.perf_counter() - start, time.process_time() - cpu]
        gc.collect()
        return elapsed

    timed(lambda: through_build_pipeline(folder, folder.name))  # kernels, lazy imports: a server did these
    times: dict[str, list[list[float]]] = {
        "converted folder": [],
        "single file, cache cold (first use)": [timed(cold)],
        "single file, cached (every later job)": [],
    }
    warm(cache_root / "entries")  # in the page cache, as the converted folder is
    variants = {
        "converted folder": lambda: through_build_pipeline(folder, folder.name),
        "single file, cached (every later job)": lambda: through_build_pipeline(ckpt, ckpt.name, cache),
    }
    for r in range(rounds):
        # Each goes first every other round: what one run leaves behind (freed memory, pages
        # pushed out) then weighs on both alike.
        for name in list(variants)[:: -1 if r % 2 else 1]:
            times[name].append(timed(variants[name]))
    return times


def inprocess(tree: Path, size: str, work: Path, rounds: int) -> dict[str, list[list[float]]]:
    cache_root = work / f"cache-{size}"
    shutil.rmtree(cache_root, ignore_errors=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(tree), size, str(cache_root), str(rounds)]
    done = subprocess.run(argv, env=child_env(), capture_output=True)
    shutil.rmtree(cache_root, ignore_errors=True)
    if done.returncode:
        raise SystemExit(f"in-process run failed:\n{done.stderr.decode()[-3000:]}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def report(title: str, runs: dict, base: str, ours: list[str]) -> None:
    """Runs are wall seconds, or [wall, CPU] pairs (in-process)."""
    with_cpu = isinstance(next(iter(runs.values()))[0], list)
    wall = {name: statistics.median(r[0] if with_cpu else r for r in t) for name, t in runs.items()}
    cpu = {name: statistics.median(r[1] for r in t) for name, t in runs.items()} if with_cpu else {}
    print(f"\n{title}")
    for name in runs:
        walls = " ".join(f"{r[0] if with_cpu else r:.2f}" for r in runs[name])
        extra = f"  CPU {cpu[name]:6.2f} s" if with_cpu else ""
        print(f"  {name:<42} {wall[name]:8.2f} s{extra}   runs: {walls}")
    for name in ours:
        line = f"  ratio {name} / {base}: {wall[name] / wall[base]:.2f}x"
        print(line + (f" (CPU {cpu[name] / cpu[base]:.2f}x)" if with_cpu else "") + "  (goal <= 1.1)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="sd1,sdxl", help="comma-separated: sd1, sdxl")
    parser.add_argument("--paths", default="local,inprocess", help="comma-separated: local, inprocess")
    parser.add_argument("--workdir", type=Path, help="where the models are built (default: a temp dir, removed)")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each variant (medians reported)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        tree, size, cache_root, rounds = args.child
        print(json.dumps(inprocess_child(Path(tree), size, Path(cache_root), int(rounds))))
        return 0
    work = args.workdir or Path(tempfile.mkdtemp(prefix="sdaws-bench-start-"))
    tree = work / "models"
    print(f"{os.cpu_count()} CPUs (the machine may be shared: figures are noisy); txt2img {PARAMS}")
    try:
        for size in [s for s in args.sizes.split(",") if s]:
            ckpt, folder = build(size, tree)
            paths = args.paths.split(",")
            if "local" in paths:
                warm(ckpt, folder)
                data = work / f"data-{size}"
                shutil.rmtree(data, ignore_errors=True)
                times = local(tree, data, f"diffusers/{folder.name}", f"Stable-diffusion/{ckpt.name}", args.rounds)
                label = f"{SIZES[size]}-size, local: `sdaws serve`, submit -> first denoising step (HTTP API)"
                report(label, times, "converted (diffusers/)", ["single file, first", "single file, again"])
            if "inprocess" in paths:
                warm(ckpt, folder)
                times = inprocess(tree, size, work, args.rounds)
                report(
                    f"{SIZES[size]}-size, in-process serving path: load -> first denoising step",
                    times,
                    "converted folder",
                    ["single file, cache cold (first use)", "single file, cached (every later job)"],
                )
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
