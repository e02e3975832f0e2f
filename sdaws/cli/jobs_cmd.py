"""`sdaws jobs ls|show|watch|cancel`: GPU and utility jobs, for scripts."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sdaws.cli.common import add_connection_args, add_json_arg, api_errors, open_connection, print_json
from sdaws.client import fmt
from sdaws.client.api import ApiClient
from sdaws.client.outputs import save_outputs
from sdaws.contract.job_status import FINAL as FINAL_STATUSES
from sdaws.contract.job_status import STATUSES
from sdaws.contract.specs import JOB_KINDS


def register(subparsers) -> None:
    parser = subparsers.add_parser("jobs", help="list, follow and cancel jobs")
    sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    ls = sub.add_parser("ls", help="list recent jobs")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--kind", choices=JOB_KINDS)
    ls.add_argument("--limit", type=int, default=50)
    add_json_arg(ls)
    add_connection_args(ls)
    ls.set_defaults(func=cmd_ls)

    show = sub.add_parser("show", help="one job's status, progress and outputs")
    show.add_argument("job_id")
    add_json_arg(show)
    add_connection_args(show)
    show.set_defaults(func=cmd_show)

    watch = sub.add_parser("watch", help="stream a job's log until it ends (exit 0 only if it succeeded)")
    watch.add_argument("job_id")
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    watch.add_argument("--out", type=Path, help="save the outputs into this folder when it succeeds")
    add_json_arg(watch)
    add_connection_args(watch)
    watch.set_defaults(func=cmd_watch)

    cancel = sub.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id")
    add_json_arg(cancel)
    add_connection_args(cancel)
    cancel.set_defaults(func=cmd_cancel)


def job_line(job: dict) -> str:
    progress = job.get("progress") or {}
    step, total = progress.get("step"), progress.get("total")
    done = f"{step}/{total}" if total else ""
    return (
        f"{job['job_id']:<36} {job.get('kind', ''):<8} {job.get('status', ''):<10} {done:>9}  "
        f"{fmt.timestamp(job.get('created_at'))}"
    )


@api_errors
def cmd_ls(args: argparse.Namespace) -> int:
    with open_connection(args) as conn:
        page = conn.client.list_jobs(status=args.status, kind=args.kind, limit=args.limit)
    if args.json:
        print_json(page)
        return 0
    for job in page.get("jobs", []):
        print(job_line(job))
    return 0


@api_errors
def cmd_show(args: argparse.Namespace) -> int:
    with open_connection(args) as conn:
        job = conn.client.get_job(args.job_id)
    if args.json:
        print_json(job)
        return 0
    print(job_line(job))
    progress = job.get("progress") or {}
    if progress.get("message"):
        print(f"  {progress['message']}  (ETA {fmt.duration(progress.get('eta_s'))})")
    for output in job.get("outputs") or []:
        print(f"  output {output.get('type')}/{output.get('name')}")
    if job.get("error"):
        print(f"  error: {job['error']}")
    return 0


def follow(client: ApiClient, job_id: str, interval: float, on_line, on_job) -> dict:
    """Poll a job and its log until it reaches a final status; return the last job record."""
    cursor = None
    while True:
        job = client.get_job(job_id)
        while True:
            logs = client.job_logs(job_id, cursor)
            for line in logs.get("lines", []):
                on_line(line)
            new_cursor = logs.get("next_cursor")
            if not logs.get("lines") or not new_cursor or new_cursor == cursor:
                cursor = new_cursor or cursor
                break
            cursor = new_cursor
        on_job(job)
        if job.get("status") in FINAL_STATUSES:
            return job
        time.sleep(interval)


@api_errors
def cmd_watch(args: argparse.Namespace) -> int:
    with open_connection(args) as conn:
        last_status = [None]

        def on_job(job: dict) -> None:
            if job.get("status") != last_status[0] and not args.json:
                print(f"[{job.get('status')}]", file=sys.stderr)
            last_status[0] = job.get("status")

        def on_line(line: str) -> None:
            if not args.json:
                print(line)

        try:
            job = follow(conn.client, args.job_id, args.interval, on_line, on_job)
        except KeyboardInterrupt:
            print("sdaws: stopped watching (the job goes on)", file=sys.stderr)
            return 130
        return finish(conn.client, job, args.out, args.json)


def finish(client: ApiClient, job: dict, out: Path | None, as_json: bool) -> int:
    """Save a finished job's outputs if asked, report, and exit 0 only on success."""
    succeeded = job.get("status") == "SUCCEEDED"
    saved = save_outputs(client, job["job_id"], out) if out and succeeded else []
    if as_json:
        print_json({"job": job, "saved": [str(p) for p in saved]})
    else:
        for path in saved:
            print(f"saved {path}")
        if job.get("error"):
            print(f"sdaws: job {str(job.get('status')).lower()}: {job['error']}", file=sys.stderr)
    return 0 if succeeded else 1


@api_errors
def cmd_cancel(args: argparse.Namespace) -> int:
    with open_connection(args) as conn:
        result = conn.client.cancel_job(args.job_id)
    if args.json:
        print_json(result)
    else:
        print(f"cancel requested for {args.job_id}: {result.get('status', 'ok')}")
    return 0
