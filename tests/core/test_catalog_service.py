"""The catalog service over fakes of its ports: search, hashes, sidecars, previews."""

from __future__ import annotations

import hashlib
import json

import pytest

from sam_app.core.catalog_service import CatalogService
from sam_app.core.jobs_ports import JobRecord
from sam_app.core.model_index import INDEX_KEY
from sam_app.core.tree_groups import folder_groups
from sdaws.contract.errors import Conflict, InvalidInput, NotFound
from tests.support.catalog_fakes import InstantHasher, MemoryCatalog, MemoryTree
from tests.support.catalog_files import (
    JPEG_HEAD,
    PNG_1X1,
    civitai_version_info,
    embedding_tensors,
    kohya_lora_tensors,
    kohya_metadata,
    write_safetensors,
)


def _st(tmp_path, name, tensors, metadata=None) -> bytes:
    return write_safetensors(tmp_path / name, tensors, metadata).read_bytes()


@pytest.fixture
def world(tmp_path):
    tree, catalog = MemoryTree(), MemoryCatalog()
    hasher = InstantHasher(tree, catalog)
    jobs: dict[str, JobRecord] = {}

    class Jobs:
        def get(self, job_id):
            return jobs.get(job_id)

    service = CatalogService(tree, catalog, catalog, tree, hasher, Jobs())
    sd1 = _st(tmp_path, "a", kohya_lora_tensors("sd1"), kohya_metadata("sd_v1"))
    xl = _st(
        tmp_path,
        "b",
        kohya_lora_tensors("sdxl"),
        kohya_metadata("sdxl_base_v1-0", tags={"d": {"pixel art": 9}}, output_name="pixel"),
    )
    tree.put("Lora/sks_cat.safetensors", sd1)
    tree.put("Lora/sks_cat.preview.png", PNG_1X1)
    tree.put(
        "Lora/sks_cat.json",
        json.dumps(
            {"description": "ginger", "activation text": "sks cat, ginger", "preferred weight": 0.8}, indent=4
        ).encode(),
    )
    tree.put("Lora/pixel.safetensors", xl)
    tree.put(
        "Lora/pixel.civitai.info",
        json.dumps(civitai_version_info("0" * 64, "Pixel Art XL", ("pixelart",), "SDXL 1.0")).encode(),
    )
    tree.put("Lora/copy of sks_cat.safetensors", sd1)
    tree.put("embeddings/bad_hands.safetensors", _st(tmp_path, "e", embedding_tensors("SD1")))
    tree.put("embeddings/bad_hands.txt", b"negative embedding")
    tree.put("Stable-diffusion/old.ckpt", b"not a zip")
    tree.put("Stable-diffusion/old.yaml", b"model: {}")
    return tree, catalog, hasher, service, jobs


def _names(page):
    return [f"{i['type']}/{i['name']}" for i in page["items"]]


def test_sidecars_are_never_listed_as_models(world):
    _, _, _, service, _ = world
    assert sorted(_names(service.search())) == [
        "Lora/copy of sks_cat.safetensors",
        "Lora/pixel.safetensors",
        "Lora/sks_cat.safetensors",
        "Stable-diffusion/old.ckpt",
        "embeddings/bad_hands.safetensors",
    ]


def test_search_by_name_tag_family_and_hash(world):
    tree, _, _, service, _ = world
    assert _names(service.search(q="SKS cat")) == ["Lora/copy of sks_cat.safetensors", "Lora/sks_cat.safetensors"]
    assert _names(service.search(q="pixel art xl")) == ["Lora/pixel.safetensors"]  # the Civitai title counts
    assert _names(service.search(tag="ginger")) == ["Lora/sks_cat.safetensors"]  # activation text
    assert _names(service.search(tag="pixelart")) == ["Lora/pixel.safetensors"]  # Civitai trained words
    assert _names(service.search(tag="orange fur")) == ["Lora/copy of sks_cat.safetensors", "Lora/sks_cat.safetensors"]
    assert _names(service.search(family="SDXL")) == ["Lora/pixel.safetensors"]
    assert _names(service.search(family="SD1")) == [
        "Lora/copy of sks_cat.safetensors",
        "Lora/sks_cat.safetensors",
        "embeddings/bad_hands.safetensors",
    ]
    sha = hashlib.sha256(tree.files["Lora/pixel.safetensors"][0]).hexdigest()
    assert _names(service.search(hash=sha[:10].upper())) == ["Lora/pixel.safetensors"]
    assert _names(service.search(family="SD1", model_type="embeddings")) == ["embeddings/bad_hands.safetensors"]


