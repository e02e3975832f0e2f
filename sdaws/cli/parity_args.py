"""The WebUI-parity flags of `sdaws generate` (hires fix, refiner, ControlNet units, inpainting,
live previews), with the WebUI's names in their help, and the params they make."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaws.cli.common import UsageError
from sdaws.client.masks import rectangle_mask
from sdaws.contract.outputs import is_job_output_key
from sdaws.contract.specs import CONTROLNET_MODULES, INPAINTING_FILL, LATENT_UPSCALERS, PIXEL_UPSCALERS

CONTROLNET_FORM = "MODEL:IMAGE[:WEIGHT[:START:END]][:PREPROCESSOR]"


def controlnet_arg(text: str) -> dict:
    """``MODEL:IMAGE[:WEIGHT[:START:END]][:PREPROCESSOR]`` -> a ControlNet unit (IMAGE still a path)."""
    parts = text.split(":")
    unit: dict = {}
    if len(parts) > 2 and parts[-1] in CONTROLNET_MODULES:
        unit["module"] = parts.pop()
    if len(parts) not in (2, 3, 5) or not all(p.strip() for p in parts[:2]):
        raise argparse.ArgumentTypeError(
            f"{text!r}: give {CONTROLNET_FORM}, e.g. control_canny.safetensors:edges.png:0.8:0:0.6:canny"
        )
    unit["model"], unit["image"] = parts[0].strip(), parts[1].strip()
    for name, value in zip(("weight", "guidance_start", "guidance_end"), parts[2:], strict=False):
        try:
            unit[name] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {name} {value!r} is not a number") from None
    return unit


def add_generation_parity_args(parser: argparse.ArgumentParser) -> None:
    hires = parser.add_argument_group("Hires. fix (txt2img: a second pass at a larger size)")
    hires.add_argument("--hires", action="store_true", help="Hires. fix with its defaults (any --hires-* turns it on)")
    hires.add_argument("--hires-scale", type=float, metavar="F", help="Upscale by (default 2)")
    hires.add_argument("--hires-resize", metavar="WxH", help="Resize width/height to (instead of --hires-scale)")
    hires.add_argument("--hires-steps", type=int, metavar="N", help="Hires steps (0: as many as --steps)")
    hires.add_argument("--hires-denoise", type=float, metavar="F", help="Denoising strength of the hires pass")
    upscalers = ", ".join((*LATENT_UPSCALERS, *PIXEL_UPSCALERS))
    hires.add_argument(
        "--hires-upscaler", metavar="NAME", help=f"Upscaler: {upscalers}, or a model in ESRGAN/, SwinIR/ …"
    )
    refiner = parser.add_argument_group("Refiner (SDXL)")
    refiner.add_argument("--refiner", metavar="CKPT", help="Refiner checkpoint from Stable-diffusion/")
    refiner.add_argument("--refiner-switch", type=float, metavar="F", help="Switch at: fraction of the steps (0.8)")
    control = parser.add_argument_group("ControlNet")
    control.add_argument(
        "--controlnet",
        action="append",
        type=controlnet_arg,
        default=[],
        metavar=CONTROLNET_FORM,
        help="a ControlNet unit (repeatable): a model in ControlNet/, a control image (a file here or a job "
        "output key), Control weight, Starting/Ending control step, Preprocessor " + "/".join(CONTROLNET_MODULES),
    )
    inpaint = parser.add_argument_group("Inpaint (img2img)")
    inpaint.add_argument("--mask", type=Path, metavar="FILE", help="mask image, white = repaint (needs --init-image)")
    inpaint.add_argument("--mask-rect", metavar="X,Y,W,H", help="instead of --mask: repaint this rectangle (pixels)")
    inpaint.add_argument("--mask-blur", type=int, metavar="N", help="Mask blur (4)")
    inpaint.add_argument("--inpaint-fill", choices=INPAINTING_FILL, help="Masked content (original)")
    inpaint.add_argument("--mask-invert", action="store_true", help="Mask mode: Inpaint not masked")
    inpaint.add_argument("--inpaint-full-res", action="store_true", help="Inpaint area: Only masked")
    inpaint.add_argument("--inpaint-padding", type=int, metavar="N", help="Only masked padding, pixels (32)")
    parser.add_argument("--preview-every", type=int, metavar="N", help="live preview image every N steps (0: none)")


def generation_parity_values(args: argparse.Namespace, img2img: bool) -> tuple[dict, dict[str, tuple[Path, str]]]:
    """(params, local files as slot -> (path, flag)) from the parity flags."""
    values: dict = {"refiner_checkpoint": args.refiner, "preview_every": args.preview_every}
    files: dict[str, tuple[Path, str]] = {}
    if args.refiner_switch is not None:
        if not args.refiner:
            raise UsageError("--refiner-switch needs --refiner")
        values["refiner_switch_at"] = args.refiner_switch
    hires = {
        "hr_scale": args.hires_scale,
        "hr_second_pass_steps": args.hires_steps,
        "denoising_strength": args.hires_denoise,
        "hr_upscaler": args.hires_upscaler,
    }
    if args.hires_denoise is not None and not 0 <= args.hires_denoise <= 1:
        # Checked here: the spec's field is denoising_strength, which errors would name --strength.
        raise UsageError(f"--hires-denoise {args.hires_denoise}: Denoising strength is between 0 and 1")
    if args.hires_resize:
        width, sep, height = args.hires_resize.lower().partition("x")
        if not (sep and width.isdigit() and height.isdigit()):
            raise UsageError(f"--hires-resize {args.hires_resize!r}: give WIDTHxHEIGHT, e.g. 1024x768")
        hires |= {"hr_resize_x": int(width), "hr_resize_y": int(height)}
    if args.hires or any(v is not None for v in hires.values()):
        if img2img:
            raise UsageError("hires fix (--hires…) is a txt2img option, as in the WebUI; drop --init-image")
        values |= {"enable_hr": True, **hires}
    inpaint = {
        "mask_blur": args.mask_blur,
        "inpainting_fill": INPAINTING_FILL.index(args.inpaint_fill) if args.inpaint_fill else None,
        "inpainting_mask_invert": 1 if args.mask_invert else None,
        "inpaint_full_res": True if args.inpaint_full_res else None,
        "inpaint_full_res_padding": args.inpaint_padding,
    }
    if args.mask_rect:
        if args.mask or not img2img:
            raise UsageError("--mask-rect needs --init-image and replaces --mask")
        try:
            args.mask = rectangle_mask(args.init_image, args.mask_rect)
        except ValueError as exc:
            raise UsageError(f"--mask-rect: {exc}") from None
    if args.mask:
        if not img2img:
            raise UsageError("--mask needs --init-image (inpainting is img2img)")
        files["mask"] = (args.mask, "--mask")
        values |= inpaint
    elif any(v is not None for v in inpaint.values()):
        raise UsageError(
            "--mask-blur, --inpaint-fill, --mask-invert, --inpaint-full-res and --inpaint-padding need --mask"
        )
    if args.controlnet:
        values["controlnet"] = [dict(unit) for unit in args.controlnet]
        for i, unit in enumerate(values["controlnet"]):
            if not is_job_output_key(unit["image"]):
                files[f"controlnet.{i}.image"] = (Path(unit["image"]), "--controlnet image")
    return values, files
