"""JobSecrets on local disk: the credential waits as a 0600 file in the job's own config
folder (jobs/<id>/input/config/<name>), where the import job reads it; the runner removes
it when the job ends. The data dir itself is the user's only (0700)."""

from __future__ import annotations

import os
from pathlib import Path

from sdaws.contract.import_spec import TOKEN_FILE_NAME

SECRET_FILES = (TOKEN_FILE_NAME,)


def secrets_dir(jobs_dir: Path, job_id: str) -> Path:
    return jobs_dir / job_id / "input" / "config"


class LocalJobSecrets:
    def __init__(self, jobs_dir: Path) -> None:
        self.jobs_dir = jobs_dir

    def put(self, job_id: str, name: str, value: str) -> None:
        if name not in SECRET_FILES:
            raise ValueError(f"{name!r} is not a job secret")
        folder = secrets_dir(self.jobs_dir, job_id)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value)


def discard_secrets(jobs_dir: Path, job_id: str) -> None:
    for name in SECRET_FILES:
        (secrets_dir(jobs_dir, job_id) / name).unlink(missing_ok=True)
