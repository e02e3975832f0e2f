"""Jobs: submit (idempotently), list, inspect, follow logs, fetch outputs, cancel.

The service owns the rules — params validated per kind with the job code's own
pydantic specs, references resolved and checked, status moving only forward —
and leaves the compute to a JobLauncher (a local subprocess runner or SageMaker).
"""

from __future__ import annotations

import copy
import re
import secrets
import time
import uuid

from pydantic import ValidationError
from sdaws_jobs.specs import SPECS

from . import job_status as st
from .errors import Conflict, InvalidInput, NotFound
from .job_refs import JOB_INPUTS_PREFIX, InvalidParams, Ref, RefResolver, check_group, check_input_filename
from .jobs_ports import IdempotencyStore, JobInputs, JobLauncher, JobLogs, JobOutputs, JobRecord, JobRecords
from .model_tree import CONVERTED_PREFIX, REQUIRED_TYPE
from .ports import Clock, ObjectStore

DEFAULT_PAGE = 50
MAX_PAGE = 200
DEFAULT_LOG_LINES = 500
MAX_LOG_LINES = 5000
MAX_INPUT_BYTES = 2 * 1024**3
INPUT_URL_SECONDS = 3600
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
# Reference fields a spec names by plain file name; masked while checking the rest of the params.
_REF_FIELDS = {
    "txt2img": ("model", "vae"),
    "img2img": ("model", "vae", "init_image"),
    "train": ("base_model",),
    "merge": ("model_a", "model_b", "model_c"),
    "convert": ("model",),
    "export": ("model",),
}
# Params the API takes that are not spec fields: they only say what to stage.
_API_ONLY = {"train": ("dataset",)}


