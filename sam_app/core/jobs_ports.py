"""What the job service needs from the outside world; AWS and local adapters implement these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

# Fields a status write or a progress update may set besides the status itself.
MUTABLE_FIELDS = frozenset({"progress", "error", "updated_at", "started_at", "finished_at", "outputs", "launch"})


@dataclass
class JobInput:
    """One input the job reads from channel `channel` (input/data/<channel>/ in the job folder).

    `key` is a model-tree key (`Stable-diffusion/x.safetensors`), a converted
    folder (`diffusers/x`, `folder` true) or a job input (`job-inputs/<group>/<file>`,
    or the whole group `job-inputs/<group>` with `folder` true).
    """

    channel: str
    key: str
    folder: bool = False


@dataclass
class JobRecord:
    job_id: str
    kind: str
    name: str
    status: str
    params: dict  # as the client sent them (model refs in tree form)
    spec: dict  # what the job code reads as input/config/spec.json (refs → channel file names)
    inputs: list[JobInput]
    created_at: str  # ISO 8601, UTC
    updated_at: str
    started_at: str | None = None
    finished_at: str | None = None
    progress: dict | None = None  # {step, total, eta_s, message}
    error: str | None = None
    outputs: list[dict] = field(default_factory=list)  # [{type, name, key, size}]
    launch: dict = field(default_factory=dict)  # launcher's handle: local pid, SageMaker job name …

    def public(self) -> dict:
        """The `Job` the API returns."""
        return {
            "job_id": self.job_id,
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "params": self.params,
            "progress": self.progress,
            "error": self.error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "outputs": [{k: o.get(k) for k in ("type", "name", "key", "size")} for o in self.outputs],
        }

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["inputs"] = [dict(i.__dict__) for i in self.inputs]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> JobRecord:
        data = dict(data)
        data["inputs"] = [JobInput(**i) for i in data.get("inputs") or []]
        return cls(**data)


@dataclass(frozen=True)
class LogPage:
    lines: list[str]
    next_cursor: str
    at_end: bool  # nothing more to read right now
    writer_done: bool = True  # no line will be added later (the local runner has let go of the log)


class JobRecords(Protocol):
    def put_new(self, record: JobRecord) -> None:
        """Store a new job; raises if the id exists."""

    def get(self, job_id: str) -> JobRecord | None: ...

    def list(
        self, status: str | None, kind: str | None, limit: int, cursor: str | None
    ) -> tuple[list[JobRecord], str | None]:
        """Newest first, after job id `cursor`; returns (jobs, next cursor or None)."""

    def transition(self, job_id: str, expected_statuses: tuple[str, ...], new_status: str, **fields) -> bool:
        """Set status `new_status` (and `fields`) only if the status is one of `expected_statuses`.

        False when the job is missing or another writer got there first.
        """

    def update_progress(self, job_id: str, progress: dict, updated_at: str) -> bool:
        """Record progress while the job is active (STARTING/RUNNING); False otherwise."""


class JobLauncher(Protocol):
    def launch(self, job: JobRecord) -> None:
        """Start or queue the job; status updates flow back through JobRecords."""

    def cancel(self, job: JobRecord) -> None:
        """Stop the job's compute (best effort; the record is already CANCELLED)."""


class JobSecrets(Protocol):
    """Where a job's credential (an import's bearer token) waits for the job: beside its
    spec where only the job reads it (local: a 0600 file in the job's config folder;
    AWS: an object in the job's config/ prefix), never in the record, a log or argv."""

    def put(self, job_id: str, name: str, value: str) -> None: ...


class JobLogs(Protocol):
    def read(self, job: JobRecord, cursor: str | None, limit: int) -> LogPage: ...


class JobOutputs(Protocol):
    def list(self, job: JobRecord) -> list[dict]:
        """The job's outputs, each {type, name, key, size, url}; url None where not downloadable (folders)."""

    def download_url(self, key: str) -> str:
        """A URL that GETs the file at `key` (a job output or a file of the tree) for a while."""


class JobInputs(Protocol):
    """Files clients send for jobs (img2img images, training datasets), keyed `job-inputs/<group>/<file>`."""

    def upload_url(self, key: str, size: int, expires_s: int) -> str:
        """A URL the client PUTs exactly `size` bytes to."""

    def exists(self, key: str) -> bool: ...

    def list_group(self, group: str) -> list[str]:
        """Keys of the files in `job-inputs/<group>/`."""


class IdempotencyStore(Protocol):
    def run_once(self, key: str, payload: dict, create: Callable[[], dict]) -> tuple[dict, bool]:
        """Call `create` once per `key`; later calls with the same key return its saved result.

        Returns (result, created_now). Raises Conflict when the key was used with a
        different payload or its first call is still running.
        """
