"""What the CLI prints from untrusted sources is made safe, and edge cases read as one line.

Model metadata is written by whoever made the file: an `ESC]0;…` in `ss_output_name` must
reach the terminal as the visible text `\\x1b]0;…`, never as the escape that retitles it.
"""

from __future__ import annotations

import json

from sdaws.client.demo import demo_bytes
from tests.support.safetensors_files import SD1_HEADER, write_safetensors
from tests.support.tui_env import run_sdaws

HOSTILE = "\x1b]0;pwned\x07evil\x1b[2J"


def test_models_info_shows_escapes_instead_of_running_them(server):
    write_safetensors(
        server.models / "Lora/hostile.safetensors",
        {"lora_unet_x.lora_down.weight": ("F16", [4, 8])},
        metadata={"ss_output_name": HOSTILE, "note": "[bold red]not markup[/]"},
    )
    shown = run_sdaws(server, "models", "info", "Lora/hostile.safetensors")
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b]0;pwned\\x07evil\\x1b[2J" in shown.stdout
    assert "[bold red]not markup[/]" in shown.stdout
    as_json = json.loads(run_sdaws(server, "models", "info", "Lora/hostile.safetensors", "--json").stdout)
    assert as_json["safetensors"]["metadata"]["ss_output_name"] == HOSTILE  # JSON carries it exactly, escaped


def test_models_info_shows_architecture_and_conversions(server):
    write_safetensors(server.models / "Stable-diffusion/sd1.safetensors", SD1_HEADER)
    shown = run_sdaws(server, "models", "info", "Stable-diffusion/sd1.safetensors")
    assert shown.returncode == 0, shown.stderr
    assert "Architecture  sd1 · epsilon · 512px" in shown.stdout
    assert "Conversions   none yet" in shown.stdout


def test_upload_takes_any_case_for_the_type_and_offers_overwrite(server, tmp_path):
    src = tmp_path / "style.safetensors"
    src.write_bytes(demo_bytes())
    first = run_sdaws(server, "upload", str(src), "--type", "lora")
    assert first.returncode == 0, first.stderr
    assert (server.models / "Lora/style.safetensors").is_file()
    again = run_sdaws(server, "upload", str(src), "--type", "LORA")
    assert again.returncode == 1 and "Traceback" not in again.stderr
    assert "already exists" in again.stderr and "--overwrite" in again.stderr and "overwrite=true" not in again.stderr
    replaced = run_sdaws(server, "upload", str(src), "--type", "Lora", "--overwrite")
    assert replaced.returncode == 0, replaced.stderr


def test_generate_refuses_a_text_file_as_init_image_before_sending(server, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    result = run_sdaws(server, "generate", "x", "--model", "m.safetensors", "--init-image", str(notes))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--init-image notes.txt is not an image" in result.stderr
    assert server.client().list_jobs()["jobs"] == []  # nothing was submitted


def test_converted_models_from_the_cli(server):
    folder = server.models / "diffusers/my-conv"
    folder.mkdir(parents=True)
    (folder / "model_index.json").write_text("{}")
    (folder / "unet").mkdir()
    (folder / "unet/diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 1000)
    (folder / "sdaws_conversion.json").write_text(
        json.dumps(
            {
                "arch": "sd1",
                "prediction_type": "epsilon",
                "image_size": 512,
                "upcast_attention": False,
                "reasons": ["from the test"],
                "defaults_taken": [],
                "source": "base.safetensors",
            }
        )
    )
    listed = run_sdaws(server, "models", "ls", "diffusers")
    assert listed.returncode == 0, listed.stderr
    assert "diffusers" in listed.stdout and "my-conv" in listed.stdout
    info = run_sdaws(server, "models", "info", "diffusers/my-conv")
    assert "Source        Stable-diffusion/base.safetensors" in info.stdout
    assert "Architecture  sd1 · epsilon · 512px" in info.stdout
    gone = run_sdaws(server, "models", "rm", "diffusers/my-conv", "--yes")
    assert gone.returncode == 0, gone.stderr
    assert not folder.exists()


def test_a_generated_token_never_starts_with_a_dash():
    from sam_app.adapters.local.token import new_token

    tokens = [new_token() for _ in range(3000)]  # ~1 in 64 would start with '-' if nothing prevented it
    assert not any(t.startswith("-") for t in tokens) and all(len(t) == 43 for t in tokens)
