"""What an import source may be, the name its result gets, and no credential in a record."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sdaws.contract.errors import InvalidInput, describe_validation_error
from sdaws.contract.hash_spec import HashSpec
from sdaws.contract.import_spec import ImportSpec, parse_source, redact_url, result_name


def test_sources():
    assert parse_source("https://civitai.com/api/download/models/1").kind == "https"
    hub = parse_source("stabilityai/sdxl-vae:sdxl_vae.safetensors")
    assert (hub.kind, hub.repo_id, hub.path, hub.is_file) == (
        "hub",
        "stabilityai/sdxl-vae",
        "sdxl_vae.safetensors",
        True,
    )
    folder = parse_source("org/pipe:unet_and_all")
    assert folder.is_file is False and folder.suggested_name == "unet_and_all"
    assert parse_source("http://127.0.0.1:8000/x.safetensors").kind == "https"


@pytest.mark.parametrize(
    "source,needle",
    [
        ("http://example.com/x.safetensors", "only allowed to this machine"),
        ("ftp://example.com/x", "not an https"),
        ("https://user:pw@example.com/x", "user name or password"),
        ("https://civitai.com/api/download/models/1?token=SECRET123", "token="),
        ("not a source", "neither"),
        ("org/../x", "neither"),
        ("", "empty"),
    ],
)
def test_bad_sources_say_what_a_source_is(source, needle):
    with pytest.raises(InvalidInput, match=needle):
        parse_source(source)


def test_a_token_in_the_url_is_refused_without_echoing_it():
    with pytest.raises(ValidationError) as err:
        ImportSpec(source="https://civitai.com/api/download/models/1?token=SECRET123", type="Lora")
    assert "SECRET123" not in describe_validation_error(err.value, "spec")


def test_redacted_urls_hide_signatures():
    shown = redact_url("https://bucket.s3.amazonaws.com/x?X-Amz-Signature=abc&X-Amz-Credential=AKIA&part=1")
    assert "abc" not in shown and "AKIA" not in shown and "part=1" in shown


@pytest.mark.parametrize(
    "spec,needle",
    [
        ({"source": "https://h.io/x.safetensors", "type": "diffusers"}, "model folder"),
        ({"source": "org/pipe", "type": "Stable-diffusion"}, "use type diffusers"),
        ({"source": "org/pipe", "type": "diffusers", "expected_sha256": "a" * 64}, "single file"),
        ({"source": "https://h.io/x", "type": "Lora", "revision": "main"}, "Hugging Face"),
        ({"source": "https://h.io/x", "type": "Lora", "expected_sha256": "xyz"}, "64 hexadecimal"),
        ({"source": "https://h.io/x", "type": "Checkpoints"}, "unknown model type"),
        ({"source": "https://h.io/x", "type": "Lora", "name": "../x.safetensors"}, "separator"),
        ({"source": "https://h.io/x", "type": "Lora", "token": "t"}, "Extra inputs"),
    ],
)
def test_bad_specs(spec, needle):
    with pytest.raises(ValidationError) as err:
        ImportSpec.model_validate(spec)
    assert needle in describe_validation_error(err.value, "spec")


def test_result_names_follow_the_tree_rules():
    spec = ImportSpec(source="https://civitai.com/api/download/models/1", type="lora")
    assert spec.type == "Lora"
    assert result_name(spec, "sks_cat.safetensors") == "sks_cat.safetensors"
    assert result_name(spec, "civitai_download") == "civitai_download.ckpt"
    with pytest.raises(InvalidInput, match="not supported"):
        result_name(spec, "cat.pt")
    named = ImportSpec(source="org/pipe", type="diffusers", name="pipe15")
    assert result_name(named, None) == "pipe15"
    assert result_name(ImportSpec(source="org/pipe", type="DIFFUSERS"), "pipe") == "pipe"


@pytest.mark.parametrize("key", ["Lora/x.safetensors", "Stable-diffusion/a b.ckpt"])
def test_hash_specs_name_one_model(key):
    assert HashSpec(key=key).key == key


@pytest.mark.parametrize("key", ["../x", "Lora/", "Lora/a/b.safetensors", "Nope/x.safetensors", "diffusers/x"])
def test_hash_specs_refuse_other_keys(key):
    with pytest.raises(ValidationError):
        HashSpec(key=key)
