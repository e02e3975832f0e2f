"""convert/export jobs and txt2img from a single-file checkpoint (the conversion engine inside)."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.support.env import need
from tests.support.jobrun import make_workdir, run_job

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture(scope="module")
def single_file(tmp_path_factory):
    from tests.support.sd_mecha import sd_mecha_configs

    need(sd_mecha_configs() is not None, "sd-mecha's published key lists build the original-layout fixture")
    from safetensors.torch import save_file

    from tests.support.checkpoint_layouts import sd1

    path = tmp_path_factory.mktemp("sf") / "tiny-sd1.safetensors"
    save_file(sd1(seed=3), str(path))
    return path


def test_txt2img_from_a_single_file_checkpoint(single_file, tmp_path):
    spec = {
        "prompt": "a hill",
        "model": "Stable-diffusion/tiny-sd1.safetensors",
        "steps": 2,
        "width": 32,
        "height": 32,
        "seed": 9,
        "scheduler": "ddim",
    }
    result = run_job("txt2img", make_workdir(tmp_path, spec, {"model": [single_file]}))
    assert result.code == 0, result.stderr[-3000:]
    [out] = result.outputs("images")
    assert Image.open(tmp_path / "output" / out["file"]).size == (32, 32)


def test_convert_then_export_round_trip(single_file, tmp_path):
    from safetensors import safe_open

    conv = run_job(
        "convert",
        make_workdir(
            tmp_path / "c", {"model": "tiny-sd1.safetensors", "output_name": "tiny"}, {"model": [single_file]}
        ),
    )
    assert conv.code == 0, conv.stderr[-3000:]
    [out] = conv.outputs("diffusers")
    assert out["arch"] == "sd1" and out["file"] == "diffusers/tiny"
    folder = tmp_path / "c" / "output" / "diffusers" / "tiny"
    assert (folder / "model_index.json").is_file()
    assert any(e["event"] == "progress" and e["total"] > 1 for e in conv.events)

    exp = run_job("export", make_workdir(tmp_path / "e", {"output_name": "tiny-again"}, {"model": [folder]}))
    assert exp.code == 0, exp.stderr[-3000:]
    [out] = exp.outputs("Stable-diffusion")
    with (
        safe_open(str(tmp_path / "e" / "output" / out["file"]), "pt") as back,
        safe_open(str(single_file), "pt") as src,
    ):
        assert set(back.keys()) <= set(src.keys())
        key = "model.diffusion_model.input_blocks.0.0.weight"
        assert back.get_tensor(key).equal(src.get_tensor(key))


def test_convert_refuses_a_diffusers_folder_with_exit_2(tiny_sd, tmp_path):
    result = run_job("convert", make_workdir(tmp_path, {"output_name": "x"}, {"model": [tiny_sd]}))
    assert result.code == 2 and "already a diffusers folder" in result.events[-1]["message"]
