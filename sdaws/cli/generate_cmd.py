"""`sdaws generate PROMPT --model M`: submit a txt2img (or img2img) job, optionally wait for it."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaws.cli.common import UsageError, api_errors
from sdaws.cli.parity_args import add_generation_parity_args, generation_parity_values
from sdaws.cli.submit import add_submit_args, check_params, submit
from sdaws.contract.specs import SCHEDULERS


def lora_arg(text: str) -> dict:
    """``NAME`` or ``NAME:WEIGHT`` (as in a `<lora:NAME:WEIGHT>` tag) -> a spec LoRA entry.

    As in a tag, NAME is the file in Lora/ with or without its `.safetensors`."""
    name, sep, weight = text.rpartition(":") if ":" in text else (text, "", "")
    try:
        value = float(weight) if sep else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the weight after ':' must be a number, e.g. my-lora:0.8") from None
    name = (name if sep else text).strip()
    if not name.lower().endswith((".safetensors", ".ckpt")):
        name += ".safetensors"
    return {"name": name, "weight": value}


def register(subparsers) -> None:
    parser = subparsers.add_parser("generate", help="make images from a prompt (txt2img, or img2img with --init-image)")
    parser.add_argument(
        "prompt",
        help="the prompt; <lora:NAME:W> tags use LoRAs from Lora/, and embeddings/ are used by name, as in the WebUI",
    )
    parser.add_argument("--model", required=True, help="checkpoint name in Stable-diffusion/, or a converted name")
    parser.add_argument("--negative", default="", help="negative prompt")
    parser.add_argument(
        "--lora", action="append", type=lora_arg, default=[], metavar="NAME[:W]", help="a LoRA from Lora/ (repeatable)"
    )
    parser.add_argument("--vae", help="a VAE from VAE/ instead of the model's own")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--cfg-scale", type=float, help="classifier-free guidance scale")
    parser.add_argument("--scheduler", help=", ".join(SCHEDULERS))
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--seed", type=int, help="-1 or omitted: random (recorded in the PNG)")
    parser.add_argument("--batch-count", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--init-image", type=Path, help="start from this image (img2img)")
    parser.add_argument("--strength", type=float, help="img2img denoising strength 0..1")
    add_generation_parity_args(parser)
    add_submit_args(parser)
    parser.set_defaults(func=cmd_generate)


def _values(args: argparse.Namespace) -> dict:
    return {
        "model": args.model,
        "prompt": args.prompt,
        "negative_prompt": args.negative,
        "loras": args.lora or None,
        "vae": args.vae,
        "steps": args.steps,
        "cfg_scale": args.cfg_scale,
        "scheduler": args.scheduler,
        "width": args.width,
        "height": args.height,
        "seed": args.seed,
        "batch_count": args.batch_count,
        "batch_size": args.batch_size,
    }


@api_errors
def cmd_generate(args: argparse.Namespace) -> int:
    kind = "img2img" if args.init_image else "txt2img"
    values = _values(args)
    parity, files = generation_parity_values(args, img2img=bool(args.init_image))
    values |= parity
    if args.init_image:
        files["init_image"] = (args.init_image, "--init-image")
        values["denoising_strength"] = args.strength
    elif args.strength is not None:
        raise UsageError("--strength needs --init-image")
    params, local = check_params(kind, values, files)
    return submit(args, kind, params, local)
