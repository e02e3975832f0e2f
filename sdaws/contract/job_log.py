"""Whose line it is in a log many jobs share.

An async endpoint writes the lines of every request it serves to one CloudWatch log
group, so each line the serving container writes while it runs a job starts with
`[job <job id>] `: the API filters the endpoint's log on the job id and hands the job its
lines back without the tag (what the job wrote, progress events included).
"""

from __future__ import annotations


def tag(job_id: str) -> str:
    return f"[job {job_id}] "


def tagged(job_id: str, line: str) -> str:
    return tag(job_id) + line


def untagged(job_id: str, line: str) -> str | None:
    """The line as the job wrote it, or None when it is not this job's line."""
    prefix = tag(job_id)
    return line[len(prefix) :] if line.startswith(prefix) else None