def new_job_id() -> str:
    """32 hex digits that sort by creation time, so newest-first is id order."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def advance_job(records: JobRecords, now: str, job_id: str, new_status: str, **fields) -> bool:
    """Move a job forward to `new_status`, stamping times; False when it is already there or beyond."""
    fields.setdefault("updated_at", now)
    if new_status == st.RUNNING:
        fields.setdefault("started_at", now)
    if st.is_final(new_status):
        fields.setdefault("finished_at", now)
    return records.transition(job_id, st.predecessors(new_status), new_status, **fields)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:8]:
        where = ".".join(str(p) for p in ("params", *err.get("loc", ())))
        parts.append(f"{where}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


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
    ) -> None:
        self.records = records
        self.launcher = launcher
        self.logs = logs
        self.outputs = outputs
        self.inputs = inputs
        self.idempotency = idempotency
        self.store = store
        self.clock = clock
        self.refs = RefResolver(store, inputs)
        self.max_input_bytes = max_input_bytes

    def _now(self) -> str:
        return self.clock.now().isoformat()

    # -- params ------------------------------------------------------------------
    @staticmethod
    def _check_spec(kind: str, spec: dict) -> None:
        try:
            SPECS[kind].model_validate(spec)
        except ValidationError as exc:
            raise InvalidParams(_describe(exc)) from None

    def _masked(self, kind: str, params: dict) -> dict:
        """Params with references replaced by a valid plain name: the spec checks everything else first."""
        masked = copy.deepcopy(params)
        for name in _REF_FIELDS[kind]:
            if isinstance(masked.get(name), str) and masked[name].strip():
                masked[name] = "ref"
        for lora in masked.get("loras") or []:
            if isinstance(lora, dict) and isinstance(lora.get("name"), str) and lora["name"].strip():
                lora["name"] = "ref"
        for name in _API_ONLY.get(kind, ()):
            if name not in SPECS[kind].model_fields:
                masked.pop(name, None)
        return masked

    def _resolve(self, kind: str, params: dict) -> tuple[dict, list]:
        spec = copy.deepcopy(params)
        inputs = []

        def take(ref: Ref) -> str:
            if ref.input is not None:
                inputs.append(ref.input)
            return ref.spec_value

        r = self.refs
        if kind in ("txt2img", "img2img"):
            spec["model"] = take(r.model(params.get("model"), "model", "model", REQUIRED_TYPE))
            if params.get("vae") is not None:
                spec["vae"] = take(r.model(params["vae"], "vae", "vae", "VAE", converted=False))
            for i, lora in enumerate(params.get("loras") or []):
                spec["loras"][i]["name"] = take(r.model(lora.get("name"), f"loras.{i}.name", "lora", "Lora", converted=False))
            if kind == "img2img":
                spec["init_image"] = take(r.input_file(params.get("init_image"), "init_image", "init_image"))
        elif kind == "train":
            spec["base_model"] = take(r.model(params.get("base_model"), "base_model", "model", REQUIRED_TYPE, hub=True))
            group = take(r.input_group(params.get("dataset"), "dataset", "dataset"))
            if "dataset" in SPECS[kind].model_fields:
                spec["dataset"] = group
            else:
                spec.pop("dataset", None)
        elif kind == "merge":
            for name in ("model_a", "model_b", "model_c"):
                if params.get(name) is not None:
                    spec[name] = take(r.model(params[name], name, name, REQUIRED_TYPE))
        elif kind == "convert":
            spec["model"] = take(r.model(params.get("model"), "model", "model", REQUIRED_TYPE, converted=False))
        elif kind == "export":
            value = params.get("model")
            if isinstance(value, str) and value.lower().endswith((".safetensors", ".ckpt")):
                raise InvalidParams("params.model: export takes a converted model (diffusers/<name>); convert the file first")
            spec["model"] = take(r.model(value, "model", "model", REQUIRED_TYPE))
        return spec, inputs

    def _planned_outputs(self, kind: str, spec: dict) -> list[str]:
        name = spec.get("output_name")
        if not name:
            return []
        if kind == "convert":
            return [f"{CONVERTED_PREFIX}/{name}/model_index.json"]
        # DreamBooth trains a whole model, which lands beside the checkpoints.
        train_folder = "Lora" if spec.get("kind", "lora") == "lora" else REQUIRED_TYPE
        folder = {"merge": REQUIRED_TYPE, "export": REQUIRED_TYPE, "train": train_folder}.get(kind)
        if folder is None:
            return []
        if name.lower().endswith((".safetensors", ".ckpt")):
            return [f"{folder}/{name}"]
        return [f"{folder}/{name}.safetensors", f"{folder}/{name}"]

    def validate(self, kind: str, params: dict) -> tuple[dict, list]:
        """Check params for `kind`; returns (spec for the job code, inputs to stage)."""
        if kind not in SPECS:
            raise InvalidParams(f"kind {kind!r} is not a job kind; one of {', '.join(SPECS)}")
        if not isinstance(params, dict):
            raise InvalidParams("params must be a JSON object")
        self._check_spec(kind, self._masked(kind, params))
        spec, inputs = self._resolve(kind, params)
        self._check_spec(kind, spec)
        for key in self._planned_outputs(kind, spec):
            if self.store.head(key) is not None:
                raise Conflict(f"{key.removesuffix('/model_index.json')} already exists; choose another output_name or delete it")
        return spec, inputs

    # -- submit ------------------------------------------------------------------
    def _create(self, kind: str, params: dict, name: str | None) -> JobRecord:
        spec, inputs = self.validate(kind, params)
        now = self._now()
        record = JobRecord(
            job_id=new_job_id(),
            kind=kind,
            name=(name or params.get("output_name") or kind)[:100],
            status=st.QUEUED,
            params=params,
            spec=spec,
            inputs=inputs,
            created_at=now,
            updated_at=now,
        )
        self.records.put_new(record)
        try:
            self.launcher.launch(record)
        except Exception as exc:
            # The job exists; record why it never ran rather than leave it QUEUED forever.
            self.advance(record.job_id, st.FAILED, error=f"could not start the job: {exc}")
            raise
        return record

    def submit(self, kind: str, params: dict, name: str | None = None, idempotency_key: str | None = None) -> tuple[dict, bool]:
        """Returns (job, created): a retried submission with the same key returns the first job."""
        if idempotency_key is None:
            return self._create(kind, params, name).public(), True
        if not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise InvalidInput("Idempotency-Key must be 1-128 printable ASCII characters without spaces")
        payload = {"kind": kind, "params": params, "name": name}
        result, created = self.idempotency.run_once(
            idempotency_key, payload, lambda: {"job_id": self._create(kind, params, name).job_id}
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

    def list(self, status: str | None = None, kind: str | None = None, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict:
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
        return {"lines": page.lines, "next_cursor": page.next_cursor, "complete": final and page.at_end}

    def list_outputs(self, job_id: str) -> dict:
        return {"outputs": self.outputs.list(self._record(job_id))}

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
        return {"key": key, "group": group, "url": self.inputs.upload_url(key, size, INPUT_URL_SECONDS), "method": "PUT"}
