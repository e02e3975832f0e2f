"""`sdaws train DATASET --model BASE --output NAME --steps N`: train a LoRA (or DreamBooth) on a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaws.cli.common import api_errors
from sdaws.cli.submit import add_submit_args, check_params, submit


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a LoRA (or DreamBooth) on a folder of images with .txt captions",
        description="Upload a dataset folder (images, each with an optional .txt caption) and train on it. "
        "The result lands in Lora/NAME.safetensors (DreamBooth: Stable-diffusion/).",
    )
    parser.add_argument("dataset", type=Path, help="folder of images and .txt captions")
    parser.add_argument(
        "--model", required=True, help="base model: a converted name, a Stable-diffusion/ file, or an HF repo id"
    )
    parser.add_argument("--output", required=True, metavar="NAME", help="name of the result (e.g. my-lora)")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--method", choices=("lora", "dreambooth"), help="default lora")
    parser.add_argument("--rank", type=int)
    parser.add_argument("--alpha", type=float)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--resolution", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--caption", help="caption for images without a .txt file")
    parser.add_argument("--sample-every", type=int, help="write sample images every N steps (0: never)")
    add_submit_args(parser)
    parser.set_defaults(func=cmd_train)


@api_errors
def cmd_train(args: argparse.Namespace) -> int:
    values = {
        "base_model": args.model,
        "output_name": args.output,
        "steps": args.steps,
        "kind": args.method,
        "rank": args.rank,
        "alpha": args.alpha,
        "learning_rate": args.learning_rate,
        "resolution": args.resolution,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "default_caption": args.caption,
        "sample_every": args.sample_every,
    }
    params, local = check_params("train", values, {"dataset": (args.dataset, "DATASET")})
    return submit(args, "train", params, local)
