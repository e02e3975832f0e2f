"""Names no WebUI platform can hold are refused with the reason, never a 500 or a file.

The tree is synced to Linux, macOS and Windows machines running the WebUI, so a new
model's name must fit in 255 bytes (not characters), avoid Windows device names (CON,
NUL, COM1 … with any extension) and characters Windows forbids, and not end in a
space or dot. Names that exist already stay reachable; only new ones are held to it.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from sdaws.contract.errors import InvalidInput
from sdaws.contract.model_tree import check_name, normalize_upload_name
from tests.support.api_world import AUTH
from tests.support.hostile_inputs import hostile_names


@pytest.mark.parametrize("name", hostile_names(), ids=lambda n: repr(n)[:40])
def test_a_hostile_upload_name_is_400_with_the_reason(api_server, name):
    r = requests.post(f"{api_server.url}/uploads", json={"type": "Lora", "filename": name, "size": 10}, headers=AUTH)
    assert r.status_code in (400, 422), r.text
    assert r.json()["message"]
    assert list((api_server.server.services.models.store.root).rglob("*")) == []


@pytest.mark.parametrize(
    "name,reason",
    [
        ("漢" * 100 + ".safetensors", "bytes in UTF-8"),
        ("CON .safetensors", "device name on Windows"),
        ("nul.ckpt", "device name on Windows"),
        ("COM1.tar.safetensors", "device name on Windows"),
        ("ques?.safetensors", "Windows does not allow"),
    ],
)
def test_the_reason_is_named(name, reason):
    with pytest.raises(InvalidInput, match=reason):
        normalize_upload_name(name)


def test_names_every_platform_holds_are_fine():
    for name in ("漢" * 70 + ".safetensors", "console.safetensors", "CONFIG.ckpt", "com10.ckpt", "a b (v1.5).ckpt"):
        assert normalize_upload_name(name) == name


def test_an_existing_file_with_such_a_name_can_still_be_looked_at_and_deleted(api_server):
    lora = api_server.server.services.models.store.root / "Lora"
    lora.mkdir(parents=True)
    (lora / "CON.safetensors").write_bytes(b"x")
    assert check_name("CON.safetensors")
    info = requests.get(f"{api_server.url}/models/Lora/CON.safetensors", headers=AUTH)
    assert info.status_code == 200
    too_long = quote("漢" * 90 + ".ckpt")  # 275 bytes: cannot exist here; asking is a 4xx, not a 500
    assert requests.get(f"{api_server.url}/models/Lora/{too_long}", headers=AUTH).status_code in (404, 422)
    assert requests.delete(f"{api_server.url}/models/Lora/CON.safetensors", headers=AUTH).status_code == 200


@pytest.mark.parametrize("output_name", ["CON", "nul", "name.", "漢" * 80])
def test_job_output_names_are_held_to_the_same_rule(output_name):
    from pydantic import ValidationError

    from sdaws.contract.specs import parse_spec

    with pytest.raises(ValidationError):
        parse_spec("merge", {"model_a": "a.safetensors", "model_b": "b.safetensors", "output_name": output_name})
