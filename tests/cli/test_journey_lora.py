"""Journey: train a LoRA, then use it — as a WebUI prompt tag `<lora:name:w>` and with
`sdaws generate --lora NAME:W` — and the image differs from the one made without it."""

from __future__ import annotations

import hashlib
import json

import pytest
from PIL import Image

from tests.support.job_server import TOKEN
from tests.support.tiny_cli import TINY_IMAGE, TINY_TRAIN, captioned_dataset
from tests.support.tui_env import Server, run_sdaws

pytestmark = [pytest.mark.torch, pytest.mark.slow]
JOB_TIMEOUT = 900  # a deadline for a hung job, not a timing assertion


@pytest.fixture
def api(job_server, user_env) -> Server:
    handle, models = job_server
    return Server(handle.url, TOKEN, models, models.parent / "data", handle)


def pixels(path) -> str:
    with Image.open(path) as image:
        return hashlib.sha256(image.convert("RGB").tobytes()).hexdigest()


def generate(api, out, prompt: str, *extra: str) -> dict:
    result = run_sdaws(
        api,
        "generate",
        prompt,
        *TINY_IMAGE,
        "--seed",
        "5",
        *extra,
        "--wait",
        "--out",
        str(out),
        "--json",
        timeout=JOB_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_trained_lora_changes_the_image_by_tag_and_by_flag(api, tmp_path):
    dataset = captioned_dataset(tmp_path / "dataset", ("red", "yellow"))
    trained = run_sdaws(
        api,
        "train",
        str(dataset),
        *TINY_TRAIN,
        "--output",
        "my-lora",
        "--steps",
        "4",
        "--rank",
        "4",
        "--learning-rate",
        "0.05",
        "--seed",
        "1",
        "--wait",
        "--json",
        timeout=JOB_TIMEOUT,
    )
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["in_tree"] == ["Lora/my-lora.safetensors"]

    plain = generate(api, tmp_path / "plain", "a red square")
    tagged = generate(api, tmp_path / "tagged", "a red square <lora:my-lora:4>")
    flagged = generate(api, tmp_path / "flagged", "a red square", "--lora", "my-lora:4")
    assert tagged["job"]["params"]["prompt"].endswith("<lora:my-lora:4>")
    assert flagged["job"]["params"]["loras"] == [{"name": "my-lora.safetensors", "weight": 4.0}]
    (plain_png,), (tagged_png,), (flagged_png,) = plain["saved"], tagged["saved"], flagged["saved"]
    assert pixels(tagged_png) != pixels(plain_png)
    assert pixels(tagged_png) == pixels(flagged_png)  # the same LoRA at the same weight, either way
    with Image.open(flagged_png) as image:
        assert "<lora:my-lora:4>" in image.info["parameters"]  # the infotext names it, as the WebUI does


def test_a_tag_naming_no_lora_is_refused_before_the_job_runs(api):
    result = run_sdaws(api, "generate", "a cat <lora:nowhere:0.8>", "--model", "tiny-sd")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "PROMPT: Lora/nowhere.safetensors is not in the model tree" in result.stderr
