"""The first-run demo checkpoint is a real model: it converts and generates on a CPU."""

from __future__ import annotations

import pytest

from tests.support.env import need, torch_available
from tests.support.jobrun import make_workdir, run_job

pytestmark = [pytest.mark.torch]


def test_demo_checkpoint_is_detected_and_generates(tmp_path):
    need(torch_available(), "torch/diffusers not installed")
    from sdaws.client.demo import DEMO_NAME, write_demo
    from sdaws_jobs.convert import detect

    path = tmp_path / DEMO_NAME
    assert write_demo(path) is True
    found = detect(path)
    assert found.arch == "sd1" and found.prediction_type == "epsilon"

    spec = {"prompt": "a red fox", "model": DEMO_NAME, "steps": 2, "width": 64, "height": 64, "seed": 3}
    result = run_job("txt2img", make_workdir(tmp_path / "job", spec, {"model": [path]}))
    assert result.code == 0, result.stderr[-2000:]
    [image] = result.outputs("images")
    from PIL import Image

    assert Image.open(tmp_path / "job" / "output" / image["file"]).size == (64, 64)
