"""Infotext of the WebUI-parity fields: written with the WebUI's keys, read back into the same spec fields."""

from __future__ import annotations

from sdaws.contract.specs import Img2ImgSpec, Txt2ImgSpec
from sdaws_jobs.pngmeta import infotext_for, parse_infotext, postprocessing_infotext, spec_fields


def _infotext(spec, hashes=None) -> str:
    return infotext_for(spec, 42, extra={"embeddings": hashes or {}})  # what the job learnt while loading


def test_txt2img_hires_refiner_controlnet_and_embeddings_round_trip():
    spec = Txt2ImgSpec(
        prompt="a castle, myemb",
        model="Stable-diffusion/base.safetensors",
        enable_hr=True,
        hr_scale=1.5,
        hr_upscaler="ESRGAN/4x-UltraSharp.pth",
        hr_second_pass_steps=12,
        denoising_strength=0.45,
        refiner_checkpoint="Stable-diffusion/sdxl_refiner.safetensors",
        refiner_switch_at=0.7,
        controlnet=[
            {"model": "ControlNet/control_canny.safetensors", "image": "e.png", "module": "canny", "weight": 0.8},
            {"model": "ControlNet/depth", "image": "d.png", "guidance_start": 0.1, "guidance_end": 0.6},
        ],
        embeddings=["myemb.pt"],
    )
    text = _infotext(spec, {"myemb": "0123456789ab"})
    params = parse_infotext(text)["params"]
    assert params["Hires upscale"] == "1.5" and params["Hires upscaler"] == "4x-UltraSharp"
    assert params["Hires steps"] == "12" and params["Denoising strength"] == "0.45"
    assert params["Refiner"] == "sdxl_refiner" and params["Refiner switch at"] == "0.7"
    assert params["ControlNet 0"] == (
        "Module: canny, Model: control_canny, Weight: 0.8, Resize Mode: Crop and Resize, "
        "Threshold A: 100, Threshold B: 200, Guidance Start: 0, Guidance End: 1"
    )
    assert params["TI hashes"] == "myemb: 0123456789ab"
    fields = spec_fields(text)
    assert fields["enable_hr"] is True and fields["hr_scale"] == 1.5 and fields["hr_second_pass_steps"] == 12
    assert fields["refiner_checkpoint"] == "sdxl_refiner" and fields["refiner_switch_at"] == 0.7
    assert [u["model"] for u in fields["controlnet"]] == ["control_canny", "depth"]
    assert fields["controlnet"][1]["guidance_end"] == 0.6 and fields["embeddings"] == ["myemb"]


def test_plain_txt2img_writes_no_hires_or_denoising_keys():
    params = parse_infotext(_infotext(Txt2ImgSpec(prompt="p", model="m.safetensors")))["params"]
    assert not {"Denoising strength", "Hires upscale", "Refiner", "ControlNet 0", "TI hashes"} & set(params)


def test_inpainting_keys_as_the_webui_writes_them():
    spec = Img2ImgSpec(
        prompt="p",
        model="m.safetensors",
        init_image="i.png",
        mask="mask.png",
        mask_blur=6,
        inpaint_full_res=True,
        inpaint_full_res_padding=48,
        inpainting_mask_invert=1,
        inpainting_fill=0,
    )
    text = _infotext(spec)
    params = parse_infotext(text)["params"]
    assert params["Mask blur"] == "6" and params["Inpaint area"] == "Only masked"
    assert params["Masked area padding"] == "48" and params["Mask mode"] == "Inpaint not masked"
    assert params["Masked content"] == "fill"
    fields = spec_fields(text)
    assert (fields["mask_blur"], fields["inpaint_full_res"], fields["inpaint_full_res_padding"]) == (6, True, 48)
    assert (fields["inpainting_mask_invert"], fields["inpainting_fill"]) == (1, 0)


def test_extras_postprocessing_text():
    info = {"Postprocess upscale by": 4.0, "Postprocess upscaler": "4x-UltraSharp", "GFPGAN visibility": 0.5}
    assert postprocessing_infotext(info) == (
        "Postprocess upscale by: 4, Postprocess upscaler: 4x-UltraSharp, GFPGAN visibility: 0.5"
    )
