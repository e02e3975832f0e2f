"""JobLogs from CloudWatch Logs: the job's stdout (progress lines included) as SageMaker logs it.

  * processing jobs -> /aws/sagemaker/ProcessingJobs, streams "<job name>/…";
  * training jobs   -> /aws/sagemaker/TrainingJobs, streams "<job name>/…";
  * async inference -> /aws/sagemaker/Endpoints/<endpoint>, shared by every request: the
                       serving container tags each line of a job with its id
                       (sdaws.contract.job_log), so the job's lines are those tagged
                       with its id, handed back as the job wrote them.

Every search starts at the job's creation, not at the beginning of the log group.

The cursor is "<timestamp ms>.<lines already read at that timestamp>": it survives the
end of the log (a later read continues where this one stopped) and never repeats or
skips a line, even when several lines share a millisecond.
"""

from __future__ import annotations

import re
from datetime import datetime

from botocore.exceptions import ClientError

from sam_app.core.job_events import sagemaker_job_name
from sam_app.core.jobs_ports import JobRecord, LogPage
from sdaws.contract.errors import InvalidInput
from sdaws.contract.job_log import untagged

MAX_LOG_LINE = 10_000
_CURSOR = re.compile(r"^(\d{1,15})\.(\d{1,9})$")
GROUPS = {
    "merge": "/aws/sagemaker/ProcessingJobs",
    "convert": "/aws/sagemaker/ProcessingJobs",
    "export": "/aws/sagemaker/ProcessingJobs",
    "train": "/aws/sagemaker/TrainingJobs",
}


def created_ms(job: JobRecord) -> int:
    """When the job was created, in CloudWatch's milliseconds (0 if the record has no time)."""
    try:
        return int(datetime.fromisoformat(job.created_at).timestamp() * 1000)
    except (TypeError, ValueError):
        return 0


def parse_cursor(cursor: str | None, start_ms: int = 0) -> tuple[int, int]:
    if cursor is None:
        return start_ms, 0
    match = _CURSOR.match(cursor)
    if not match:
        raise InvalidInput("cursor is not valid; pass next_cursor from the previous response unchanged")
    return int(match.group(1)), int(match.group(2))


class CloudWatchJobLogs:
    def __init__(self, logs_client, endpoint_name: str | None = None) -> None:
        self._logs = logs_client
        self._endpoint = endpoint_name

    def _where(self, job: JobRecord) -> dict:
        if job.kind in GROUPS:
            return {"logGroupName": GROUPS[job.kind], "logStreamNamePrefix": f"{sagemaker_job_name(job.job_id)}/"}
        endpoint = (job.launch or {}).get("endpoint") or self._endpoint
        return {"logGroupName": f"/aws/sagemaker/Endpoints/{endpoint}", "filterPattern": f'"{job.job_id}"'}

    def read(self, job: JobRecord, cursor: str | None, limit: int) -> LogPage:
        start, already_read = parse_cursor(cursor, created_ms(job))
        kwargs = dict(self._where(job), startTime=start)
        shared = job.kind not in GROUPS
        lines: list[str] = []
        last_ts, count_at_last = start, already_read
        to_skip = already_read
        try:
            while True:
                page = self._logs.filter_log_events(**kwargs)
                for event in page.get("events", []):
                    ts = event["timestamp"]
                    if ts == start and to_skip:
                        to_skip -= 1  # returned by the previous page
                        continue
                    if len(lines) >= limit:
                        return LogPage(lines, f"{last_ts}.{count_at_last}", False)
                    count_at_last = count_at_last + 1 if ts == last_ts else 1
                    last_ts = ts
                    line = event["message"].rstrip("\r\n")
                    if shared:
                        line = untagged(job.job_id, line)  # type: ignore[assignment]
                        if line is None:
                            continue  # mentions the id, but another request wrote it
                    lines.append(line[:MAX_LOG_LINE])
                if not page.get("nextToken"):
                    return LogPage(lines, f"{last_ts}.{count_at_last}", True)
                kwargs["nextToken"] = page["nextToken"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            return LogPage([], f"{start}.{already_read}", True)  # nothing logged yet
