"""Where the local server keeps job files, and the signed URLs that reach them.

Keys map to folders: `job-inputs/…` and `job-outputs/…` live in the data dir (so
a WebUI models folder used as the tree never fills with job clutter); any other
key is a model-tree key under the models dir. URLs are signed with the same HMAC
secret as upload part URLs and bound to method, key and (for PUT) size, so a
download URL cannot be turned into an upload or pointed at another file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from sam_app.core.jobs_ports import JobRecord, LogPage
from sdaws.contract.errors import InvalidInput
from sdaws.contract.job_status import is_final
from sdaws.contract.model_tree import IMAGE_EXTENSIONS, JOB_INPUTS_PREFIX
from sdaws.contract.outputs import PREVIEWS_FOLDER, SAMPLES_FOLDER

from .signing import PartSigner

JOB_OUTPUTS_PREFIX = "job-outputs"
# Output folders a job fills while it runs; clients may fetch them before it ends.
LIVE_FOLDERS = (PREVIEWS_FOLDER, SAMPLES_FOLDER)
FILES_ROUTE = "/_files/"
DOWNLOAD_URL_SECONDS = 6 * 3600
MAX_LOG_LINE = 16_000
MAX_LOG_PAGE_BYTES = 4 * 1024 * 1024


class KeyPaths:
    def __init__(self, models_dir: Path, data_dir: Path) -> None:
        self.models_dir = Path(models_dir).resolve()
        self.data_dir = Path(data_dir).resolve()
        self.jobs_dir = self.data_dir / "jobs"  # each job's work folder; its output/ moves out when it ends

    def running_output(self, job_id: str, folder: str) -> Path:
        """Where a running job writes the files of one output folder (previews, samples)."""
        return self.jobs_dir / job_id / "output" / folder

    def readable(self, key: str) -> Path:
        """The file to read for `key`: a live output (a preview, a training sample) is read
        from the running job's folder until the job ends and its results move to the key."""
        path = self.path(key)
        parts = key.split("/")
        if path.exists() or parts[0] != JOB_OUTPUTS_PREFIX or len(parts) != 4 or parts[2] not in LIVE_FOLDERS:
            return path
        live = self.running_output(parts[1], parts[2]) / parts[3]
        return live if live.is_file() and not live.is_symlink() else path

    def path(self, key: str) -> Path:
        """The file or folder for `key`; ValueError when it would leave its root.

        Checked by name, not by resolving links: users keep model files as symlinks
        to other disks, and those must stay usable.
        """
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"key {key!r} is not a plain relative key")
        root = self.data_dir if parts[0] in (JOB_INPUTS_PREFIX, JOB_OUTPUTS_PREFIX) else self.models_dir
        return root.joinpath(*parts)


class KeySigner:
    def __init__(self, signer: PartSigner) -> None:
        self.signer = signer

    def query(self, method: str, key: str, size: int, expires_s: int) -> str:
        return self.signer.query(f"{method}:{size}:{key}", 0, expires_s) + f"&size={size}"

    def valid(self, method: str, key: str, query: dict[str, str]) -> bool:
        size = query.get("size", "")
        return size.isdigit() and self.signer.valid(
            f"{method}:{size}:{key}", 0, query.get("expires"), query.get("signature")
        )


class LocalJobFiles:
    """JobInputs and JobOutputs for the local server."""

    def __init__(self, paths: KeyPaths, signer: KeySigner, base_url: Callable[[], str]) -> None:
        self.paths = paths
        self.signer = signer
        self.base_url = base_url

    def url(self, method: str, key: str, size: int, expires_s: int) -> str:
        return f"{self.base_url()}{FILES_ROUTE}{quote(key)}?{self.signer.query(method, key, size, expires_s)}"

    # JobInputs
    def upload_url(self, key: str, size: int, expires_s: int) -> str:
        return self.url("PUT", key, size, expires_s)

    def exists(self, key: str) -> bool:
        return self.paths.path(key).is_file()

    def list_group(self, group: str) -> list[str]:
        folder = self.paths.path(f"{JOB_INPUTS_PREFIX}/{group}")
        if not folder.is_dir():
            return []
        return sorted(
            f"{JOB_INPUTS_PREFIX}/{group}/{p.name}"
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".")
        )

    # JobOutputs
    def list(self, job: JobRecord) -> list[dict]:
        listed = []
        for output in job.outputs if is_final(job.status) else self._live(job.job_id):
            path = self.paths.readable(output["key"])
            url = self.url("GET", output["key"], 0, DOWNLOAD_URL_SECONDS) if path.is_file() else None
            listed.append({k: output.get(k) for k in ("type", "name", "key", "size")} | {"url": url})
        return listed

    def download_url(self, key: str) -> str:
        return self.url("GET", key, 0, DOWNLOAD_URL_SECONDS)

    def _live(self, job_id: str) -> list[dict]:
        """A running job's previews and samples so far, under the keys they will keep."""
        live = []
        for folder in LIVE_FOLDERS:
            where = self.paths.running_output(job_id, folder)
            files = sorted(where.iterdir()) if where.is_dir() else []
            for file in files:  # an image being written has a .partial name until it is whole
                if file.suffix.lower() not in IMAGE_EXTENSIONS or not file.is_file() or file.is_symlink():
                    continue
                key = f"{JOB_OUTPUTS_PREFIX}/{job_id}/{folder}/{file.name}"
                live.append({"type": folder, "name": file.name, "key": key, "size": file.stat().st_size})
        return live


def writing_marker(log_path: Path) -> Path:
    """Present while the runner holds a job's log open: it may still add lines, even after the
    job's status is final (a cancel is decided first, then the process group stopped and noted)."""
    return log_path.with_name(log_path.name + ".writing")


class LocalJobLogs:
    """A job's log file, paged by byte offset; a partial last line waits until the job ends."""

    def __init__(self, jobs_dir: Path) -> None:
        self.jobs_dir = Path(jobs_dir)

    def log_path(self, job_id: str) -> Path:
        return self.jobs_dir / job_id / "job.log"

    def read(self, job: JobRecord, cursor: str | None, limit: int) -> LogPage:
        if cursor is not None and not cursor.isdigit():
            raise InvalidInput("cursor is not valid; pass next_cursor from the previous response unchanged")
        offset = int(cursor or 0)
        path = self.log_path(job.job_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return LogPage([], str(offset), True)
        if offset > size:
            raise InvalidInput("cursor is past the end of the log; pass next_cursor unchanged")
        lines: list[str] = []
        with open(path, "rb") as fh:
            fh.seek(offset)
            while len(lines) < limit and offset - int(cursor or 0) < MAX_LOG_PAGE_BYTES:
                raw = fh.readline()
                if not raw:
                    break
                if not raw.endswith(b"\n") and not is_final(job.status):
                    break  # still being written
                offset += len(raw)
                lines.append(raw.decode("utf-8", "replace").rstrip("\r\n")[:MAX_LOG_LINE])
        return LogPage(lines, str(offset), offset >= size, writer_done=not writing_marker(path).exists())


def tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def link_or_copy(src: Path, dest: Path) -> None:
    """Put `src` at `dest` without copying bytes where the platform allows (symlink)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(src, dest, target_is_directory=src.is_dir())
    except OSError:
        if src.is_dir():
            shutil.copytree(src, dest)
        else:
            shutil.copy2(src, dest)
