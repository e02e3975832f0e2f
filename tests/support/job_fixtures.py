from __future__ import annotations

import pytest

from tests.support.env import need, torch_available


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory):
    """A tiny SD1-shaped diffusers folder, built once per session."""
    need(torch_available(), "torch and diffusers are needed to build the tiny model")
    from tests.support.tiny_models import save_pipeline

    return save_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")


@pytest.fixture
def tiny_api(start_server, models_dir, tiny_sd):
    """The real local server running real jobs, with the tiny model as `diffusers/tiny`."""
    import shutil

    from sam_app.adapters.local.job_runner import job_command

    shutil.copytree(tiny_sd, models_dir / "diffusers" / "tiny")
    return start_server(job_command=job_command)[1]
