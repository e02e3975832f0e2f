"""The built API function really runs in the Lambda runtime container (`sam local invoke`)."""

from __future__ import annotations

import json

import pytest

from tests.support.env import REPO_ROOT
from tests.support.sam_local import sam_local_invoke

pytestmark = [pytest.mark.docker, pytest.mark.slow]
EVENTS = REPO_ROOT / "events"


def invoke(sam_build, moto_container, api_world, tmp_path, event_name):
    response = sam_local_invoke(
        sam_build, "ApiFunction", EVENTS / event_name, api_world, moto_container.network, tmp_path
    )
    return response["statusCode"], json.loads(response["body"])


def test_ping_in_the_lambda_runtime(sam_build, moto_container, api_world, tmp_path):
    status, body = invoke(sam_build, moto_container, api_world, tmp_path, "api_ping.json")
    assert status == 200 and body["mode"] == "aws" and body["version"]


def test_list_models_warns_about_missing_stable_diffusion(sam_build, moto_container, api_world, tmp_path):
    status, body = invoke(sam_build, moto_container, api_world, tmp_path, "api_list_models.json")
    assert status == 200 and body["items"] == []
    assert "Stable-diffusion" in " ".join(body["warnings"])


def test_create_upload_returns_presigned_parts_for_moto(sam_build, moto_container, api_world, tmp_path):
    status, body = invoke(sam_build, moto_container, api_world, tmp_path, "api_create_upload.json")
    assert status == 201, body
    assert body["type"] == "Lora" and body["name"] == "style.safetensors" and body["part_count"] == 1
    uploads = moto_container.client("s3").list_multipart_uploads(Bucket="sdaws-models")["Uploads"]
    assert [u["Key"] for u in uploads] == ["Lora/style.safetensors"]
    assert body["parts"][0]["url"].startswith(moto_container.function_endpoint)


def test_wrong_token_is_refused_inside_the_runtime(sam_build, moto_container, api_world, tmp_path):
    event = json.loads((EVENTS / "api_ping.json").read_text())
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers["x-api-key"] = "not-the-token" if headers is event["headers"] else ["not-the-token"]
    path = tmp_path / "ping-wrong-token.json"
    path.write_text(json.dumps(event))
    response = sam_local_invoke(sam_build, "ApiFunction", path, api_world, moto_container.network, tmp_path)
    assert response["statusCode"] == 403


def test_bundle_is_sam_app_and_the_contract_layer_and_no_job_code(sam_build):
    bundle = sam_build / "ApiFunction"
    assert (bundle / "sam_app" / "handlers" / "api.py").is_file()
    for absent in ("sdaws_jobs", "sdaws", "torch", "diffusers", "textual"):
        assert not (bundle / absent).exists(), absent
    layer = sam_build / "ContractLayer" / "python" / "sdaws"
    assert sorted(p.name for p in (layer / "contract").glob("*.py")) == sorted(
        p.name for p in (REPO_ROOT / "sdaws" / "contract").glob("*.py")
    )


def test_model_info_detects_architecture_in_the_runtime(sam_build, moto_container, api_world, tmp_path):
    from tests.support.safetensors_files import SD1_HEADER, write_safetensors

    local = tmp_path / "base.safetensors"
    write_safetensors(local, SD1_HEADER)
    moto_container.client("s3").put_object(
        Bucket="sdaws-models", Key="Stable-diffusion/base.safetensors", Body=local.read_bytes()
    )
    event = json.loads((EVENTS / "api_get_model.json").read_text())
    event["path"] = "/models/Stable-diffusion/base.safetensors"
    event["pathParameters"] = {"model_type": "Stable-diffusion", "name": "base.safetensors"}
    path = tmp_path / "get-model.json"
    path.write_text(json.dumps(event))
    response = sam_local_invoke(sam_build, "ApiFunction", path, api_world, moto_container.network, tmp_path)
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and body["architecture"]["arch"] == "sd1", body
