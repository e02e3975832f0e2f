"""`sdaws merge A B [C] --output NAME`: weighted-sum (or add-difference with C) checkpoint merge."""

from __future__ import annotations

import argparse

from sdaws.cli.common import api_errors
from sdaws.cli.submit import add_submit_args, check_params, submit


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge checkpoints: A*(1-M) + B*M, or A + M*(B - C) with a third model",
        description="Merge Stable-diffusion/ checkpoints (or converted models) into Stable-diffusion/NAME.safetensors.",
    )
    parser.add_argument("model_a", metavar="MODEL_A")
    parser.add_argument("model_b", metavar="MODEL_B")
    parser.add_argument("model_c", metavar="MODEL_C", nargs="?", help="with it the mode is add_difference")
    parser.add_argument("--output", required=True, metavar="NAME", help="name of the merged checkpoint")
    parser.add_argument("--multiplier", "-m", type=float, help="M (default 0.5)")
    parser.add_argument("--half", action="store_true", help="save fp16 weights")
    add_submit_args(parser)
    parser.set_defaults(func=cmd_merge)


@api_errors
def cmd_merge(args: argparse.Namespace) -> int:
    values = {
        "mode": "add_difference" if args.model_c else "weighted_sum",
        "model_a": args.model_a,
        "model_b": args.model_b,
        "model_c": args.model_c,
        "multiplier": args.multiplier,
        "output_name": args.output,
        "half": args.half or None,
    }
    params, _ = check_params("merge", values, {})
    return submit(args, "merge", params, {})
