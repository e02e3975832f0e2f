"""Jobs: submit (idempotently), list, inspect, follow logs, fetch outputs, cancel.

The service owns the rules — params validated per kind with the job code's own
pydantic specs, references resolved and checked, status moving only forward —
and leaves the compute to a JobLauncher (a local subprocess runner or SageMaker).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid

from sdaws.contract import job_status as st
from sdaws.contract.errors import Conflict, InvalidInput, NotFound
from sdaws.contract.import_spec import KIND as IMPORT_KIND
from sdaws.contract.import_spec import TOKEN_FILE_NAME
from sdaws.contract.model_tree import JOB_INPUTS_PREFIX
from sdaws.contract.specs import SPECS

from .job_params import JobParams
from .job_refs import check_group, check_input_filename
from .jobs_ports import (
    IdempotencyStore,
    JobInputs,
    JobLauncher,
    JobLogs,
    JobOutputs,
    JobRecord,
    JobRecords,
    JobSecrets,
)
from .ports import Clock, ObjectStore

DEFAULT_PAGE = 50
MAX_PAGE = 200
DEFAULT_LOG_LINES = 500
MAX_LOG_LINES = 5000
MAX_INPUT_BYTES = 2 * 1024**3
INPUT_URL_SECONDS = 3600
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


_last_id = [0, 0]  # (millisecond, random part) of the newest id made by this process
_id_lock = threading.Lock()


def new_job_id() -> str:
    """32 hex digits that sort by creation time, so newest-first is id order.

    Like a monotonic ULID: ids made in the same millisecond increment the random part
    instead of drawing a new one, so they still sort in the order they were made.
    """
    with _id_lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_id[0]:
            ms, random_part = _last_id[0], _last_id[1] + 1
        else:
            random_part = secrets.randbits(79)  # headroom so increments never overflow 80 bits
        _last_id[:] = [ms, random_part]
    return f"{ms:012x}{random_part:020x}"


def advance_job(records: JobRecords, now: str, job_id: str, new_status: str, **fields) -> bool:
    """Move a job forward to `new_status`, stamping times; False when it is already there or beyond."""
    fields.setdefault("updated_at", now)
    if new_status == st.RUNNING:
        fields.setdefault("started_at", now)
    if st.is_final(new_status):
        fields.setdefault("finished_at", now)
    return records.transition(job_id, st.predecessors(new_status), new_status, **fields)


def _default_name(kind: str, params: dict) -> str:
    """What a jobs table shows when the client gave no name: the result's name, else the prompt."""
    for field in ("output_name", "prompt"):
        value = params.get(field)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:60]
    return kind


