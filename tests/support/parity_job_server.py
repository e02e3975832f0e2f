"""A local server that runs real CPU jobs over tiny WebUI-parity models, for the TUI and CLI
journeys of ControlNet, hires fix and upscale: diffusers/tiny8 (SD's 8x latent factor, as
ControlNet's hint encoder needs), ControlNet/control_tiny.safetensors in the WebUI
extension's single-file layout and ESRGAN/4x-tiny.pth in xinntao's RRDBNet layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.env import need, torch_available

TOKEN = "parity-jobs-token-0123456789abcdef"
MODEL = "diffusers/tiny8"
CONTROLNET = "ControlNet/control_tiny.safetensors"
ESRGAN = "ESRGAN/4x-tiny.pth"


def build_parity_models(root: Path, cache: Path) -> Path:
    need(torch_available(), "torch and diffusers run the jobs")
    if not (cache / "done").exists():
        from tests.support import parity_models as pm
        from tests.support.tiny_models import build_pipeline

        pipe = build_pipeline(vae_levels=4)
        pipe.save_pretrained(str(cache / MODEL), safe_serialization=True)
        (cache / "ControlNet").mkdir(parents=True)
        pm.webui_controlnet_file(pm.random_controlnet(pipe.unet), cache / CONTROLNET)
        (cache / "ESRGAN").mkdir()
        pm.save_pth(pm.esrgan_4x_state(), cache / ESRGAN)
        (cache / "done").write_text("")
    shutil.copytree(cache, root, ignore=shutil.ignore_patterns("done"))
    (root / "Stable-diffusion").mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="module")
def parity_job_server(tmp_path_factory):
    """(Server, models dir): the server as tests.support.tui_env.Server, for Pilot and run_sdaws."""
    from sam_app.local_server.server import serve_in_thread
    from tests.support.tui_env import Server

    root = tmp_path_factory.mktemp("parity-jobs")
    models = build_parity_models(root / "models", tmp_path_factory.getbasetemp() / "parity-models-cache")
    handle = serve_in_thread(models, root / "data", TOKEN)
    yield Server(handle.url, TOKEN, models, root / "data", handle)
    handle.stop()
