"""`sdaws merge A B [C] --output NAME`: weighted-sum (or add-difference with C) checkpoint merge,
or any of the other methods (--mode), block-weighted (--block-weights), with LoRAs baked in."""

from __future__ import annotations

import argparse

from sdaws.cli.common import UsageError, api_errors
from sdaws.cli.generate_cmd import lora_arg
from sdaws.cli.submit import add_submit_args, check_params, submit
from sdaws.contract.specs import MERGE_MODES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "merge",
        help="merge checkpoints: A*(1-M) + B*M, or A + M*(B - C) with a third model",
        description="Merge Stable-diffusion/ checkpoints (or converted models) into Stable-diffusion/NAME.safetensors.",
    )
    parser.add_argument("model_a", metavar="MODEL_A")
    parser.add_argument("model_b", metavar="MODEL_B", nargs="?", help="every mode but no_interpolation needs it")
    parser.add_argument(
        "model_c", metavar="MODEL_C", nargs="?", help="with it the default mode is add_difference; ties: the base"
    )
    parser.add_argument("--output", required=True, metavar="NAME", help="name of the merged checkpoint")
    parser.add_argument("--mode", choices=MERGE_MODES, help="Interpolation method (default from the models given)")
    parser.add_argument("--multiplier", "-m", type=float, help="M (default 0.5)")
    parser.add_argument(
        "--block-weights",
        metavar="W,W,…",
        help="MBW: 25 comma-separated multipliers IN00..IN11,M00,OUT00..OUT11 (SDXL: 19)",
    )
    parser.add_argument("--density", type=float, help="ties: fraction of each difference kept (0.2)")
    parser.add_argument("--dare", action="store_true", help="ties: DARE (keep a random --density share, rescaled)")
    parser.add_argument("--seed", type=int, help="ties with --dare: the drop mask's seed")
    parser.add_argument(
        "--lora", action="append", type=lora_arg, default=[], metavar="NAME[:W]", help="bake a LoRA from Lora/ in"
    )
    parser.add_argument("--half", action="store_true", help="save fp16 weights")
    add_submit_args(parser)
    parser.set_defaults(func=cmd_merge)


@api_errors
def cmd_merge(args: argparse.Namespace) -> int:
    if args.model_b is None and args.mode != "no_interpolation":
        raise UsageError("give MODEL_B (only --mode no_interpolation, with --lora, takes MODEL_A alone)")
    values = {
        "mode": args.mode or ("add_difference" if args.model_c else "weighted_sum"),
        "model_a": args.model_a,
        "model_b": args.model_b,
        "model_c": args.model_c,
        "multiplier": args.multiplier,
        "output_name": args.output,
        "half": args.half or None,
        "block_weights": _numbers(args.block_weights) if args.block_weights else None,
        "density": args.density,
        "dare": args.dare or None,
        "seed": args.seed,
        "loras": args.lora or None,
    }
    params, _ = check_params("merge", values, {})
    return submit(args, "merge", params, {})


def _numbers(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"--block-weights {text!r}: give comma-separated numbers") from None
