"""Embeddings from embeddings/ used by name in the prompts, through the local server's API (CPU)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.support.parity import downloads, pixels, run, submit

pytestmark = [pytest.mark.torch, pytest.mark.slow]

WIDTH = 16  # the tiny model's text encoder width
PARAMS = {"prompt": "a photo of myemb", "steps": 2, "seed": 5, "width": 32, "height": 32, "model": "diffusers/tiny"}


@pytest.fixture
def api(tiny_api, models_dir):
    (models_dir / "embeddings").mkdir()
    return tiny_api


def _vectors(seed: int, count: int):
    import torch

    return torch.randn(count, WIDTH, generator=torch.Generator().manual_seed(seed)) * 3


def test_webui_pt_and_safetensors_embeddings_change_the_image_and_are_recorded(api, models_dir):
    from sdaws_jobs.pngmeta import read_png_infotext, spec_fields
    from tests.support.parity_models import emb_params_safetensors, webui_embedding_pt

    folder = models_dir / "embeddings"
    webui_embedding_pt(folder / "myemb.pt", _vectors(1, 2))  # a pickle: read by the safe unpickler
    emb_params_safetensors(folder / "ugly.safetensors", _vectors(2, 1))
    emb_params_safetensors(folder / "unused.safetensors", _vectors(3, 1))
    params = PARAMS | {"negative_prompt": "ugly, blurry"}
    (first,) = downloads(api, run(api, "txt2img", params))
    info = read_png_infotext(io.BytesIO(first))
    ti = dict(pair.split(": ") for pair in _param(info, "TI hashes").split(", "))
    assert set(ti) == {"myemb", "ugly"}  # found by name in the prompts; "unused" is not staged
    assert spec_fields(info)["embeddings"] == ["myemb", "ugly"]

    # Other vectors under the same name: the text encoding changes, so does the image.
    webui_embedding_pt(folder / "myemb.pt", _vectors(9, 2))
    (second,) = downloads(api, run(api, "txt2img", params))
    assert np.abs(pixels(first) - pixels(second)).max() > 0
    # The same files again give the same pixels: the change came from the vectors.
    webui_embedding_pt(folder / "myemb.pt", _vectors(1, 2))
    (third,) = downloads(api, run(api, "txt2img", params))
    assert np.array_equal(pixels(first), pixels(third))


def test_a_code_running_pickle_embedding_is_refused_and_nothing_runs(api, models_dir, tmp_path):
    from tests.support.parity_models import code_running_pt

    marker = tmp_path / "pwned"
    code_running_pt(models_dir / "embeddings" / "evil.pt", marker)
    job = run(api, "txt2img", PARAMS | {"prompt": "a photo of evil"}, status="FAILED")
    assert "refused evil.pt" in job["error"] and "system" in job["error"], job["error"]
    assert not marker.exists()


def test_an_embedding_for_another_model_family_fails_with_the_reason(api, models_dir):
    import torch

    from tests.support.parity_models import emb_params_safetensors

    emb_params_safetensors(models_dir / "embeddings" / "wide.safetensors", torch.zeros(1, 768))
    job = run(api, "txt2img", PARAMS | {"prompt": "wide"}, status="FAILED")
    assert "768-wide vectors" in job["error"] and "takes 16" in job["error"]


def test_a_named_embedding_that_is_missing_is_a_400(api):
    answer = submit(api, "txt2img", PARAMS | {"embeddings": ["nothere.pt"]})
    assert answer.status_code == 400 and "embeddings/nothere.pt is not in the model tree" in answer.json()["message"]


def _param(infotext: str, key: str) -> str:
    from sdaws_jobs.pngmeta import parse_infotext

    return parse_infotext(infotext)["params"][key]
