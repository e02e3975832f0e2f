"""Local job files: keys map inside their roots only, and links are never results."""

from __future__ import annotations

import pytest

from sam_app.adapters.local.job_files import KeyPaths
from sam_app.adapters.local.job_results import collect_results


@pytest.mark.parametrize(
    "key", ["../x", "/etc/passwd", "Stable-diffusion/../../x", "a//b", "job-inputs/./g/x", "", "Lora\\..\\x"]
)
def test_keys_that_could_leave_their_root_are_refused(tmp_path, key):
    with pytest.raises(ValueError):
        KeyPaths(tmp_path / "models", tmp_path / "data").path(key)


def test_keys_map_to_data_or_models(tmp_path):
    paths = KeyPaths(tmp_path / "models", tmp_path / "data")
    assert paths.path("job-inputs/g/x.png") == (tmp_path / "data" / "job-inputs" / "g" / "x.png").resolve()
    assert paths.path("job-outputs/j/images/0.png").is_relative_to((tmp_path / "data").resolve())
    assert (
        paths.path("Stable-diffusion/a.safetensors")
        == (tmp_path / "models" / "Stable-diffusion" / "a.safetensors").resolve()
    )


def test_links_in_a_jobs_output_are_skipped(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    out = tmp_path / "job" / "output"
    (out / "images").mkdir(parents=True)
    (out / "images" / "0.png").write_bytes(b"png")
    (out / "images" / "leak.png").symlink_to(secret)
    (out / "Stable-diffusion").mkdir()
    (out / "Stable-diffusion" / "x.safetensors").symlink_to(secret)
    (out / "samples").symlink_to(tmp_path, target_is_directory=True)
    notes = []
    outputs = collect_results(out, "j1", KeyPaths(tmp_path / "models", tmp_path / "data"), notes.append)
    assert [o["key"] for o in outputs] == ["job-outputs/j1/images/0.png"]
    assert not (tmp_path / "models" / "Stable-diffusion" / "x.safetensors").exists()
    assert len(notes) == 2 and all("is a link" in n for n in notes)
