"""Every tensor sdaws writes equals what diffusers' own from_single_file produces
from the same file with the same config folder, and export gives the file back."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.torch, pytest.mark.slow]

ARCHS = ["sd1", "sd1-inpaint", "sd2-768", "sd2-512", "sd2-inpaint", "sdxl", "sdxl-refiner"]


def _pipeline_class(arch: str):
    import diffusers

    if arch == "sdxl-refiner":
        return diffusers.StableDiffusionXLImg2ImgPipeline
    if arch.startswith("sdxl"):
        return diffusers.StableDiffusionXLPipeline
    if "inpaint" in arch:
        return diffusers.StableDiffusionInpaintPipeline
    return diffusers.StableDiffusionPipeline


def _written_keys(folder):
    from safetensors import safe_open

    keys = set()
    for path in folder.glob("*.safetensors"):
        with safe_open(str(path), "pt") as f:
            keys |= set(f.keys())
    return keys


@pytest.mark.parametrize("arch", ARCHS)
def test_every_tensor_equals_diffusers_from_single_file(arch, checkpoint_file, converted):
    import torch

    src, out = checkpoint_file(arch), converted(arch)
    cls = _pipeline_class(arch)
    reference = cls.from_single_file(str(src), config=str(out), local_files_only=True)
    ours = cls.from_pretrained(str(out), local_files_only=True)
    compared = 0
    for component in ("unet", "vae", "text_encoder", "text_encoder_2"):
        ref_model = getattr(reference, component, None)
        if ref_model is None:
            continue
        want, got = ref_model.state_dict(), getattr(ours, component).state_dict()
        assert set(got) == set(want), f"{component}: keys differ: {sorted(set(got) ^ set(want))[:5]}"
        # No weight we wrote may be ignored by the model the config describes.
        written = _written_keys(out / component)
        unused = {
            k
            for k in written
            if k not in want and "text_model." + k not in want and k.removeprefix("text_model.") not in want
        }
        assert not unused, f"{component}: weights the config leaves unused: {sorted(unused)[:5]}"
        for key, value in want.items():
            assert got[key].shape == value.shape, f"{component}.{key}"
            assert torch.equal(got[key], value), f"{component}.{key} differs from diffusers"
            compared += 1
    assert compared > 500
    # The same scheduler numbers diffusers derives: the betas trap of old-style arguments.
    assert torch.equal(ours.scheduler.betas, reference.scheduler.betas)
    if arch == "sdxl-refiner":
        assert ours.text_encoder is None and ours.text_encoder_2 is not None
    assert ours.scheduler.config.prediction_type == {"sd2-768": "v_prediction"}.get(arch, "epsilon")


@pytest.mark.parametrize("arch", ARCHS)
def test_export_of_convert_gives_the_original_tensors_back(arch, checkpoint_file, converted, tmp_path):
    import torch
    from safetensors.torch import load_file

    from sdaws_jobs.convert import export_pipeline

    back = tmp_path / "back.safetensors"
    summary = export_pipeline(converted(arch), back)
    original, exported = load_file(str(checkpoint_file(arch))), load_file(str(back))
    assert set(exported) == set(original)
    for key, value in original.items():
        assert exported[key].dtype == value.dtype and exported[key].shape == value.shape, key
        assert torch.equal(exported[key], value), key
    assert summary["tensors_written"] == len(original)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_inputs_equal_diffusers(dtype, tmp_path, layouts_available):
    import diffusers
    import torch
    from safetensors.torch import save_file

    from sdaws_jobs.convert import convert_checkpoint
    from tests.support.checkpoint_layouts import sd1

    src = tmp_path / "model.safetensors"
    save_file(sd1(seed=7, dtype=getattr(torch, dtype)), str(src))
    out = tmp_path / "out"
    convert_checkpoint(src, out)
    reference = diffusers.StableDiffusionPipeline.from_single_file(str(src), config=str(out), local_files_only=True)
    ours = diffusers.StableDiffusionPipeline.from_pretrained(str(out), local_files_only=True)
    for component in ("unet", "vae", "text_encoder"):
        want, got = getattr(reference, component).state_dict(), getattr(ours, component).state_dict()
        assert set(want) == set(got)
        assert all(torch.equal(got[k], want[k]) for k in want), component


@pytest.mark.parametrize("arch", ["sd2-768", "sdxl"])
def test_export_of_a_folder_written_by_diffusers(arch, checkpoint_file, converted, tmp_path):
    """Export does not depend on sdaws having written the folder: a pipeline diffusers
    converted and saved itself exports to the original tensors (less the few it drops)."""
    import torch
    from safetensors.torch import load_file

    from sdaws_jobs.convert import export_pipeline

    src = checkpoint_file(arch)
    pipe = _pipeline_class(arch).from_single_file(str(src), config=str(converted(arch)), local_files_only=True)
    saved = tmp_path / "saved"
    pipe.save_pretrained(str(saved))
    back = tmp_path / "back.safetensors"
    export_pipeline(saved, back)
    original, exported = load_file(str(src)), load_file(str(back))
    assert set(exported) <= set(original)
    for key, value in exported.items():
        assert torch.equal(value, original[key]), key
    dropped = set(original) - set(exported)
    # Only what diffusers' own pipeline does not keep: schedule buffers, ids, unused text parts.
    allowed = (
        "alphas_cumprod",
        "alphas_cumprod_prev",
        "betas",
        "log_one_minus_alphas_cumprod",
        "posterior_log_variance_clipped",
        "posterior_mean_coef1",
        "posterior_mean_coef2",
        "posterior_variance",
        "sqrt_alphas_cumprod",
        "sqrt_one_minus_alphas_cumprod",
        "sqrt_recip_alphas_cumprod",
        "sqrt_recipm1_alphas_cumprod",
    )
    for key in dropped:
        assert (
            key in allowed
            or key.endswith(("position_ids", "logit_scale"))
            or ".resblocks.23." in key
            or key == "cond_stage_model.model.text_projection"
        ), key
