"""`sdaws train DATASET --model BASE --output NAME --steps N`: train a LoRA (or DreamBooth) on a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaws.cli.common import UsageError, api_errors
from sdaws.cli.submit import add_submit_args, check_params, spec_values, submit


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a LoRA (or DreamBooth) on a folder of images with .txt captions",
        description="Upload a dataset folder (images, each with an optional .txt caption) and train on it. "
        "The result lands in Lora/NAME.safetensors (DreamBooth: Stable-diffusion/).",
    )
    parser.add_argument("dataset", type=Path, help="folder of images and .txt captions")
    parser.add_argument(
        "--model",
        dest="base_model",
        metavar="BASE",
        required=True,
        help="base model: a converted name, a Stable-diffusion/ file, or an HF repo id",
    )
    parser.add_argument(
        "--output", dest="output_name", required=True, metavar="NAME", help="name of the result (e.g. my-lora)"
    )
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--method", dest="kind", choices=("lora", "dreambooth"), help="default lora")
    parser.add_argument("--rank", type=int)
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--resolution", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--caption", dest="default_caption", metavar="TEXT", help="caption for images without a .txt file"
    )
    parser.add_argument("--sample-every", type=int, help="write sample images every N steps (0: never)")
    parser.add_argument(
        "--sample-prompt",
        dest="sample_prompts",
        action="append",
        metavar="PROMPT",
        help="a prompt for the samples (repeatable)",
    )
    parser.add_argument("--sample-steps", type=int, metavar="N", help="denoising steps of each sample (20)")
    kohya = parser.add_argument_group("kohya sd-scripts options (their names)")
    kohya.add_argument(
        "--enable-bucket", action="store_true", default=None, help="aspect-ratio buckets instead of centre crops"
    )
    kohya.add_argument("--min-bucket-reso", type=int, metavar="PX", help="smallest bucket side (256)")
    kohya.add_argument("--max-bucket-reso", type=int, metavar="PX", help="largest bucket side (1024)")
    kohya.add_argument("--bucket-reso-steps", type=int, metavar="PX", help="bucket sides are multiples of it (64)")
    kohya.add_argument("--caption-extension", choices=(".txt", ".caption"), help="caption files read first (.txt)")
    kohya.add_argument(
        "--shuffle-caption", action="store_true", default=None, help="shuffle the comma-separated tags each step"
    )
    kohya.add_argument("--keep-tokens", type=int, metavar="N", help="leading tags that shuffling leaves in place")
    kohya.add_argument("--save-every-n-steps", type=int, metavar="N", help="intermediate checkpoints every N steps")
    kohya.add_argument("--resume-from", metavar="LORA", help="a LoRA an sdaws training saved (Lora/…): continue it")
    add_submit_args(parser)
    parser.set_defaults(func=cmd_train)


@api_errors
def cmd_train(args: argparse.Namespace) -> int:
    # Each flag's dest is its spec field's name, so the spec says which flags are params.
    values = spec_values("train", args)
    bucket_flags = (args.min_bucket_reso, args.max_bucket_reso, args.bucket_reso_steps)
    if not args.enable_bucket and any(v is not None for v in bucket_flags):
        raise UsageError("--min-bucket-reso, --max-bucket-reso and --bucket-reso-steps need --enable-bucket")
    params, local = check_params("train", values, {"dataset": (args.dataset, "DATASET")})
    return submit(args, "train", params, local)
