"""GET /model-types says which job reads each folder, and why LDSR/ and hypernetworks/ are not read."""

from __future__ import annotations

import requests

from tests.support.api_world import AUTH


def test_model_types_name_the_jobs_and_the_reasons(api_server):
    body = requests.get(f"{api_server.url}/model-types", headers=AUTH).json()
    types = {t["name"]: t for t in body["types"]}
    assert types["ESRGAN"]["used_by"][0].startswith("upscale: upscaler_1") and ".pth" in types["ESRGAN"]["extensions"]
    assert "names used in prompt" in types["embeddings"]["used_by"][0] and ".pt" in types["embeddings"]["extensions"]
    assert types["LDSR"]["used_by"] == [] and "not supported" in types["LDSR"]["unsupported"]
    assert "legacy" in types["hypernetworks"]["unsupported"] and types["Stable-diffusion"]["unsupported"] is None
