"""The WebUI-parity flags of `sdaws generate|upscale|train|merge` as a process: a mistake is a
line in the flags' words with exit 2, found before anything is sent (the --api points nowhere)."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.support.tui_env import run_sdaws

NOWHERE = ("--api", "http://127.0.0.1:9", "--token", "t" * 20)


@pytest.fixture
def image(user_env, tmp_path):
    path = tmp_path / "edges.png"
    Image.new("RGB", (8, 8)).save(path)
    (tmp_path / "ds").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "ds" / "a.png")
    return path


# Each command line as a user types it (split on spaces): a valid start, then the mistake.
# IMAGE and DATASET stand for the files the fixture writes.
IMAGE, DATASET = "{image}", "{ds}"
GENERATE = "generate x --model m"
UPSCALE = f"upscale {IMAGE} --model"
MERGE = "merge a b --output o"
TRAIN = f"train {DATASET} --model m --output o --steps 3"
MISTAKES = [
    (f"{GENERATE} --controlnet c.safetensors", "give MODEL:IMAGE[:WEIGHT[:START:END]]"),
    (f"{GENERATE} --controlnet c.safetensors:nofile.png", "--controlnet image nofile.png is not a file"),
    (
        f"{GENERATE} --controlnet c.safetensors:{IMAGE}:5",
        "--controlnet #1 weight: Input should be less than or equal to 2",
    ),
    (
        f"{GENERATE} --controlnet c.safetensors:{IMAGE}:1:0.5:0.2:canny",
        "--controlnet #1: guidance_start must be below guidance_end",
    ),
    (f"{GENERATE} --hires-scale 9", "--hires-scale: Input should be less than or equal to 8"),
    (f"{GENERATE} --hires-denoise 2", "--hires-denoise 2.0: Denoising strength is between"),
    (f"{GENERATE} --hires-resize big", "--hires-resize 'big': give WIDTHxHEIGHT"),
    (f"{GENERATE} --hires --init-image {IMAGE}", "hires fix (--hires…) is a txt2img option"),
    (f"{GENERATE} --mask {IMAGE}", "--mask needs --init-image"),
    (f"{GENERATE} --init-image {IMAGE} --mask-blur 3", "need --mask"),
    (f"{GENERATE} --mask-rect 1,1,4,4", "--mask-rect needs --init-image"),
    (f"{GENERATE} --init-image {IMAGE} --mask-rect 1,1,4", "is not x,y,w,h"),
    (f"{GENERATE} --init-image {IMAGE} --mask-rect 9,1,4,4", "starts outside the 8x8"),
    (f"{GENERATE} --refiner-switch 0.5", "--refiner-switch needs --refiner"),
    (f"{GENERATE} --preview-every -1", "--preview-every: Input should be greater than or equal to 0"),
    (f"{UPSCALE} ESRGAN/x.pth --scale 20", "--scale: Input should be less than or equal to 8"),
    (f"{UPSCALE} ESRGAN/x.pth --face-restorer x.pth", "name it GFPGAN/FILE or Codeformer/FILE"),
    (f"{UPSCALE} Latent", "latent upscalers work inside a generation"),
    ("upscale nofile.png --model Lanczos", "IMAGE nofile.png is not a file"),
    ("merge a --output o --mode ties", "give MODEL_B"),
    (f"{MERGE} --mode ties", "ties needs MODEL_C"),
    (f"{MERGE} --block-weights 1,2", "--block-weights: give 25 (SD1/SD2) or 19"),
    (f"{TRAIN} --min-bucket-reso 64", "need --enable-bucket"),
    (f"{TRAIN} --keep-tokens 99", "--keep-tokens: Input should be less than or equal to 75"),
]


@pytest.mark.parametrize("line,message", MISTAKES)
def test_a_wrong_parity_flag_is_one_line_in_the_flags_words(image, line, message):
    argv = [a.format(image=image, ds=image.parent / "ds") for a in line.split(" ")]
    result = run_sdaws(None, *argv, *NOWHERE)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1], result.stderr  # argparse's usage may come first
