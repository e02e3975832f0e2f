"""The serving container converts a single-file checkpoint once and keeps the conversion
across requests: switching to another model and back loads the cached folder.
`python -m sdaws_jobs.serve` as a process over real HTTP; reuse is read from its log
lines and its cache folder."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from tests.support.job_server import tiny_checkpoint
from tests.support.serve_process import serve_process

pytestmark = [pytest.mark.torch, pytest.mark.slow]

PARAMS = {"prompt": "a lighthouse", "steps": 1, "width": 32, "height": 32, "seed": 3}


def _generate(url: str, model: str) -> None:
    body = json.dumps({"kind": "txt2img", "params": {**PARAMS, "model": model}}).encode()
    request = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        assert response.status == 200


@pytest.fixture
def serving(tmp_path):
    """(url, log file, cache root) of a serve process over a tree with two single files."""
    tree = tmp_path / "tree"
    (tree / "Stable-diffusion").mkdir(parents=True)
    tiny_checkpoint(tree / "Stable-diffusion" / "alpha.safetensors", seed=1)
    tiny_checkpoint(tree / "Stable-diffusion" / "beta.safetensors", seed=2)
    log, cache = tmp_path / "serve.log", tmp_path / "converted"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SDAWS_MODEL_CACHE": str(cache)}
    with open(log, "wb") as out, serve_process(tree, env, out, log.read_text) as url:
        yield url, log, cache


def test_a_model_switched_away_from_and_back_is_not_converted_again(serving):
    url, log, cache = serving
    _generate(url, "alpha.safetensors")
    _generate(url, "beta.safetensors")  # the server drops alpha's pipeline ...
    _generate(url, "alpha.safetensors")  # ... and loads it again from the cache
    lines = log.read_text().splitlines()
    said = [line for line in lines if "safetensors: " in line]
    assert [("alpha" in s, "converted once" in s, "reusing its cached conversion" in s) for s in said] == [
        (True, True, False),
        (False, True, False),
        (True, False, True),
    ], said
    assert len(list((cache / "entries").iterdir())) == 2
