"""`sdaws jobs ls|show|watch|cancel`: GPU and utility jobs, for scripts."""

from __future__ import annotations

import argparse
import sys

from sdaws.cli.common import (
    add_out_arg,
    answer,
    api_action,
    api_errors,
    fetch,
    open_connection,
    say,
)
from sdaws.cli.submit import finish, stopped_following
from sdaws.client import fmt
from sdaws.client.api import ApiError
from sdaws.client.job_follow import JobUpdate, follow_job, readable, status_line
from sdaws.client.safe_text import printable
from sdaws.contract.job_status import STATUSES
from sdaws.contract.specs import JOB_KINDS


def register(subparsers) -> None:
    parser = subparsers.add_parser("jobs", help="list, follow and cancel jobs")
    sub = parser.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    ls = api_action(sub, cmd_ls, "ls", help="list recent jobs")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--kind", choices=JOB_KINDS)
    ls.add_argument("--limit", type=int, default=50)

    show = api_action(sub, cmd_show, "show", help="one job's status, progress and outputs")
    show.add_argument("job_id")

    watch = api_action(sub, cmd_watch, "watch", help="stream a job's log until it ends (exit 0 only if it succeeded)")
    watch.add_argument("job_id")
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    watch.add_argument("--raw", action="store_true", help="the log as the job wrote it (JSON events, library noise)")
    add_out_arg(watch)

    cancel = api_action(sub, cmd_cancel, "cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id")


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
    page = fetch(args, lambda client: client.list_jobs(status=args.status, kind=args.kind, limit=args.limit))
    return answer(args, page, map(job_line, page.get("jobs", [])))


@api_errors
def cmd_show(args: argparse.Namespace) -> int:
    job = fetch(args, lambda client: client.get_job(args.job_id))
    lines = [job_line(job), f"  {status_line(job)}"]
    lines += [f"  output {output.get('type')}/{output.get('name')}" for output in job.get("outputs") or []]
    lines += [f"  error: {job['error']}"] if job.get("error") else []
    return answer(args, job, lines)


@api_errors
def cmd_watch(args: argparse.Namespace) -> int:
    with open_connection(args) as conn:
        last_status = [None]

        def show(update: JobUpdate) -> None:
            if args.json:
                return
            for line in update.lines:
                text = readable(line) if not args.raw else printable(line, single_line=True)
                if text is not None:
                    print(text, flush=True)
            if update.job.get("status") != last_status[0]:
                print(f"[{update.job.get('status')}]", file=sys.stderr, flush=True)
            last_status[0] = update.job.get("status")

        try:
            job = follow_job(conn.client, args.job_id, show, interval=args.interval)
        except KeyboardInterrupt:
            say("sdaws: stopped watching (the job goes on)", err=True)
            return 130
        except ApiError as exc:
            raise stopped_following(exc, args.job_id) from None
        return finish(conn.client, job or conn.client.get_job(args.job_id), args.out, args.json)


@api_errors
def cmd_cancel(args: argparse.Namespace) -> int:
    result = fetch(args, lambda client: client.cancel_job(args.job_id))
    return answer(args, result, [f"cancel requested for {args.job_id}: {result.get('status', 'ok')}"])
