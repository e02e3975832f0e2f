"""WebUI sidecars: names, what is a sidecar, NAME.json round trips, civitai.info."""

from __future__ import annotations

import json

import pytest

from sdaws.contract.errors import Conflict, InvalidInput
from sdaws.contract.sidecars import (
    apply_user_metadata_edit,
    encode_user_metadata,
    is_sidecar,
    owner_stem,
    parse_civitai_info,
    parse_user_metadata,
    preview_candidates,
    preview_extension,
    preview_name,
    sidecar_names,
    sidecars_of,
)
from tests.support.catalog_files import JPEG_HEAD, PNG_1X1, civitai_version_info, write_webui_user_metadata

SHA = "ab" * 32


def test_a_webui_folder_splits_into_models_and_sidecars():
    folder = [
        "sks_cat.safetensors",
        "sks_cat.preview.png",
        "sks_cat.json",
        "sks_cat.civitai.info",
        "sks_cat.txt",
        "old.ckpt",
        "old.png",
        "old.yaml",
        "v1.5-pruned.safetensors",
        "v1.5-pruned.description.txt",
        "orphan.preview.webp",
    ]
    models = [n for n in folder if not is_sidecar(n)]
    assert models == ["sks_cat.safetensors", "old.ckpt", "v1.5-pruned.safetensors"]
    assert {owner_stem(n) for n in folder if is_sidecar(n)} == {"sks_cat", "old", "v1.5-pruned", "orphan"}
    assert sidecars_of("sks_cat.safetensors", set(folder)) == {
        "preview": "sks_cat.preview.png",
        "user_metadata": "sks_cat.json",
        "civitai_info": "sks_cat.civitai.info",
        "description": "sks_cat.txt",
    }
    assert sidecars_of("old.ckpt", set(folder))["preview"] == "old.png"
    assert sidecars_of("v1.5-pruned.safetensors", set(folder))["description"] == "v1.5-pruned.description.txt"


def test_stems_cut_the_last_extension_like_splitext():
    assert preview_name("x.vae.pt") == "x.vae.preview.png"
    assert owner_stem("x.vae.preview.png") == "x.vae"
    assert owner_stem("model.safetensors") is None


def test_preview_lookup_order_prefers_what_both_programs_write():
    names = preview_candidates("a.safetensors")
    assert names[:2] == ["a.preview.png", "a.png"]
    assert {"a.preview.jpg", "a.jpg", "a.preview.jpeg", "a.webp", "a.preview.gif"} <= set(names)
    assert set(names) <= set(sidecar_names("a.safetensors"))


def test_preview_type_comes_from_the_bytes():
    assert preview_extension(PNG_1X1) == "png"
    assert preview_extension(JPEG_HEAD) == "jpg"
    assert preview_extension(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    with pytest.raises(InvalidInput, match="PNG, JPEG"):
        preview_extension(b"<html>")
    assert preview_name("a.ckpt", "jpeg") == "a.preview.jpg"


def test_user_metadata_written_by_the_webui_reads_and_round_trips(tmp_path):
    model = tmp_path / "Lora" / "sks_cat.safetensors"
    model.parent.mkdir()
    model.write_bytes(b"x")
    # What the WebUI's Lora edit dialog saves (save_lora_user_metadata) plus a key we do not know.
    written = write_webui_user_metadata(
        model,
        {
            "description": "ginger cat",
            "sd version": "SD1",
            "activation text": "sks cat, orange fur",
            "preferred weight": 0.8,
            "negative text": "",
            "notes": "trained on 8 photos — ünïcode",
            "modelId": 827184,
        },
    )
    meta = parse_user_metadata(written.read_bytes())
    assert meta.as_dict() == {
        "description": "ginger cat",
        "activation_text": "sks cat, orange fur",
        "preferred_weight": 0.8,
        "negative_text": "",
        "notes": "trained on 8 photos — ünïcode",
        "sd_version": "SD1",
    }
    updated = apply_user_metadata_edit(meta.raw, {"notes": "retrained", "preferred_weight": 0.6})
    data = encode_user_metadata(updated)
    assert json.loads(data) == {
        "description": "ginger cat",
        "sd version": "SD1",
        "activation text": "sks cat, orange fur",
        "preferred weight": 0.6,
        "negative text": "",
        "notes": "retrained",
        "modelId": 827184,
    }
    # Byte for byte what the WebUI itself would write for that object.
    written.write_text("")
    with open(written, "w", encoding="utf8") as file:
        json.dump(updated, file, indent=4, ensure_ascii=False)
    assert written.read_bytes() == data


def test_an_empty_or_missing_file_is_empty_metadata():
    assert parse_user_metadata(b"").as_dict()["description"] == ""
    assert apply_user_metadata_edit({}, {"activation_text": "sks"}) == {"activation text": "sks"}


@pytest.mark.parametrize("bad", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_broken_user_metadata_is_never_overwritten(bad):
    with pytest.raises(Conflict, match="fix"):
        parse_user_metadata(bad)


@pytest.mark.parametrize(
    "edit,needle",
    [
        ({"preferred_weight": "heavy"}, "preferred_weight"),
        ({"preferred_weight": 99}, "preferred_weight"),
        ({"sd_version": "SD9"}, "sd_version"),
        ({"notes": 5}, "text"),
        ({"shorthash": "x"}, "cannot edit"),
    ],
)
def test_bad_edits_say_what_to_fix(edit, needle):
    with pytest.raises(InvalidInput, match=needle):
        apply_user_metadata_edit({}, edit)


def test_civitai_info_as_civitai_helper_saves_it():
    info = parse_civitai_info(json.dumps(civitai_version_info(SHA), indent=4).encode())
    assert info.as_dict() == {
        "model_name": "Sks Cat",
        "version_name": "v1.0",
        "trained_words": ["sks cat"],
        "base_model": "SD 1.5",
        "model_type": "LORA",
        "model_id": 827184,
        "version_id": 2514310,
        "sha256": SHA,
    }
    assert parse_civitai_info(b"<html>rate limited</html>") is None
    assert parse_civitai_info(b'{"model": 5, "trainedWords": "x"}').trained_words == []
