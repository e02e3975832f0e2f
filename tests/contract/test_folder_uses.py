"""Which job uses which tree folder: one table in the contract, the same in the README and the API."""

from __future__ import annotations

import pytest

from sdaws.contract.errors import InvalidInput
from sdaws.contract.model_tree import (
    FOLDER_USES,
    MODEL_TYPES,
    UNSUPPORTED_FOLDERS,
    check_name,
    extensions_for,
    normalize_upload_name,
)
from tests.support.env import REPO_ROOT


def test_every_folder_is_either_used_or_refused_with_a_reason():
    assert set(FOLDER_USES) | set(UNSUPPORTED_FOLDERS) == set(MODEL_TYPES)
    assert not set(FOLDER_USES) & set(UNSUPPORTED_FOLDERS)
    assert {"LDSR", "hypernetworks"} <= set(UNSUPPORTED_FOLDERS)


def test_the_readme_table_is_the_contracts():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for folder in MODEL_TYPES:
        uses = "; ".join(FOLDER_USES.get(folder, ())) or f"not used: {UNSUPPORTED_FOLDERS[folder]}"
        assert f"| `{folder}/` | {' '.join(extensions_for(folder))} | {uses} |" in readme, folder


@pytest.mark.parametrize(
    "folder,name",
    [("ESRGAN", "4x-UltraSharp.pth"), ("embeddings", "easynegative.pt"), ("VAE-approx", "taesd_decoder.pth")],
)
def test_folders_take_the_formats_the_webui_reads_there(folder, name):
    assert check_name(name, folder) == name and normalize_upload_name(name, folder) == name


def test_checkpoint_folders_still_refuse_pickled_extensions_and_say_where():
    with pytest.raises(InvalidInput, match="not supported"):
        normalize_upload_name("model.pt")
    with pytest.raises(InvalidInput, match=r"in embeddings/"):
        normalize_upload_name("x.ckpt", "embeddings")


def test_a_job_output_key_is_a_valid_image_reference_in_both_worlds():
    from pydantic import ValidationError

    from sdaws.contract.specs import parse_spec

    for key in ("job-outputs/0a1b/images/00000-7.png", "jobs/0a1b/output/images/00000-7.png"):
        assert parse_spec("upscale", {"image": key, "upscaler_1": "Lanczos"}).image == key
    for bad in ("job-outputs/../images/x.png", "jobs/0a1b/elsewhere/images/x.png", "a/b/c/d"):
        with pytest.raises(ValidationError):
            parse_spec("upscale", {"image": bad, "upscaler_1": "Lanczos"})
