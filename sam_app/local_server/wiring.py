"""Build the local services: folder tree, signed part URLs, SQLite."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from sam_app.adapters.clock import UtcClock
from sam_app.adapters.local.jobs_wiring import LocalJobs, build_local_jobs
from sam_app.adapters.local.multipart import LocalMultipart
from sam_app.adapters.local.signing import PartSigner
from sam_app.adapters.local.sqlite_db import SqliteDb, SqliteModelCatalog, SqliteUploadRecords
from sam_app.adapters.local.token import StaticTokenVerifier
from sam_app.adapters.local.tree_store import LocalTreeStore
from sam_app.core.models_service import ModelService
from sam_app.core.services import Services
from sam_app.core.uploads_service import UploadService

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024**3


def _signing_secret(data_dir: Path) -> bytes:
    path = data_dir / "part-signing.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def build_local_services(
    models_dir: Path,
    data_dir: Path,
    token: str,
    base_url: Callable[[], str],
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    part_size: int | None = None,
    max_local_jobs: int = 1,
    **job_options,
) -> tuple[Services, LocalMultipart, LocalJobs]:
    models_dir = Path(models_dir)
    data_dir = Path(data_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    tree = LocalTreeStore(models_dir)
    db = SqliteDb(data_dir / "sdaws.sqlite3")
    catalog = SqliteModelCatalog(db)
    signer = PartSigner(_signing_secret(data_dir))
    multipart = LocalMultipart(tree, data_dir / "uploads", signer, base_url)
    extra = {"part_size": part_size} if part_size else {}
    uploads = UploadService(tree, multipart, SqliteUploadRecords(db), catalog, UtcClock(), max_upload_bytes, **extra)
    services = Services(
        mode="local",
        models=ModelService(tree, catalog),
        uploads=uploads,
        tokens=StaticTokenVerifier(token),
    )
    jobs = build_local_jobs(models_dir, data_dir, db, tree, signer, base_url, UtcClock(), max_local_jobs, **job_options)
    services.jobs = jobs.service
    return services, multipart, jobs
