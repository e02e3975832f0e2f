"""The preview decoders: the WebUI's cheap approximation coefficients and TAESD's published keys."""

from __future__ import annotations

import pytest

from tests.support.env import need, torch_available

pytestmark = pytest.mark.torch


def test_cheap_approximation_is_the_webui_linear_map():
    need(torch_available(), "torch is needed")
    import torch

    from sdaws_jobs.previews import cheap_approximation

    latents = torch.zeros(1, 4, 2, 2)
    latents[0, 3] = 1.0  # only the fourth latent channel
    rgb = cheap_approximation(latents, sdxl=False)
    assert torch.allclose(rgb[0, :, 0, 0], torch.tensor([-0.184, -0.271, -0.473]))
    latents[0, 3], latents[0, 0] = 0.0, 1.0
    assert torch.allclose(cheap_approximation(latents, sdxl=True)[0, :, 1, 1], torch.tensor([0.3448, 0.4168, 0.4395]))


def test_taesd_decoder_loads_the_published_keys_strictly_and_refuses_others(tmp_path):
    need(torch_available(), "torch is needed")
    import torch

    from sdaws_jobs.errors import SpecError
    from sdaws_jobs.previews import load_taesd
    from tests.support.parity_models import taesd_decoder_state

    torch.save(taesd_decoder_state(), str(tmp_path / "taesd_decoder.pth"))
    decoder = load_taesd(tmp_path / "taesd_decoder.pth")
    assert decoder(torch.zeros(1, 4, 3, 5)).shape == (1, 3, 24, 40)  # 8x, like the VAE
    state = taesd_decoder_state()
    del state["19.bias"]
    torch.save(state, str(tmp_path / "broken.pth"))
    with pytest.raises(SpecError, match="not a TAESD decoder"):
        load_taesd(tmp_path / "broken.pth")
