"""Model-tree naming rules: what users were told, and no way out of the tree."""

from __future__ import annotations

import pytest

from sdaws.contract.errors import InvalidInput
from sdaws.contract.model_tree import MODEL_TYPES, canonical_type, check_name, model_key, normalize_upload_name


def test_fifteen_folders_with_stable_diffusion_required():
    assert len(MODEL_TYPES) == 15 and "Stable-diffusion" in MODEL_TYPES


@pytest.mark.parametrize(
    "given,expected", [("lora", "Lora"), ("STABLE-DIFFUSION", "Stable-diffusion"), ("VAE-approx", "VAE-approx")]
)
def test_type_is_case_insensitive(given, expected):
    assert canonical_type(given) == expected


def test_unknown_type_lists_valid_ones():
    with pytest.raises(InvalidInput, match="use one of: CLIP"):
        canonical_type("Checkpoints")


@pytest.mark.parametrize(
    "filename,stored",
    [
        ("model.safetensors", "model.safetensors"),
        ("model.CKPT", "model.CKPT"),
        ("civitai_download", "civitai_download.ckpt"),
        ("realistic_v1.5", "realistic_v1.5.ckpt"),
    ],
)
def test_upload_names(filename, stored):
    assert normalize_upload_name(filename) == stored


@pytest.mark.parametrize(
    "bad,needle",
    [
        ("", "empty"),
        ("  ", "empty"),
        ("/etc/passwd.ckpt", "absolute"),
        ("C:model.ckpt", "absolute"),
        ("../up.ckpt", "separator"),
        ("..", "'..'"),
        ("a..b.ckpt", "'..'"),
        ("sub/model.ckpt", "separator"),
        ("sub\\model.ckpt", "separator"),
        (".hidden.ckpt", "hidden"),
        ("model.pt", "not supported"),
        ("model.bin", "not supported"),
        ("bad\x00name.ckpt", "control"),
        ("x" * 300 + ".ckpt", "at most"),
    ],
)
def test_bad_names_say_what_to_fix(bad, needle):
    with pytest.raises(InvalidInput, match=needle):
        normalize_upload_name(bad)


def test_model_key_validates_both_parts():
    assert model_key("lora", "a.safetensors") == "Lora/a.safetensors"
    with pytest.raises(InvalidInput):
        check_name("a.txt")
