"""The embedded server over a real folder: browse, inspect, delete, errors."""

from __future__ import annotations

import requests

from tests.support.api_world import AUTH
from tests.support.safetensors_files import SD1_HEADER, write_safetensors


def test_ping_reports_version_and_local_mode(api_server):
    body = requests.get(f"{api_server.url}/ping", headers=AUTH).json()
    assert body["mode"] == "local" and body["version"]


def test_model_types(api_server):
    body = requests.get(f"{api_server.url}/model-types", headers=AUTH).json()
    assert len(body["types"]) == 15
    assert [t["name"] for t in body["types"] if t["required"]] == ["Stable-diffusion"]
    assert body["extensions"] == [".safetensors", ".ckpt"] and body["default_extension"] == ".ckpt"


def test_missing_stable_diffusion_is_a_warning(api_server):
    page = requests.get(f"{api_server.url}/models", headers=AUTH).json()
    assert page["items"] == [] and "Stable-diffusion/" in page["warnings"][0]
    (api_server.server.services.models.store.root / "Stable-diffusion").mkdir()
    assert requests.get(f"{api_server.url}/models", headers=AUTH).json()["warnings"] == []


def test_ten_thousand_models_page_through(api_server):
    lora = api_server.server.services.models.store.root / "Lora"
    lora.mkdir(parents=True)
    names = {f"lora_{i:05d}.safetensors" for i in range(10_000)}
    for name in names:
        (lora / name).touch()
    (lora / "nested").mkdir()  # sub-folders are not models
    seen, cursor, pages = [], None, 0
    while True:
        params = {"type": "Lora", "limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = requests.get(f"{api_server.url}/models", headers=AUTH, params=params).json()
        seen += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 10 and len(seen) == 10_000 and set(seen) == names and seen == sorted(seen)


def test_listing_all_types_and_prefix(api_server):
    root = api_server.server.services.models.store.root
    for key in ("Stable-diffusion/a.safetensors", "Stable-diffusion/b.ckpt", "Lora/a.safetensors", "VAE/a.ckpt"):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(b"x")
    everything, cursor = [], None
    while True:
        page = requests.get(
            f"{api_server.url}/models", headers=AUTH, params={"limit": 1} | ({"cursor": cursor} if cursor else {})
        ).json()
        everything += [f"{i['type']}/{i['name']}" for i in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert everything == [
        "Lora/a.safetensors",
        "Stable-diffusion/a.safetensors",
        "Stable-diffusion/b.ckpt",
        "VAE/a.ckpt",
    ]
    page = requests.get(
        f"{api_server.url}/models", headers=AUTH, params={"type": "stable-diffusion", "prefix": "b"}
    ).json()
    assert [i["name"] for i in page["items"]] == ["b.ckpt"]


def test_info_reads_safetensors_header(api_server):
    root = api_server.server.services.models.store.root
    write_safetensors(
        root / "Lora" / "style.safetensors",
        {"a": ("F16", [4, 8]), "b": ("F16", [8]), "c": ("F32", [2, 2])},
        metadata={"ss_network_dim": "4"},
    )
    info = requests.get(f"{api_server.url}/models/Lora/style.safetensors", headers=AUTH).json()
    assert info["format"] == "safetensors"
    assert info["safetensors"] == {
        "tensor_count": 3,
        "dtypes": {"F16": 2, "F32": 1},
        "parameter_count": 44,
        "metadata": {"ss_network_dim": "4"},
    }


def test_info_of_corrupt_safetensors_warns_instead_of_failing(api_server):
    root = api_server.server.services.models.store.root
    (root / "Lora").mkdir(parents=True)
    (root / "Lora" / "broken.safetensors").write_bytes(b"\xff" * 4)
    response = requests.get(f"{api_server.url}/models/Lora/broken.safetensors", headers=AUTH)
    assert response.status_code == 200 and response.json()["safetensors"] is None
    assert "not a readable safetensors" in response.json()["warnings"][0]


def test_delete(api_server):
    root = api_server.server.services.models.store.root
    (root / "VAE").mkdir(parents=True)
    (root / "VAE" / "v.ckpt").write_bytes(b"x")
    assert requests.delete(f"{api_server.url}/models/VAE/v.ckpt", headers=AUTH).json() == {"deleted": True}
    assert not (root / "VAE" / "v.ckpt").exists()
    assert requests.delete(f"{api_server.url}/models/VAE/v.ckpt", headers=AUTH).status_code == 404


def test_bad_input_says_what_to_fix(api_server):
    cases = [
        ("GET", "/models", {"type": "Checkpoints"}, None, 400, "unknown model type"),
        ("GET", "/models", {"limit": "0"}, None, 422, "limit"),
        ("GET", "/models", {"cursor": "!!!"}, None, 400, "cursor"),
        ("GET", "/models/Lora/..%2Fx.ckpt", None, None, 400, None),
        ("GET", "/models/Lora/missing.safetensors", None, None, 404, "no model"),
        ("GET", "/models/Nope/x.ckpt", None, None, 400, "unknown model type"),
        ("POST", "/uploads", None, {"type": "Lora", "filename": "x.pt", "size": 5}, 400, "not supported"),
        ("POST", "/uploads", None, {"type": "Lora", "filename": "../x.ckpt", "size": 5}, 400, "separator"),
        ("POST", "/uploads", None, {"type": "Lora", "filename": "/abs.ckpt", "size": 5}, 400, "absolute"),
        ("POST", "/uploads", None, {"type": "Lora", "filename": "x.ckpt", "size": 0}, 400, "greater than 0"),
        ("POST", "/uploads", None, {"type": "Lora", "filename": "x.ckpt", "size": 10**15}, 400, "over the limit"),
        ("POST", "/uploads", None, {"type": "Bogus", "filename": "x.ckpt", "size": 5}, 400, "unknown model type"),
        ("POST", "/uploads", None, {"type": "Lora"}, 422, "filename"),
        ("GET", "/uploads/0123456789abcdef0123456789abcdef", None, None, 404, "no upload"),
        ("GET", "/uploads/not-an-id", None, None, 404, "no upload"),
        ("POST", "/uploads/not-an-id/complete", None, None, 404, "no upload"),
        ("GET", "/nowhere", None, None, 404, "no such route"),
    ]
    for method, path, params, body, status, needle in cases:
        response = requests.request(method, api_server.url + path, headers=AUTH, params=params, json=body)
        assert response.status_code == status, (method, path, body, response.text)
        payload = response.json()
        assert payload["error"] and payload["message"], payload
        if needle:
            assert needle in payload["message"], (path, payload)


def test_invalid_json_body_is_422_not_500(api_server):
    response = requests.post(
        f"{api_server.url}/uploads", headers=AUTH | {"Content-Type": "application/json"}, data=b"{not json"
    )
    assert response.status_code in (400, 422) and response.json()["error"]


def test_checkpoints_linked_from_another_disk_are_part_of_the_tree(api_server, tmp_path):
    elsewhere = tmp_path / "other-disk" / "big.safetensors"
    write_safetensors(elsewhere, {"w": ("F16", [8])})
    linked = tmp_path / "models" / "Stable-diffusion" / "big.safetensors"
    linked.parent.mkdir(parents=True, exist_ok=True)
    linked.symlink_to(elsewhere)
    listed = requests.get(f"{api_server.url}/models", params={"type": "Stable-diffusion"}, headers=AUTH).json()
    assert [m["name"] for m in listed["items"]] == ["big.safetensors"]
    info = requests.get(f"{api_server.url}/models/Stable-diffusion/big.safetensors", headers=AUTH)
    assert info.status_code == 200 and info.json()["safetensors"]["parameter_count"] == 8
    assert requests.delete(f"{api_server.url}/models/Stable-diffusion/big.safetensors", headers=AUTH).status_code == 200
    assert elsewhere.exists() and not linked.is_symlink(), "delete removes the link, never the file it points to"


def test_info_reports_architecture_and_conversions(api_server, tmp_path):
    write_safetensors(tmp_path / "models" / "Stable-diffusion" / "base.safetensors", SD1_HEADER)
    info = requests.get(f"{api_server.url}/models/Stable-diffusion/base.safetensors", headers=AUTH).json()
    assert info["architecture"]["arch"] == "sd1" and info["architecture"]["prediction_type"] == "epsilon"
    assert "OpenAI CLIP" in info["architecture"]["reasons"][0]
    assert info["conversions"] == []
    converted = tmp_path / "models" / "diffusers" / "base"
    converted.mkdir(parents=True)
    (converted / "model_index.json").write_text("{}")
    info = requests.get(f"{api_server.url}/models/Stable-diffusion/base.safetensors", headers=AUTH).json()
    assert info["conversions"] == ["base"]


def test_a_lora_in_the_checkpoint_folder_has_no_architecture(api_server, tmp_path):
    write_safetensors(
        tmp_path / "models" / "Stable-diffusion" / "oops.safetensors", {"lora_unet_x.lora_down.weight": ("F16", [4, 8])}
    )
    info = requests.get(f"{api_server.url}/models/Stable-diffusion/oops.safetensors", headers=AUTH)
    assert info.status_code == 200 and info.json()["architecture"] is None
