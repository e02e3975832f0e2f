"""Model info on hostile safetensors files: 200 with a warning, never a 500.

The files are the generated corpus (tests/support/hostile_inputs.py), put where users
put checkpoints (Stable-diffusion/, where architecture detection also reads the
shapes) and LoRAs, and asked about through the real server.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import requests

from tests.support.api_world import AUTH
from tests.support.hostile_inputs import hostile_safetensors, many_items_header


def _file_name(case: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in case) + ".safetensors"


def test_every_hostile_header_gives_200_with_a_warning(api_server):
    root = api_server.server.services.models.store.root
    corpus = hostile_safetensors()
    for folder in ("Stable-diffusion", "Lora"):
        (root / folder).mkdir(parents=True)
        for case, data in corpus.items():
            (root / folder / _file_name(case)).write_bytes(data)
    answers = {}
    with requests.Session() as session:
        for folder in ("Stable-diffusion", "Lora"):
            for case in corpus:
                r = session.get(f"{api_server.url}/models/{folder}/{quote(_file_name(case))}", headers=AUTH)
                answers[(folder, case)] = r
        listing = session.get(f"{api_server.url}/models", params={"limit": 1000}, headers=AUTH)
    failed = {key: (r.status_code, r.text[:200]) for key, r in answers.items() if r.status_code != 200}
    assert failed == {}
    for (_folder, case), r in answers.items():
        info = r.json()
        assert info["safetensors"] is not None or "not a readable safetensors file" in info["warnings"][0], case
    assert listing.status_code == 200 and len(listing.json()["items"]) == 2 * len(corpus)


def test_concurrent_requests_for_a_huge_header_are_answered_with_a_warning(api_server):
    lora = api_server.server.services.models.store.root / "Lora"
    lora.mkdir(parents=True)
    (lora / "many.safetensors").write_bytes(many_items_header())
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: requests.get(f"{api_server.url}/models/Lora/many.safetensors", headers=AUTH, timeout=120),
                range(4),
            )
        )
    assert [r.status_code for r in answers] == [200] * 4
    assert all("lists over" in r.json()["warnings"][0] for r in answers)
