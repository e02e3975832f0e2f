"""txt2img speed: the sdaws inference path vs a plain diffusers pipeline at its defaults.

Both load the same random-weight model from the same diffusers folder and generate
with the same prompt, steps, size and scheduler, one after the other in one run:

  * diffusers: `StableDiffusionPipeline.from_pretrained(dir)` then `.to(device)`:
    fp32, default attention, contiguous tensors;
  * sdaws: `pipelines.load_text2image` + `runtime.optimize_pipeline` + `render.render`
    (the job's own code): fp16 on CUDA, SDPA, channels_last, optionally torch.compile.

Each path gets one warm-up call, then `--runs` timed calls, the two paths alternating
(both pipelines stay loaded) and the median taken; it/s counts denoising
steps over the whole call (text encoding and VAE decode included, as a user waits for
them). The model is SD1.5-sized (UNet 860M, configs shipped in sdaws_jobs/configs/sd1)
or, with `--tiny`, the demo's tiny model. Target on a GPU: sdaws >= 1.3x diffusers.
On a CPU both run fp32 and the ratio is about 1.0.

    .venv/bin/python benchmarks/generate.py --tiny            # CPU smoke run, seconds
    .venv/bin/python benchmarks/generate.py --steps 30 --size 512 [--compile]   # on a GPU
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from random_models import REPO, build_sd15_folder, build_tiny_folder


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def diffusers_call(folder: Path, args, device):
    import torch
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(folder), local_files_only=True).to(device)
    pipe.set_progress_bar_config(disable=True)

    def call():
        pipe(
            args.prompt,
            num_inference_steps=args.steps,
            width=args.size,
            height=args.size,
            generator=torch.Generator("cpu").manual_seed(0),
        )

    return call


def sdaws_call(folder: Path, args):
    sys.path.insert(0, str(REPO / "containers"))
    from sdaws.contract.specs import Txt2ImgSpec
    from sdaws_jobs.pipelines import load_text2image
    from sdaws_jobs.render import Kit, render
    from sdaws_jobs.runtime import optimize_pipeline, pick_runtime

    runtime = pick_runtime(None)
    pipe = optimize_pipeline(load_text2image(folder, runtime), runtime, compile_unet=args.compile and runtime.cuda)
    pipe.set_progress_bar_config(disable=True)
    spec = Txt2ImgSpec(prompt=args.prompt, model="bench", steps=args.steps, width=args.size, height=args.size, seed=0)

    def call():
        list(render(Kit(pipe), spec))  # render takes what generate.build_pipeline returns

    return call, str(runtime.dtype).replace("torch.", "")


def interleaved(calls: dict, runs: int, device) -> dict[str, float]:
    """Median seconds per call; the paths alternate so a noisy machine hits both alike."""
    for call in calls.values():
        call()  # warm-up: kernels, autotuning, compile
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            _sync(device)
            start = time.perf_counter()
            call()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny model instead of SD1.5 size")
    parser.add_argument("--steps", type=int, default=None, help="denoising steps (default 20; tiny 10)")
    parser.add_argument("--size", type=int, default=None, help="image side in pixels (default 512; tiny 64)")
    parser.add_argument("--runs", type=int, default=5, help="timed calls per path after one warm-up")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet on the sdaws path (CUDA)")
    parser.add_argument("--prompt", default="a photograph of an astronaut riding a horse")
    parser.add_argument("--workdir", help="where to build the model (default: a temp folder, removed)")
    args = parser.parse_args(argv)
    args.steps = args.steps or (10 if args.tiny else 20)
    args.size = args.size or (64 if args.tiny else 512)

    import torch

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sdaws-bench-gen-"))
    folder = work / ("tiny" if args.tiny else "sd15-random")
    try:
        if not (folder / "model_index.json").is_file():
            (build_tiny_folder if args.tiny else build_sd15_folder)(folder)
        ours_call, dtype = sdaws_call(folder, args)
        medians = interleaved(
            {"diffusers": diffusers_call(folder, args, device), "sdaws": ours_call}, args.runs, device
        )
        base, ours = medians["diffusers"], medians["sdaws"]
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(
        f"txt2img, {'tiny' if args.tiny else 'SD1.5-size random'} model, {args.steps} steps, "
        f"{args.size}x{args.size}, median of {args.runs} alternating runs, device {name}"
    )
    print(f"{'path':<12}{'dtype':<10}{'s/image':>10}{'it/s':>10}")
    print(f"{'diffusers':<12}{'float32':<10}{base:>10.3f}{args.steps / base:>10.2f}")
    print(f"{'sdaws':<12}{dtype:<10}{ours:>10.3f}{args.steps / ours:>10.2f}")
    print(f"ratio sdaws/diffusers (it/s): {base / ours:.2f}x")
    if device.type != "cuda":
        print("no GPU here: both paths run fp32 on the CPU; the GPU figure (target >= 1.3x) is pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
