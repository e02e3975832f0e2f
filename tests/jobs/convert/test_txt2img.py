"""A converted tiny model loads with from_pretrained and generates an image."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.mark.parametrize("arch", ["sd1", "sd2-768", "sdxl"])
def test_converted_model_runs_txt2img(arch, converted):
    import diffusers
    import numpy as np
    import torch

    cls = diffusers.StableDiffusionXLPipeline if arch == "sdxl" else diffusers.StableDiffusionPipeline
    pipe = cls.from_pretrained(str(converted(arch)), local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    image = pipe(
        "a red fox in the snow",
        num_inference_steps=2,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    ).images[0]
    assert image.shape == (64, 64, 3)
    assert np.isfinite(image).all()
