"""Specs, the progress protocol, infotext and the workdir contract: no torch needed."""

from __future__ import annotations

import io
import json

import pytest
from pydantic import ValidationError

from sdaws.contract.hyperparameters import from_sagemaker_hyperparameters
from sdaws.contract.progress import parse_line
from sdaws.contract.specs import parse_spec
from sdaws_jobs import progress
from sdaws_jobs.layout import Layout
from sdaws_jobs.pngmeta import build_infotext, infotext_for, parse_infotext, spec_fields


@pytest.mark.parametrize("bad", ["../x.safetensors", "/etc/passwd", "a/../b", "a\\b", "x/y/z/w", ""])
def test_model_references_cannot_escape(bad):
    with pytest.raises(ValidationError):
        parse_spec("txt2img", {"prompt": "p", "model": bad})


def test_tree_references_and_job_input_keys_are_accepted():
    spec = parse_spec(
        "img2img",
        {
            "prompt": "p",
            "model": "Stable-diffusion/m.safetensors",
            "init_image": "job-inputs/g/i.png",
            "loras": [{"name": "Lora/l.safetensors", "weight": 0.5}],
            "vae": "VAE/v.safetensors",
            "scheduler": "DPM++ 2M Karras",
        },
    )
    assert spec.scheduler == "dpmpp_2m_karras"


def test_unknown_keys_and_bad_sizes_are_rejected():
    with pytest.raises(ValidationError, match="stpes"):
        parse_spec("txt2img", {"prompt": "p", "model": "m", "stpes": 3})
    with pytest.raises(ValidationError, match="multiple of 8"):
        parse_spec("txt2img", {"prompt": "p", "model": "m", "width": 33})
    with pytest.raises(ValidationError, match="model_c"):
        parse_spec("merge", {"mode": "add_difference", "model_a": "a", "model_b": "b", "output_name": "o"})


def test_sagemaker_hyperparameters_decode_back_to_a_spec():
    hp = {
        "base_model": "org/repo:sub",
        "steps": "10",
        "output_name": "x",
        "sample_prompts": '["a", "b"]',
        "default_caption": "42",
        "sagemaker_region": '"us-east-1"',
    }
    spec = parse_spec("train", from_sagemaker_hyperparameters("train", hp))
    assert spec.steps == 10 and spec.sample_prompts == ["a", "b"] and spec.default_caption == "42"
    whole = {"spec": json.dumps({"base_model": "m", "steps": 2, "output_name": "y"})}
    assert parse_spec("train", from_sagemaker_hyperparameters("train", whole)).output_name == "y"


def test_progress_lines_parse_and_are_throttled():
    out = io.StringIO()
    progress.set_stream(out)
    try:
        now = [0.0]
        bar = progress.Progress(3, min_interval_s=1.0, clock=lambda: now[0])
        now[0] = 0.1
        bar.advance(message="a")  # first: emitted
        now[0] = 0.2
        bar.advance(message="b")  # within the interval: dropped
        now[0] = 0.3
        bar.advance(message="c")  # last: always emitted
        progress.output("images/x.png", "images", "x.png", seed=1)
        progress.done()
    finally:
        progress.set_stream(None)
    events = [parse_line(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["progress", "progress", "output", "done"]
    assert events[0]["step"] == 1 and events[1]["step"] == 3 and events[1]["eta_s"] == 0
    assert set(events[0]) == {"event", "step", "total", "eta_s", "message"}
    assert parse_line("Traceback (most recent call last):") is None
    assert parse_line('{"not": "an event"}') is None


def test_infotext_round_trips_through_webui_format():
    spec = parse_spec(
        "txt2img",
        {
            "prompt": 'castle, "night"\nsecond line',
            "negative_prompt": "ugly: bad",
            "model": "Stable-diffusion/m.ckpt",
            "seed": 7,
            "cfg_scale": 7.5,
            "steps": 30,
            "width": 640,
            "height": 384,
            "scheduler": "euler_a",
            "loras": [{"name": "Lora/style.safetensors", "weight": 0.8}],
            "clip_skip": 2,
        },
    )
    text = infotext_for(spec, 7)
    assert text.splitlines()[-1].startswith(
        "Steps: 30, Sampler: Euler a, CFG scale: 7.5, Seed: 7, Size: 640x384, Model: m"
    )
    fields = spec_fields(text)
    assert fields["prompt"] == spec.prompt
    assert fields["loras"] == [{"name": "style", "weight": 0.8}]
    assert fields["negative_prompt"] == "ugly: bad"
    assert fields["clip_skip"] == 2 and fields["cfg_scale"] == 7.5
    quoted = build_infotext("p", "", {"Steps": 1, "Sampler": "Euler", "Model": "a, b: c"})
    assert parse_infotext(quoted)["params"]["Model"] == "a, b: c"


def test_layout_reads_spec_json_and_falls_back_to_hyperparameters(tmp_path):
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({"base_model": "m", "steps": "3", "output_name": "o"}))
    layout = Layout.resolve(tmp_path)
    assert layout.output_dir == tmp_path / "model"  # SageMaker training uploads /opt/ml/model
    assert layout.load_spec("train")["steps"] == "3"
    (config / "spec.json").write_text(json.dumps({"x": 1}))
    layout = Layout.resolve(tmp_path)
    assert layout.output_dir == tmp_path / "output" and layout.load_spec("train") == {"x": 1}
