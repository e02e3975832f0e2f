"""Entrypoint of every job: `python -m sdaws_jobs <kind> [--workdir DIR]`.

Kinds: convert, export, merge, train, txt2img, img2img, upscale, import, hash (one-shot jobs; see layout.py
for the directory contract and progress.py for the stdout protocol) and serve (the
SageMaker inference server). Exit codes: 0 done, 2 bad spec or input, 1 failure.

The spec is validated before torch is imported, so a bad request fails in
milliseconds. While a job runs, sys.stdout points at stderr: only progress events
reach the real stdout, whatever libraries print.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import traceback
from collections.abc import Callable

from pydantic import ValidationError

from sdaws.contract.errors import InvalidInput, describe_validation_error
from sdaws.contract.specs import JOB_KINDS, parse_spec

from . import progress
from .layout import Layout

RUNNERS: dict[str, str] = {
    "txt2img": "sdaws_jobs.generate:run",
    "img2img": "sdaws_jobs.generate:run",
    "train": "sdaws_jobs.train:run",
    "merge": "sdaws_jobs.merge:run",
    "convert": "sdaws_jobs.convert_job:run_convert",
    "export": "sdaws_jobs.convert_job:run_export",
    "upscale": "sdaws_jobs.upscale_job:run",
    "import": "sdaws_jobs.import_job:run",
    "hash": "sdaws_jobs.hash_job:run",
}


class Cancelled(Exception):
    pass


def _runner(kind: str) -> Callable:
    module, func = RUNNERS[kind].split(":")
    return getattr(importlib.import_module(module), func)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sdaws_jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=[*JOB_KINDS, "serve"])
    parser.add_argument("--workdir", help="job directory (default /opt/ml); see sdaws_jobs.layout")
    parser.add_argument("--input", help="input dir holding config/ and data/ (default WORKDIR/input)")
    parser.add_argument("--output", help="output dir (default WORKDIR/output)")
    parser.add_argument("--spec", help="read the spec from this JSON file")
    parser.add_argument("--host", default="0.0.0.0", help="serve: bind address")
    parser.add_argument("--port", type=int, default=8080, help="serve: port")
    parser.add_argument("--model-dir", help="serve: model tree root (default $SDAWS_MODELS_DIR or /opt/ml/model)")
    return parser


def run_job(kind: str, layout: Layout) -> int:
    """Validate, run and report one job; returns the exit code."""
    events_out = sys.stdout
    progress.set_stream(events_out)
    sys.stdout = sys.stderr
    previous = signal.getsignal(signal.SIGTERM)

    def _on_term(signum, frame):  # the local runner's cancel and SageMaker's stop send SIGTERM
        raise Cancelled("cancelled (SIGTERM)")

    code, message = 0, ""
    try:
        signal.signal(signal.SIGTERM, _on_term)
        raw = layout.load_spec(kind)
        spec = parse_spec(kind, raw)
        layout.output_dir.mkdir(parents=True, exist_ok=True)
        _runner(kind)(spec, layout, kind)
    except ValidationError as exc:
        code, message = 2, "invalid spec: " + describe_validation_error(exc, "spec")
    except InvalidInput as exc:  # SpecError and every contract rule the input broke
        code, message = 2, str(exc)
    except (Cancelled, KeyboardInterrupt) as exc:
        code, message = 1, str(exc) or "cancelled"
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        code, message = 1, f"{type(exc).__name__}: {exc}"
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.stdout = events_out
    if code == 0:
        progress.done()
    else:
        progress.error(message)
        if layout.failure_file is not None:
            try:
                layout.failure_file.parent.mkdir(parents=True, exist_ok=True)
                layout.failure_file.write_text(message[:1000], encoding="utf-8")
            except OSError:
                pass
    progress.set_stream(None)
    return code


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.kind == "serve":
        from .serve import serve

        serve(host=args.host, port=args.port, model_dir=args.model_dir)
        return 0
    layout = Layout.resolve(args.workdir, args.input, args.output, args.spec)
    return run_job(args.kind, layout)


if __name__ == "__main__":
    sys.exit(main())
