"""`sdaws convert SRC --output DIR`: single-file checkpoint -> diffusers folder, in-process.

No server is needed: the conversion engine (sdaws_jobs.convert) runs right here,
offline. Errors in the input (unsafe pickle, corrupt file, unknown architecture,
existing output) print one line and exit 2; nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sdaws.cli.common import UsageError, add_json_arg


def register(subparsers) -> None:
    from sdaws.contract.architecture import ARCHS, PREDICTION_TYPES

    parser = subparsers.add_parser(
        "convert",
        help="convert a .safetensors/.ckpt checkpoint to a diffusers folder (offline)",
        description="Convert a Stable Diffusion single-file checkpoint into a diffusers folder. The architecture, "
        "prediction type and image size are detected from the weights; the options override them.",
    )
    parser.add_argument("src", type=Path, help="checkpoint file (.safetensors or .ckpt)")
    parser.add_argument("--output", "-o", type=Path, required=True, help="diffusers folder to create (must not exist)")
    parser.add_argument("--arch", choices=ARCHS, help="architecture, when detection cannot tell (e.g. sd2-512)")
    parser.add_argument("--prediction-type", choices=PREDICTION_TYPES)
    parser.add_argument("--image-size", type=int, help="native resolution (512, 768, 1024)")
    parser.add_argument(
        "--upcast-attention",
        action="store_true",
        default=None,
        help="compute attention in fp32 (SD2.x-768 models need it)",
    )
    parser.add_argument("--half", action="store_true", help="write fp16 weights")
    parser.add_argument(
        "--ema", action="store_true", help="use the EMA weights of the UNet instead of the training ones"
    )
    add_json_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sdaws.contract.errors import InvalidInput
    from sdaws_jobs.convert import convert_checkpoint

    def progress(done: int, total: int, name: str) -> None:
        if not args.json and sys.stderr.isatty() and (done == total or done % 50 == 0):
            print(f"\r{done}/{total} tensors", end="" if done < total else "\n", file=sys.stderr, flush=True)

    try:
        summary = convert_checkpoint(
            args.src,
            args.output,
            arch=args.arch,
            prediction_type=args.prediction_type,
            image_size=args.image_size,
            upcast_attention=args.upcast_attention,
            half=args.half,
            ema=args.ema,
            progress=progress,
        )
    except InvalidInput as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"detected {summary['arch']} ({summary['prediction_type']}, {summary['image_size']}px"
        f"{', upcast attention' if summary['upcast_attention'] else ''})"
    )
    for reason in summary["reasons"]:
        print(f"  because {reason}")
    for default in summary["defaults_taken"]:
        print(f"  note: {default}")
    print(f"wrote {summary['tensors_written']} tensors to {summary['output']} in {summary['seconds']:.1f}s")
    return 0
