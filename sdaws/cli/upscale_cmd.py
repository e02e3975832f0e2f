"""`sdaws upscale IMAGE --model M --scale S`: the WebUI's extras (an upscaler model, face restore)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sdaws.cli.common import UsageError, api_errors
from sdaws.cli.submit import add_submit_args, check_params, submit
from sdaws.contract.model_tree import FACE_RESTORER_TYPES, UPSCALER_TYPES
from sdaws.contract.outputs import is_job_output_key
from sdaws.contract.specs import PIXEL_UPSCALERS

# Face restorer folder -> its model and visibility fields in the spec.
_RESTORERS = {
    "GFPGAN": ("gfpgan_model", "gfpgan_visibility"),
    "Codeformer": ("codeformer_model", "codeformer_visibility"),
}


def register(subparsers) -> None:
    folders = ", ".join(f"{t}/" for t in UPSCALER_TYPES)
    parser = subparsers.add_parser(
        "upscale",
        help="upscale an image and restore faces (the WebUI's extras)",
        description=f"Upscale a local image, or an image a job made, with a model from {folders} "
        "(or Lanczos/Nearest) and optionally restore faces with GFPGAN/ or Codeformer/. "
        "The result is the job's output (--wait --out DIR saves it).",
    )
    parser.add_argument("image", metavar="IMAGE", help="an image file here, or a job output key (job-outputs/…)")
    parser.add_argument(
        "--model",
        required=True,
        metavar="UPSCALER",
        help=f"Upscaler: a model in {folders} (e.g. ESRGAN/4x-UltraSharp.pth), or {', '.join(PIXEL_UPSCALERS[1:])}",
    )
    parser.add_argument("--scale", type=float, metavar="F", help="Resize: scale factor (default 2)")
    parser.add_argument("--tile", type=int, metavar="PX", help="tile size in pixels (default 192; 0: whole image)")
    parser.add_argument("--tile-overlap", type=int, metavar="PX", help="pixels each tile reads from its neighbours")
    parser.add_argument("--model-2", metavar="UPSCALER", help="Upscaler 2, blended in by --model-2-visibility")
    parser.add_argument("--model-2-visibility", type=float, metavar="F", help="Upscaler 2 visibility 0..1")
    parser.add_argument(
        "--face-restorer", metavar="FOLDER/MODEL", help="GFPGAN/<file> or Codeformer/<file>: restore faces after"
    )
    parser.add_argument("--face-visibility", type=float, metavar="F", help="GFPGAN/CodeFormer visibility 0..1 (1)")
    parser.add_argument("--codeformer-weight", type=float, metavar="F", help="CodeFormer weight (0: strongest)")
    add_submit_args(parser)
    parser.set_defaults(func=cmd_upscale)


def _restorer(args: argparse.Namespace) -> dict:
    if not args.face_restorer:
        if args.face_visibility is not None or args.codeformer_weight is not None:
            raise UsageError("--face-visibility and --codeformer-weight need --face-restorer")
        return {}
    folder = args.face_restorer.split("/", 1)[0]
    if folder not in _RESTORERS or "/" not in args.face_restorer:
        raise UsageError(
            f"--face-restorer {args.face_restorer!r}: name it {' or '.join(f'{t}/FILE' for t in FACE_RESTORER_TYPES)}"
        )
    model, visibility = _RESTORERS[folder]
    values = {model: args.face_restorer, visibility: 1.0 if args.face_visibility is None else args.face_visibility}
    if args.codeformer_weight is not None:
        if folder != "Codeformer":
            raise UsageError("--codeformer-weight is for a Codeformer/ restorer")
        values["codeformer_weight"] = args.codeformer_weight
    return values


@api_errors
def cmd_upscale(args: argparse.Namespace) -> int:
    values = {
        "image": args.image,
        "upscaler_1": args.model,
        "upscaling_resize": args.scale,
        "tile": args.tile,
        "tile_overlap": args.tile_overlap,
        "upscaler_2": args.model_2,
        "extras_upscaler_2_visibility": args.model_2_visibility,
        **_restorer(args),
    }
    if args.model_2_visibility is not None and not args.model_2:
        raise UsageError("--model-2-visibility needs --model-2")
    if args.model_2 and args.model_2_visibility is None:
        values["extras_upscaler_2_visibility"] = 0.5
    files = {} if is_job_output_key(args.image) else {"image": (Path(args.image), "IMAGE")}
    params, local = check_params("upscale", values, files)
    return submit(args, "upscale", params, local)
