"""txt2img and img2img as real subprocess jobs on a tiny model (CPU)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sdaws_jobs.pngmeta import read_png_infotext, spec_fields
from tests.support.jobrun import make_workdir, run_job

pytestmark = [pytest.mark.torch, pytest.mark.slow]

SPEC = {
    "prompt": "a red fox, (detailed)",
    "negative_prompt": "blurry, lowres",
    "steps": 3,
    "cfg_scale": 6.5,
    "scheduler": "dpmpp_2m_karras",
    "seed": 1234,
    "width": 40,
    "height": 32,
    "batch_count": 2,
    "batch_size": 2,
    "model": "Stable-diffusion/tiny-sd",
}


def _pixels(path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


@pytest.fixture(scope="module")
def first_run(tiny_sd, tmp_path_factory):
    workdir = make_workdir(tmp_path_factory.mktemp("t2i-a"), SPEC, {"model": [tiny_sd]})
    return workdir, run_job("txt2img", workdir)


def test_txt2img_writes_pngs_of_the_requested_size_with_parameters(first_run):
    workdir, result = first_run
    assert result.code == 0, result.stderr[-3000:]
    outputs = result.outputs("images")
    assert [o["seed"] for o in outputs] == [1234, 1235, 1236, 1237]
    assert result.events[-1] == {"event": "done"}
    steps = [e for e in result.events if e["event"] == "progress" and e["total"]]
    assert steps[-1]["step"] == steps[-1]["total"] == 2 * 3
    for out in outputs:
        path = workdir / "output" / out["file"]
        with Image.open(path) as img:
            assert img.size == (40, 32)
        fields = spec_fields(read_png_infotext(path))
        assert fields["prompt"] == SPEC["prompt"]
        assert fields["negative_prompt"] == SPEC["negative_prompt"]
        assert fields["seed"] == out["seed"]
        for key in ("steps", "cfg_scale", "scheduler", "width", "height"):
            assert fields[key] == SPEC[key], key
        assert fields["model"] == "tiny-sd"


def test_same_seed_gives_same_pixels(first_run, tiny_sd, tmp_path):
    workdir, result = first_run
    # Same seed and same batch shape: bit-identical (batching changes float rounding,
    # as in the WebUI, so the rerun keeps batch_size 2).
    spec = {**SPEC, "batch_count": 1}
    again = run_job("txt2img", make_workdir(tmp_path, spec, {"model": [tiny_sd]}))
    assert again.code == 0, again.stderr[-3000:]
    first = {o["seed"]: _pixels(workdir / "output" / o["file"]) for o in result.outputs("images")}
    for out in again.outputs("images"):
        assert np.array_equal(first[out["seed"]], _pixels(tmp_path / "output" / out["file"])), out["seed"]
    assert not np.array_equal(first[1234], first[1235])


def test_img2img_from_an_image(tiny_sd, tmp_path):
    source = tmp_path / "source.png"
    gradient = np.linspace(0, 255, 32 * 32 * 3).reshape(32, 32, 3).astype(np.uint8)
    Image.fromarray(gradient).save(source)
    spec = {
        **SPEC,
        "batch_count": 1,
        "batch_size": 1,
        "width": 32,
        "scheduler": "euler",
        "steps": 4,
        "denoising_strength": 0.5,
        "init_image": "job-inputs/g1/source.png",
    }
    workdir = make_workdir(tmp_path / "job", spec, {"model": [tiny_sd], "init_image": [source]})
    result = run_job("img2img", workdir)
    assert result.code == 0, result.stderr[-3000:]
    [out] = result.outputs("images")
    path = workdir / "output" / out["file"]
    assert Image.open(path).size == (32, 32)
    assert spec_fields(read_png_infotext(path))["denoising_strength"] == 0.5
    steps = [e for e in result.events if e["event"] == "progress" and e["total"]]
    assert steps[-1]["total"] == 2  # strength 0.5 of 4 steps