class JobsService:
    def __init__(
        self,
        records: JobRecords,
        launcher: JobLauncher,
        logs: JobLogs,
        outputs: JobOutputs,
        inputs: JobInputs,
        idempotency: IdempotencyStore,
        store: ObjectStore,
        clock: Clock,
        max_input_bytes: int = MAX_INPUT_BYTES,
        secrets: JobSecrets | None = None,
    ) -> None:
        self.secrets = secrets
        self.records = records
        self.launcher = launcher
        self.logs = logs
        self.outputs = outputs
        self.inputs = inputs
        self.idempotency = idempotency
        self.clock = clock
        self.job_params = JobParams(store, inputs)
        self.max_input_bytes = max_input_bytes

    def _now(self) -> str:
        return self.clock.now().isoformat()

    # -- submit ------------------------------------------------------------------
    def _create(self, kind: str, params: dict, name: str | None, secret: str | None = None) -> JobRecord:
        spec, inputs = self.job_params.validate(kind, params)
        if secret is not None and (kind != IMPORT_KIND or self.secrets is None):
            raise InvalidInput(
                "only an import takes a token" if kind != IMPORT_KIND else "this deployment cannot pass tokens"
            )
        now = self._now()
        record = JobRecord(
            job_id=new_job_id(),
            kind=kind,
            name=(name or _default_name(kind, params))[:100],
            status=st.QUEUED,
            params=params,
            spec=spec,
            inputs=inputs,
            created_at=now,
            updated_at=now,
        )
        self.records.put_new(record)
        try:
            if secret is not None and self.secrets is not None:
                self.secrets.put(record.job_id, TOKEN_FILE_NAME, secret)  # before the job can start
            self.launcher.launch(record)
        except Exception as exc:
            # The job exists; record why it never ran rather than leave it QUEUED forever.
            self.advance(record.job_id, st.FAILED, error=f"could not start the job: {exc}")
            raise
        return record

    def submit(
        self,
        kind: str,
        params: dict,
        name: str | None = None,
        idempotency_key: str | None = None,
        secret: str | None = None,
    ) -> tuple[dict, bool]:
        """Returns (job, created): a retried submission with the same key returns the first job.
        `secret` (an import's token) goes to JobSecrets only: never into params or the record."""
        if idempotency_key is None:
            return self._create(kind, params, name, secret).public(), True
        if not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise InvalidInput("Idempotency-Key must be 1-128 printable ASCII characters without spaces")
        payload = {"kind": kind, "params": params, "name": name}
        result, created = self.idempotency.run_once(
            idempotency_key, payload, lambda: {"job_id": self._create(kind, params, name, secret).job_id}
        )
        return self.get(result["job_id"]), created

    # -- read --------------------------------------------------------------------
    def _record(self, job_id: str) -> JobRecord:
        record = self.records.get(job_id) if isinstance(job_id, str) and _JOB_ID.match(job_id) else None
        if record is None:
            raise NotFound(f"no job {job_id!r}; GET /jobs lists them")
        return record

    def get(self, job_id: str) -> dict:
        return self._record(job_id).public()

    def list(
        self, status: str | None = None, kind: str | None = None, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> dict:
        if status is not None and status not in st.STATUSES:
            raise InvalidInput(f"status {status!r} is not one of {', '.join(st.STATUSES)}")
        if kind is not None and kind not in SPECS:
            raise InvalidInput(f"kind {kind!r} is not one of {', '.join(SPECS)}")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
        if cursor is not None and not _JOB_ID.match(cursor):
            raise InvalidInput("cursor is not valid; pass next_cursor from the previous page unchanged")
        jobs, next_cursor = self.records.list(status, kind, limit, cursor)
        return {"jobs": [j.public() for j in jobs], "next_cursor": next_cursor}

    def read_logs(self, job_id: str, cursor: str | None = None, limit: int = DEFAULT_LOG_LINES) -> dict:
        if not 1 <= limit <= MAX_LOG_LINES:
            raise InvalidInput(f"limit must be between 1 and {MAX_LOG_LINES}")
        job = self._record(job_id)
        # Status first: every line is written before the final status, so final + at end = complete.
        final = st.is_final(job.status)
        page = self.logs.read(job, cursor, limit)
        # The record rides along, so a viewer following a job asks one request a poll.
        return {
            "lines": page.lines,
            "next_cursor": page.next_cursor,
            "at_end": page.at_end,
            "complete": final and page.at_end and page.writer_done,
            "job": job.public(),
        }

    def list_outputs(self, job_id: str) -> dict:
        return {"outputs": self.outputs.list(self._record(job_id))}

    def download_url(self, key: str) -> str:
        """A URL for the file at `key` (a model's preview, say), signed as output URLs are."""
        return self.outputs.download_url(key)

    # -- change ------------------------------------------------------------------
    def advance(self, job_id: str, new_status: str, **fields) -> bool:
        return advance_job(self.records, self._now(), job_id, new_status, **fields)

    def report_progress(self, job_id: str, progress: dict) -> bool:
        return self.records.update_progress(job_id, progress, self._now())

    def cancel(self, job_id: str) -> dict:
        job = self._record(job_id)
        if not st.is_final(job.status) and self.advance(job.job_id, st.CANCELLED):
            self.launcher.cancel(job)
            return self.get(job_id)
        current = self._record(job_id)
        raise Conflict(f"job {job_id} is already {current.status}; only queued or running jobs can be cancelled")

    def create_input(self, filename: str, size: int, group: str | None = None) -> dict:
        group = check_group(group) if group is not None else uuid.uuid4().hex
        check_input_filename(filename)
        if not 0 < size <= self.max_input_bytes:
            raise InvalidInput(f"size must be between 1 and {self.max_input_bytes} bytes")
        key = f"{JOB_INPUTS_PREFIX}/{group}/{filename}"
        return {
            "key": key,
            "group": group,
            "url": self.inputs.upload_url(key, size, INPUT_URL_SECONDS),
            "method": "PUT",
        }
