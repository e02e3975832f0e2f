"""A wrong request fails fast with exit code 2, a clear message and no traceback."""

from __future__ import annotations

import pytest

from tests.support.jobrun import make_workdir, run_job


def _assert_clear_failure(result, *needles):
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    error = result.events[-1]
    assert error["event"] == "error"
    for needle in needles:
        assert needle in error["message"], error["message"]


@pytest.mark.parametrize(
    ("kind", "spec", "needles"),
    [
        ("txt2img", {"prompt": "p", "model": "m", "steps": 0}, ["steps"]),
        ("txt2img", {"prompt": "p", "model": "../../etc/passwd"}, ["model"]),
        ("train", {"base_model": "m", "output_name": "x"}, ["steps", "Field required"]),
        ("merge", {"model_a": "a", "model_b": "b", "output_name": "o", "mode": "add_difference"}, ["model_c"]),
    ],
)
def test_invalid_spec_exits_2_with_a_message(tmp_path, kind, spec, needles):
    _assert_clear_failure(run_job(kind, make_workdir(tmp_path, spec)), *needles)


def test_missing_spec_and_broken_json(tmp_path):
    _assert_clear_failure(run_job("merge", tmp_path), "no spec found")
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "spec.json").write_text("{not json")
    _assert_clear_failure(run_job("merge", tmp_path), "not valid JSON")


def test_missing_input_model_names_the_channel(tmp_path):
    spec = {"model_a": "a.safetensors", "model_b": "b.safetensors", "output_name": "o"}
    _assert_clear_failure(run_job("merge", make_workdir(tmp_path, spec)), "model_a")


def test_img2img_without_its_image_fails_before_loading_a_model(tmp_path):
    spec = {"prompt": "p", "model": "m", "init_image": "job-inputs/g/missing.png"}
    _assert_clear_failure(run_job("img2img", make_workdir(tmp_path, spec)), "init image", "missing.png")


def test_training_without_images_says_what_to_upload(tmp_path):
    spec = {"base_model": "m", "steps": 1, "output_name": "o"}
    _assert_clear_failure(run_job("train", make_workdir(tmp_path, spec)), "dataset")
