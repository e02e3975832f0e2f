"""Journey: `sdaws upscale` and `sdaws generate` with hires fix and a ControlNet unit, as a process
against the real local server running real tiny CPU jobs; an upscale of a job's own output."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.support.parity_job_server import CONTROLNET, ESRGAN, MODEL
from tests.support.tui_env import run_sdaws

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def test_upscale_a_local_image_then_a_job_output_with_an_esrgan_model(parity_job_server, user_env, tmp_path):
    photo = tmp_path / "photo.png"
    Image.effect_noise((20, 12), 64).convert("RGB").save(photo)
    out = tmp_path / "out"
    result = run_sdaws(
        parity_job_server,
        *("upscale", str(photo), "--model", ESRGAN, "--scale", "4", "--tile", "0"),
        *("--wait", "--out", str(out), "--json"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    job = report["job"]
    assert job["kind"] == "upscale" and job["params"]["upscaler_1"] == ESRGAN and job["params"]["tile"] == 0
    (saved,) = report["saved"]
    with Image.open(saved) as image:
        assert image.size == (80, 48)

    (output,) = [o for o in job["outputs"] if o["type"] == "images"]
    again = run_sdaws(
        parity_job_server,
        "upscale",
        output["key"],
        "--model",
        "Lanczos",
        "--scale",
        "2",
        "--wait",
        "--json",
        "--out",
        str(tmp_path / "again"),
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["job"]["params"]["image"] == output["key"]  # sent as it is, not uploaded
    with Image.open(report["saved"][0]) as image:
        assert image.size == (160, 96)


def test_generate_with_hires_fix_and_a_controlnet_unit(parity_job_server, user_env, tmp_path):
    control = tmp_path / "square.png"
    square = Image.new("RGB", (64, 64), "black")
    square.paste("white", (16, 16, 48, 48))
    square.save(control)
    result = run_sdaws(
        parity_job_server,
        *("generate", "a house", "--model", MODEL, "--steps", "2", "--width", "64", "--height", "64", "--seed", "3"),
        *(
            "--hires-scale",
            "1.5",
            "--hires-steps",
            "2",
            "--hires-denoise",
            "0.5",
            "--hires-upscaler",
            "Latent (bicubic)",
        ),
        *("--controlnet", f"{CONTROLNET}:{control}:0.9:0:0.8:canny", "--preview-every", "1"),
        *("--wait", "--out", str(tmp_path / "out"), "--json"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    params = report["job"]["params"]
    assert params["enable_hr"] is True and params["hr_scale"] == 1.5 and params["hr_upscaler"] == "Latent (bicubic)"
    assert params["preview_every"] == 1
    (unit,) = params["controlnet"]
    assert unit["model"] == CONTROLNET and unit["module"] == "canny" and unit["guidance_end"] == 0.8
    assert unit["image"].startswith("job-inputs/")
    from sdaws_jobs.pngmeta import parse_infotext

    kinds = {o["name"]: o["type"] for o in report["job"]["outputs"]}
    assert list(kinds.values()).count("previews") >= 2  # --preview-every 1: a preview per step came along
    (saved,) = [p for p in report["saved"] if kinds[p.rsplit("/", 1)[-1]] == "images"]
    with Image.open(saved) as image:
        assert image.size == (96, 96)
        written = parse_infotext(image.info["parameters"])["params"]
    assert written["Hires upscale"] == "1.5" and written["Hires upscaler"] == "Latent (bicubic)"
    assert written["ControlNet 0"].startswith("Module: canny, Model: control_tiny, Weight: 0.9")


@pytest.fixture
def tiny_jobs(job_server, user_env):
    from tests.support.job_server import TOKEN
    from tests.support.tui_env import Server

    handle, models = job_server
    return Server(handle.url, TOKEN, models, models.parent / "data", handle)


def test_merge_with_a_method_and_block_weights(tiny_jobs):
    weights = ",".join(["0.25"] * 12 + ["0.5"] + ["0.75"] * 12)
    result = run_sdaws(
        tiny_jobs,
        *("merge", "alpha.safetensors", "beta.safetensors", "--mode", "sigmoid", "--block-weights", weights),
        *("--output", "mbw-sigmoid", "--wait", "--json"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["job"]["params"]["mode"] == "sigmoid" and len(report["job"]["params"]["block_weights"]) == 25
    assert report["in_tree"] == ["Stable-diffusion/mbw-sigmoid.safetensors"]
    assert (tiny_jobs.models / "Stable-diffusion/mbw-sigmoid.safetensors").is_file()


def test_train_with_buckets_captions_and_intermediate_saves(tiny_jobs, tmp_path):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for i, (size, colour) in enumerate((((48, 32), "red"), ((32, 48), "blue"))):
        Image.new("RGB", size, colour).save(dataset / f"img{i}.png")
        (dataset / f"img{i}.caption").write_text(f"sq{i}, a {colour} thing, plain")
    result = run_sdaws(
        tiny_jobs,
        *("train", str(dataset), "--model", "tiny-sd", "--output", "bucketed", "--steps", "2", "--resolution", "32"),
        *("--rank", "2", "--enable-bucket", "--min-bucket-reso", "16", "--max-bucket-reso", "64"),
        *("--bucket-reso-steps", "16", "--caption-extension", ".caption", "--shuffle-caption", "--keep-tokens", "1"),
        *("--save-every-n-steps", "1", "--wait", "--json"),
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    params = json.loads(result.stdout)["job"]["params"]
    assert params["enable_bucket"] is True and params["caption_extension"] == ".caption"
    assert params["shuffle_caption"] is True and params["keep_tokens"] == 1 and params["save_every_n_steps"] == 1
    assert (tiny_jobs.models / "Lora/bucketed.safetensors").is_file()


def test_inpaint_a_rectangle_drawn_with_mask_rect(parity_job_server, user_env, tmp_path, monkeypatch):
    import numpy as np

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # where the CLI draws the mask

    init = tmp_path / "init.png"
    source = np.random.default_rng(4).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(source).save(init)
    result = run_sdaws(
        parity_job_server,
        *("generate", "a door", "--model", MODEL, "--steps", "2", "--width", "64", "--height", "64", "--seed", "1"),
        *("--init-image", str(init), "--strength", "1", "--mask-rect", "16,16,32,24", "--mask-blur", "0"),
        *("--wait", "--out", str(tmp_path / "out"), "--json"),
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    params = report["job"]["params"]
    assert params["mask"].startswith("job-inputs/") and params["mask"].endswith("/mask-rect.png")
    assert params["mask_blur"] == 0
    with Image.open(report["saved"][0]) as image:
        made = np.asarray(image.convert("RGB")).astype(np.int16)
    outside = np.ones((64, 64), bool)
    outside[16:40, 16:48] = False
    assert np.abs(made[outside] - source[outside]).max() <= 1  # the rest of the picture is kept
    assert np.abs(made[~outside] - source[~outside]).max() > 1  # the rectangle was repainted
    assert not list(scratch.glob("sdaws-mask-*"))  # the drawn mask went with the CLI