def test_search_pages_like_listing_and_never_repeats(world):
    tree, _, _, service, _ = world
    for i in range(30):
        tree.put(f"Lora/extra_{i:02}.safetensors", b"x")
        tree.put(f"Lora/extra_{i:02}.preview.png", PNG_1X1)
    seen, cursor = [], None
    while True:
        page = service.search(limit=7, cursor=cursor)
        seen += _names(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 35
    with pytest.raises(InvalidInput, match="cursor"):
        service.search(model_type="VAE", cursor=service.search(limit=1)["next_cursor"])


def test_facts_are_indexed_once_and_rebuilt_when_a_sidecar_changes(world):
    tree, catalog, _, service, _ = world
    service.search(tag="ginger")
    tree.reads.clear()
    assert _names(service.search(tag="ginger")) == ["Lora/sks_cat.safetensors"]
    assert tree.reads == []  # answered from the catalog entries
    tree.put("Lora/sks_cat.json", json.dumps({"activation text": "tabby"}).encode())
    assert _names(service.search(tag="tabby")) == ["Lora/sks_cat.safetensors"]
    assert catalog.get("Lora/sks_cat.safetensors")[INDEX_KEY]["tags"][0] == "tabby"


def test_beyond_the_inspect_budget_models_are_reported_unindexed(world):
    tree, catalog, hasher, _, _ = world
    tight = CatalogService(tree, catalog, catalog, tree, hasher, inspect_budget=1)
    first = tight.search(family="SD1")
    assert first["unindexed"] == 4 and len(first["items"]) <= 1
    for _ in range(5):
        page = tight.search(family="SD1")
    assert page["unindexed"] == 0 and len(page["items"]) == 3


def test_hashing_state_is_reported_not_waited_for(world):
    _, _, hasher, service, _ = world
    hasher.pending.add("Lora/pixel.safetensors")
    item = service.details("Lora", "pixel.safetensors")
    assert item["hash"] == {"status": "hashing", "hashed_bytes": 0}
    hasher.pending.clear()
    item = service.details("Lora", "pixel.safetensors")
    assert item["hash"]["status"] == "done" and item["hash"]["autov2"] == item["hash"]["sha256"][:10]


def test_find_by_hash_and_duplicates(world):
    tree, _, _, service, _ = world
    service.search()  # the hasher has seen every model
    sha = hashlib.sha256(tree.files["Lora/sks_cat.safetensors"][0]).hexdigest()
    assert _names(service.find_by_hash(sha)) == ["Lora/copy of sks_cat.safetensors", "Lora/sks_cat.safetensors"]
    assert _names(service.find_by_hash(sha[:10])) == _names(service.find_by_hash(sha))
    [group] = service.duplicates()["groups"]
    assert group["models"] == ["Lora/copy of sks_cat.safetensors", "Lora/sks_cat.safetensors"]
    assert group["autov2"] == sha[:10] and group["wasted_bytes"] == group["size"]
    tree.delete("Lora/copy of sks_cat.safetensors")  # gone from the tree: no longer a duplicate
    assert service.duplicates()["groups"] == []


def test_details_show_facts_sidecars_and_fit(world):
    _, _, _, service, _ = world
    cat = service.details("Lora", "sks_cat.safetensors")
    assert cat["kind"] == "lora" and cat["family"] == "SD1" and cat["family_source"] == "shapes"
    assert cat["kohya"]["network_dim"] == 16 and cat["kohya"]["trigger_tags"][0] == ["sks cat", 40]
    assert cat["user_metadata"]["activation_text"] == "sks cat, ginger"
    assert cat["preview"] == "Lora/sks_cat.preview.png"
    assert cat["sidecars"] == ["Lora/sks_cat.json", "Lora/sks_cat.preview.png"]
    pixel = service.details("Lora", "pixel.safetensors")
    assert pixel["civitai"]["model_name"] == "Pixel Art XL" and pixel["tags"][0] == "pixelart"
    emb = service.details("embeddings", "bad_hands.safetensors")
    assert emb["description"] == "negative embedding" and emb["family"] == "SD1"
    old = service.details("Stable-diffusion", "old.ckpt")
    assert old["kind"] == "checkpoint" and old["family"] is None
    with pytest.raises(InvalidInput, match="must end in"):
        service.details("Lora", "sks_cat.json")


def test_edits_round_trip_into_the_webui_keys(world):
    tree, _, _, service, _ = world
    result = service.edit_user_metadata(
        "Lora", "sks_cat.safetensors", {"notes": "v2 is better", "preferred_weight": 0.6}
    )
    assert result["notes"] == "v2 is better" and result["description"] == "ginger"
    assert json.loads(tree.files["Lora/sks_cat.json"][0]) == {
        "description": "ginger",
        "activation text": "sks cat, ginger",
        "preferred weight": 0.6,
        "notes": "v2 is better",
    }
    service.edit_user_metadata("Lora", "pixel.safetensors", {"activation_text": "pixelart"})
    assert json.loads(tree.files["Lora/pixel.json"][0]) == {"activation text": "pixelart"}
    tree.put("Lora/pixel.json", b"{broken")
    with pytest.raises(Conflict, match="not valid JSON"):
        service.edit_user_metadata("Lora", "pixel.safetensors", {"notes": "x"})
    assert tree.files["Lora/pixel.json"][0] == b"{broken"


def test_a_concurrent_edit_is_refused_not_lost(world):
    tree, _, _, service, _ = world
    real_read = tree.read

    def read_then_someone_else_writes(key, max_bytes):
        found = real_read(key, max_bytes)
        tree.put(key, b'{"notes": "written in the WebUI meanwhile"}')
        return found

    tree.read = read_then_someone_else_writes
    with pytest.raises(Conflict, match="changed"):
        service.edit_user_metadata("Lora", "sks_cat.safetensors", {"notes": "mine"})
    assert b"WebUI meanwhile" in tree.files["Lora/sks_cat.json"][0]


def test_set_preview_from_upload_and_from_a_job_output(world):
    tree, _, _, service, jobs = world
    assert service.set_preview("Lora", "sks_cat.safetensors", JPEG_HEAD + b"rest") == {
        "preview": "Lora/sks_cat.preview.jpg",
        "size": len(JPEG_HEAD) + 4,
    }
    assert "Lora/sks_cat.preview.png" not in tree.files  # the new preview is the one shown
    assert service.details("Lora", "sks_cat.safetensors")["preview"] == "Lora/sks_cat.preview.jpg"
    with pytest.raises(InvalidInput, match="PNG, JPEG"):
        service.set_preview("Lora", "sks_cat.safetensors", b"GIF0 not really")

    tree.put("job-outputs/j1/images/00000-42.png", PNG_1X1)
    jobs["j1"] = JobRecord(
        "j1", "txt2img", "", "SUCCEEDED", {}, {}, [], "t", "t",
        outputs=[{"type": "images", "name": "00000-42.png", "key": "job-outputs/j1/images/00000-42.png", "size": 67}],
    )  # fmt: skip
    done = service.set_preview_from_job("Lora", "pixel.safetensors", "j1", "00000-42.png")
    assert done["preview"] == "Lora/pixel.preview.png" and tree.files["Lora/pixel.preview.png"][0] == PNG_1X1
    with pytest.raises(NotFound, match="00000-42.png"):
        service.set_preview_from_job("Lora", "pixel.safetensors", "j1", "nope.png")


def test_sidecars_move_and_delete_with_their_model(world):
    tree, _, _, service, _ = world
    tree.put("Lora/sks_cat.v2.safetensors", b"another model in the same name range")
    tree.put("Lora/sks_cat.v2.json", b"{}")
    assert service.sidecar_keys("Lora", "sks_cat.safetensors") == ["Lora/sks_cat.json", "Lora/sks_cat.preview.png"]
    moved = service.move_sidecars("Lora", "sks_cat.safetensors", "Lora", "ginger.safetensors")
    assert moved == ["Lora/ginger.json", "Lora/ginger.preview.png"]
    assert "Lora/sks_cat.v2.json" in tree.files  # another model's sidecar stays
    assert service.delete_sidecars("Lora", "pixel.safetensors") == ["Lora/pixel.civitai.info"]


def test_groups_nest_and_resume_exactly(world):
    tree, _, _, _, _ = world
    for name in [
        "x.json",
        "x.safetensors",
        "x.txt",
        "x.v2.json",
        "x.v2.safetensors",
        "x.zz.preview.png",
        "y.safetensors",
    ]:
        tree.put(f"VAE/{name}", b"1")
    got = [(g.name, sorted(g.sidecars), r) for g, r in folder_groups(tree, "VAE", page=2)]
    assert got == [
        ("x.v2.safetensors", ["x.v2.json"], None),
        ("x.safetensors", ["x.json", "x.txt"], "VAE/x.zz.preview.png"),
        ("y.safetensors", [], "VAE/y.safetensors"),
    ]
    assert [g.name for g, _ in folder_groups(tree, "VAE", "VAE/x.zz.preview.png")] == ["y.safetensors"]
