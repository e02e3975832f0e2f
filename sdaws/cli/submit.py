"""Submitting a job from the CLI and, with --wait, following it to the end.

`generate`, `train` and `merge` differ only in their params. Everything is checked
before a byte is sent (the API's own specs, local files); in local mode the job runs on
a server that outlives the command (`sdaws.client.local_server`), so `sdaws jobs watch ID`
finds it later. While waiting, progress is one line that updates in place on a
terminal; the raw log stays with the job (`sdaws jobs watch` shows it readably).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from sdaws.cli.common import (
    UsageError,
    add_connection_args,
    add_json_arg,
    add_out_arg,
    open_connection,
    print_json,
    say,
)
from sdaws.cli.words import in_cli_words
from sdaws.client.api import ApiClient, ApiError
from sdaws.client.job_follow import JobUpdate, first_line, follow_job, no_answer, status_line
from sdaws.client.job_inputs import check_local_input, placeholder, set_slot, upload_job_inputs
from sdaws.client.job_params import build_params
from sdaws.client.outputs import save_outputs
from sdaws.client.safe_text import printable
from sdaws.contract.model_tree import CONVERTED_PREFIX, MODEL_TYPES
from sdaws.contract.specs import SPECS


def add_submit_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="a label for the job in `sdaws jobs ls` and the TUI")
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends (exit 0 only on success)")
    add_out_arg(parser, " (with --wait)")
    parser.add_argument("--idempotency-key", help="resubmitting with the same key never makes a second job")
    add_json_arg(parser)
    add_connection_args(parser)


def spec_values(kind: str, args: argparse.Namespace) -> dict:
    """The flags given whose dest is a field of the kind's spec (an unset flag is None)."""
    fields = SPECS[kind].model_fields
    return {name: value for name, value in vars(args).items() if name in fields and value is not None}


def check_params(kind: str, values: dict, files: dict[str, tuple[Path, str]]) -> tuple[dict, dict[str, Path]]:
    """(params, local files) checked with the API's spec; ``files`` maps a params slot
    (``init_image``, ``controlnet.0.image``) -> (path, flag)."""
    checked: dict[str, Path] = {}
    for slot, (path, flag) in files.items():
        try:
            checked[slot] = check_local_input(slot, path, flag)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        set_slot(values, slot, placeholder(slot, checked[slot]))  # until the upload gives the key
    try:
        return build_params(kind, values), checked
    except ValueError as exc:
        raise UsageError(in_cli_words(str(exc))) from None


def submit(args: argparse.Namespace, kind: str, params: dict, files: dict[str, Path]) -> int:
    if args.out and not args.wait:
        raise UsageError("--out needs --wait")
    with open_connection(args, outlive_me=True) as conn:
        params = upload_job_inputs(conn.client, params, files)
        job = conn.client.submit_job(
            kind, params, idempotency_key=args.idempotency_key or str(uuid.uuid4()), name=args.name
        )
        if not args.wait:
            if args.json:
                print_json(job)
            else:
                print(job["job_id"])
                if sys.stderr.isatty():
                    say(f"submitted; follow it with: sdaws jobs watch {job['job_id']}", err=True)
            return 0
        if not args.json:
            say(f"submitted {kind} job {job['job_id']}", err=True)
        try:
            final = follow_job(conn.client, job["job_id"], ProgressLine(quiet=args.json), interval=1.0)
        except KeyboardInterrupt:
            say(f"\nsdaws: stopped waiting; the job goes on (sdaws jobs watch {job['job_id']})", err=True)
            return 130
        except ApiError as exc:  # the server stopped answering: say how to look again
            raise stopped_following(exc, job["job_id"]) from None
        return finish(conn.client, final or job, args.out, args.json)


class ProgressLine:
    """`RUNNING · denoising 3/20 (15%) · ETA 4s` on stderr: one line redrawn on a terminal,
    a new line per status change otherwise (logs and CI)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = ""
        self.last_status = ""

    def __call__(self, update: JobUpdate) -> None:
        if self.quiet:
            return
        line = printable(status_line(update.job), single_line=True)
        status = str(update.job.get("status"))
        if self.tty:
            if line != self.last:
                sys.stderr.write("\r\x1b[K" + line + ("\n" if update.final else ""))
                sys.stderr.flush()
        elif status != self.last_status:
            print(f"[{status}]", file=sys.stderr)
        self.last, self.last_status = line, status


def stopped_following(exc: ApiError, job_id: str) -> ApiError:
    """The error that ended a follow loop; when the server stopped answering, with how to pick
    the job up again (it may well run on)."""
    if not no_answer(exc):
        return exc
    return ApiError(
        f"{exc} Stopped following; sdaws jobs watch {job_id} follows the job again.", status=exc.status, code=exc.code
    )


def finish(client: ApiClient, job: dict, out: Path | None, as_json: bool) -> int:
    """Save a finished job's files if asked, say what happened, and exit 0 only on success."""
    status = job.get("status")
    succeeded = status == "SUCCEEDED"
    result = save_outputs(client, job["job_id"], out) if out and succeeded else None
    saved = [str(p) for p in result.saved] if result else []
    in_tree = result.in_tree if result else [o.get("key") for o in job.get("outputs") or [] if _in_tree(o)]
    if as_json:
        print_json({"job": job, "saved": saved, "in_tree": in_tree})
        return 0 if succeeded else 1
    for path in saved:
        say(f"saved {path}")
    for key in in_tree:
        say(f"in the model tree: {key}")
    if succeeded and not out:
        files = [o for o in job.get("outputs") or [] if not _in_tree(o)]
        if files:
            say(f"{len(files)} file(s) with the job; --out DIR saves them (sdaws jobs watch {job['job_id']} --out DIR)")
    if status == "CANCELLED":
        say(f"sdaws: job {job['job_id']} was cancelled", err=True)
    elif not succeeded:
        reason = first_line(job.get("error")) or "no reason given"
        say(
            f"sdaws: job {job['job_id']} {str(status).lower()}: {reason} (sdaws jobs watch {job['job_id']} --raw shows the log)",
            err=True,
        )
    return 0 if succeeded else 1


def _in_tree(output: dict) -> bool:
    """Whether the output is a model in the tree (a LoRA, a merged checkpoint, a converted folder)."""
    tree_types = (*MODEL_TYPES, CONVERTED_PREFIX)
    return output.get("type") in tree_types and not str(output.get("key") or "").startswith("job-outputs/")
