"""The catalog on the local adapters: a WebUI models folder, the background hasher, SQLite."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from sam_app.adapters.local.catalog_index import SqliteCatalogIndex
from sam_app.adapters.local.hasher import BackgroundHasher
from sam_app.adapters.local.job_files import KeyPaths
from sam_app.adapters.local.sidecar_files import LocalSidecarFiles
from sam_app.adapters.local.sqlite_db import SqliteDb, SqliteModelCatalog
from sam_app.adapters.local.tree_store import LocalTreeStore
from sam_app.core.catalog_service import CatalogService
from sdaws.contract.errors import Conflict
from tests.support.catalog_files import PNG_1X1, write_webui_lora

MiB = 1024 * 1024


@pytest.fixture
def local(tmp_path):
    models, data = tmp_path / "models", tmp_path / "data"
    (models / "Stable-diffusion").mkdir(parents=True)
    tree = LocalTreeStore(models)
    db = SqliteDb(data / "sdaws.sqlite3")
    catalog = SqliteModelCatalog(db)
    hasher = BackgroundHasher(tree, catalog)
    files = LocalSidecarFiles(KeyPaths(models, data).path)
    service = CatalogService(tree, catalog, SqliteCatalogIndex(db), files, hasher)
    yield models, tree, catalog, hasher, files, service
    hasher.close()


def test_hashes_are_computed_once_in_the_background_and_cached_by_size_and_mtime(local):
    models, tree, catalog, hasher, _, _ = local
    path = models / "Stable-diffusion" / "big.safetensors"
    path.write_bytes(os.urandom(9 * MiB + 3))
    obj = tree.head("Stable-diffusion/big.safetensors")
    assert hasher.state(obj)["status"] == "hashing"  # answered at once, never waited for
    hasher.drain()
    done = hasher.state(obj)
    assert done == {"status": "done", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "verified": True}
    for _ in range(3):
        hasher.state(tree.head("Stable-diffusion/big.safetensors"))
    hasher.drain()
    assert hasher.hashed == 1  # computed once

    # Same size, new bytes and mtime: the cached hash no longer applies.
    path.write_bytes(os.urandom(9 * MiB + 3))
    os.utime(path, ns=(int(obj.modified.timestamp() * 1e9) + 5 * 10**9,) * 2)
    changed = tree.head("Stable-diffusion/big.safetensors")
    assert hasher.state(changed)["status"] == "hashing"
    hasher.drain()
    assert hasher.state(changed)["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert hasher.hashed == 2
    assert catalog.get("Stable-diffusion/big.safetensors")["modified"] == changed.modified.isoformat()


def test_an_uploads_verified_hash_is_adopted_not_recomputed(local):
    models, tree, catalog, hasher, _, _ = local
    path = models / "Stable-diffusion" / "up.safetensors"
    path.write_bytes(b"uploaded bytes")
    sha = hashlib.sha256(b"uploaded bytes").hexdigest()
    catalog.put("Stable-diffusion/up.safetensors", {"sha256": sha, "size": 14, "sha256_verified": True})
    assert hasher.state(tree.head("Stable-diffusion/up.safetensors"))["sha256"] == sha
    hasher.drain()
    assert hasher.hashed == 0


def _webui_tree(models, tmp_path):
    lora = models / "Lora" / "sks_cat.safetensors"
    notes = {"description": "ginger", "activation text": "sks cat", "notes": "", "sd version": "SD1"}
    write_webui_lora(lora, "sd1", kohya_base="sd_v1", notes=notes)
    pixel = {"name": "Pixel", "words": ("pixelart",), "base_model": "SDXL 1.0"}
    sha = write_webui_lora(models / "Lora" / "pixel.safetensors", "sdxl", civitai=pixel, preview_suffix=".png")
    (models / "Lora" / "copy.safetensors").write_bytes(lora.read_bytes())
    return sha


def test_a_webui_folder_lists_the_same_models_with_previews_and_notes(local, tmp_path):
    models, _, _, hasher, _, service = local
    _webui_tree(models, tmp_path)
    page = service.search(model_type="Lora")
    assert sorted(i["name"] for i in page["items"]) == ["copy.safetensors", "pixel.safetensors", "sks_cat.safetensors"]
    by_name = {i["name"]: i for i in page["items"]}
    assert by_name["sks_cat.safetensors"]["preview"] == "Lora/sks_cat.preview.png"
    assert by_name["pixel.safetensors"]["preview"] == "Lora/pixel.png"
    assert by_name["pixel.safetensors"]["family"] == "SDXL" and by_name["pixel.safetensors"]["tags"] == ["pixelart"]
    details = service.details("Lora", "sks_cat.safetensors")
    assert details["user_metadata"]["description"] == "ginger" and details["kohya"]["network_dim"] == 16
    hasher.drain()
    [dup] = service.duplicates()["groups"]
    assert dup["models"] == ["Lora/copy.safetensors", "Lora/sks_cat.safetensors"]


def test_edits_and_previews_land_where_the_webui_reads_them(local, tmp_path):
    models, _, _, _, files, service = local
    _webui_tree(models, tmp_path)
    service.edit_user_metadata(
        "Lora", "sks_cat.safetensors", {"activation_text": "sks cat, ginger", "preferred_weight": 0.7}
    )
    saved = json.loads((models / "Lora" / "sks_cat.json").read_text(encoding="utf8"))
    assert saved == {
        "description": "ginger",
        "activation text": "sks cat, ginger",
        "notes": "",
        "sd version": "SD1",
        "preferred weight": 0.7,
    }
    assert service.search(tag="ginger")["items"][0]["name"] == "sks_cat.safetensors"
    service.set_preview("Lora", "pixel.safetensors", PNG_1X1)
    assert (models / "Lora" / "pixel.preview.png").read_bytes() == PNG_1X1
    assert not [p.name for p in (models / "Lora").iterdir() if p.name.startswith(".")]  # no temp files left

    current = files.read("Lora/sks_cat.json", 10_000)
    (models / "Lora" / "sks_cat.json").write_text('{"notes": "saved in the WebUI"}')
    with pytest.raises(Conflict, match="changed"):
        files.replace("Lora/sks_cat.json", b"{}", "application/json", current.version)
    with pytest.raises(Conflict):
        files.replace("Lora/new.json", b"{}", "application/json", "stale")
    files.replace("Lora/new.json", b"{}", "application/json", None)


def test_sqlite_index_reads_in_bulk(local):
    _, _, catalog, _, _, _ = local
    db_index = SqliteCatalogIndex(catalog.db)
    for i in range(1200):
        catalog.put(f"Lora/m{i:04}.safetensors", {"size": i})
    got = db_index.get_many([f"Lora/m{i:04}.safetensors" for i in range(0, 1200, 2)] + ["Lora/absent.safetensors"])
    assert len(got) == 600 and got["Lora/m0002.safetensors"] == {"size": 2}
    catalog.put("Lora/h.safetensors", {"sha256": "AB" + "0" * 62})
    assert [k for k, _ in db_index.hashed("ab")] == ["Lora/h.safetensors"] and len(list(db_index.hashed())) == 1
