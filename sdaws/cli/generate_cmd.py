"""`sdaws generate PROMPT --model M`: submit a txt2img (or img2img) job, optionally wait for it."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from sdaws.cli.common import add_connection_args, add_json_arg, api_errors, open_connection, print_json
from sdaws.cli.jobs_cmd import finish, follow
from sdaws.client.job_params import build_params


def register(subparsers) -> None:
    parser = subparsers.add_parser("generate", help="make images from a prompt (txt2img, or img2img with --init-image)")
    parser.add_argument("prompt")
    parser.add_argument("--model", required=True, help="checkpoint name in Stable-diffusion/, or a converted name")
    parser.add_argument("--negative", default="", help="negative prompt")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--cfg-scale", type=float, help="classifier-free guidance scale")
    parser.add_argument("--scheduler", help="euler_a, euler, dpmpp_2m, dpmpp_2m_karras, ddim, pndm, lms, heun, unipc")
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--seed", type=int, help="-1 or omitted: random (recorded in the PNG)")
    parser.add_argument("--batch-count", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--init-image", type=Path, help="start from this image (img2img)")
    parser.add_argument("--strength", type=float, help="img2img denoising strength 0..1")
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends")
    parser.add_argument("--out", type=Path, help="with --wait: save the images into this folder")
    parser.add_argument("--idempotency-key", help="resubmitting with the same key never makes a second job")
    add_json_arg(parser)
    add_connection_args(parser)
    parser.set_defaults(func=cmd_generate)


def _values(args: argparse.Namespace) -> dict:
    return {
        "model": args.model,
        "prompt": args.prompt,
        "negative_prompt": args.negative,
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
    from sdaws.cli.main import UsageError

    kind = "img2img" if args.init_image else "txt2img"
    values = _values(args)
    if args.init_image:
        if not args.init_image.is_file():
            raise UsageError(f"--init-image {args.init_image} is not a file")
        values["init_image"] = args.init_image.name  # placeholder until the upload gives the key
        values["denoising_strength"] = args.strength
    elif args.strength is not None:
        raise UsageError("--strength needs --init-image")
    if args.out and not args.wait:
        raise UsageError("--out needs --wait")
    try:
        params = build_params(kind, values)  # check everything before sending any bytes
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with open_connection(args) as conn:
        if args.init_image:
            params["init_image"] = conn.client.upload_job_input(args.init_image)["key"]
        job = conn.client.submit_job(kind, params, idempotency_key=args.idempotency_key or str(uuid.uuid4()))
        if not args.wait:
            if args.json:
                print_json(job)
            else:
                print(job["job_id"])
            return 0
        if not args.json:
            print(f"submitted {kind} job {job['job_id']}", file=sys.stderr)
        job = follow(conn.client, job["job_id"], 1.0, (lambda line: None) if args.json else print, lambda j: None)
        return finish(conn.client, job, args.out, args.json)
