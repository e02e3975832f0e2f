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


@pytest.mark.parametrize(
    "argv,message",
    [
        (["generate", "x", "--model", "m", "--controlnet", "c.safetensors"], "give MODEL:IMAGE[:WEIGHT[:START:END]]"),
        (
            ["generate", "x", "--model", "m", "--controlnet", "c.safetensors:nofile.png"],
            "--controlnet image nofile.png is not a file",
        ),
        (
            ["generate", "x", "--model", "m", "--controlnet", "c.safetensors:{image}:5"],
            "--controlnet #1 weight: Input should be less than or equal to 2",
        ),
        (
            ["generate", "x", "--model", "m", "--controlnet", "c.safetensors:{image}:1:0.5:0.2:canny"],
            "--controlnet #1: guidance_start must be below guidance_end",
        ),
        (
            ["generate", "x", "--model", "m", "--hires-scale", "9"],
            "--hires-scale: Input should be less than or equal to 8",
        ),
        (
            ["generate", "x", "--model", "m", "--hires-denoise", "2"],
            "--hires-denoise 2.0: Denoising strength is between",
        ),
        (["generate", "x", "--model", "m", "--hires-resize", "big"], "--hires-resize 'big': give WIDTHxHEIGHT"),
        (
            ["generate", "x", "--model", "m", "--hires", "--init-image", "{image}"],
            "hires fix (--hires…) is a txt2img option",
        ),
        (["generate", "x", "--model", "m", "--mask", "{image}"], "--mask needs --init-image"),
        (["generate", "x", "--model", "m", "--init-image", "{image}", "--mask-blur", "3"], "need --mask"),
        (["generate", "x", "--model", "m", "--mask-rect", "1,1,4,4"], "--mask-rect needs --init-image"),
        (["generate", "x", "--model", "m", "--init-image", "{image}", "--mask-rect", "1,1,4"], "is not x,y,w,h"),
        (
            ["generate", "x", "--model", "m", "--init-image", "{image}", "--mask-rect", "9,1,4,4"],
            "starts outside the 8x8",
        ),
        (["generate", "x", "--model", "m", "--refiner-switch", "0.5"], "--refiner-switch needs --refiner"),
        (
            ["generate", "x", "--model", "m", "--preview-every", "-1"],
            "--preview-every: Input should be greater than or equal to 0",
        ),
        (
            ["upscale", "{image}", "--model", "ESRGAN/x.pth", "--scale", "20"],
            "--scale: Input should be less than or equal to 8",
        ),
        (
            ["upscale", "{image}", "--model", "ESRGAN/x.pth", "--face-restorer", "x.pth"],
            "name it GFPGAN/FILE or Codeformer/FILE",
        ),
        (["upscale", "{image}", "--model", "Latent"], "latent upscalers work inside a generation"),
        (["upscale", "nofile.png", "--model", "Lanczos"], "IMAGE nofile.png is not a file"),
        (["merge", "a", "--output", "o", "--mode", "ties"], "give MODEL_B"),
        (["merge", "a", "b", "--output", "o", "--mode", "ties"], "ties needs MODEL_C"),
        (["merge", "a", "b", "--output", "o", "--block-weights", "1,2"], "--block-weights: give 25 (SD1/SD2) or 19"),
        (
            ["train", "{ds}", "--model", "m", "--output", "o", "--steps", "3", "--min-bucket-reso", "64"],
            "need --enable-bucket",
        ),
        (
            ["train", "{ds}", "--model", "m", "--output", "o", "--steps", "3", "--keep-tokens", "99"],
            "--keep-tokens: Input should be less than or equal to 75",
        ),
    ],
)
def test_a_wrong_parity_flag_is_one_line_in_the_flags_words(image, argv, message):
    argv = [a.format(image=image, ds=image.parent / "ds") for a in argv]
    result = run_sdaws(None, *argv, *NOWHERE)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert message in result.stderr.strip().splitlines()[-1], result.stderr  # argparse's usage may come first
