"""`sdaws export DIR --output FILE.safetensors`: diffusers folder -> original single file.

The result goes into the model tree's Stable-diffusion/ folder for the WebUI. With
`--lora`, DIR (or a .safetensors file) holds diffusers/peft LoRA weights and the
output is a kohya-format LoRA for Lora/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sdaws.cli.common import UsageError, add_json_arg


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a diffusers folder (or a LoRA with --lora) to one .safetensors file",
        description="Write a diffusers pipeline folder back as a single-file checkpoint in the original layout, "
        "or with --lora a diffusers/peft LoRA as a kohya-format LoRA.",
    )
    parser.add_argument("src", type=Path, help="diffusers folder (or LoRA folder/file with --lora)")
    parser.add_argument("--output", "-o", type=Path, required=True, help="file to create (.safetensors)")
    parser.add_argument("--half", action="store_true", help="write fp16 weights")
    parser.add_argument("--lora", action="store_true", help="SRC is a LoRA; write kohya format")
    parser.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    add_json_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sdaws.contract.errors import InvalidInput
    from sdaws_jobs.convert import export_lora, export_pipeline

    if not args.src.exists():
        raise UsageError(f"{args.src} does not exist")
    try:
        if args.lora:
            summary = export_lora(args.src, args.output, half=args.half, overwrite=args.force)
        else:
            if not args.src.is_dir():
                raise UsageError(f"{args.src} is not a diffusers folder (for a LoRA file add --lora)")
            summary = export_pipeline(args.src, args.output, half=args.half, overwrite=args.force)
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {summary['tensors_written']} tensors to {summary['output']} in {summary['seconds']:.1f}s")
    return 0
