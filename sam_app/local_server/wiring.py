"""Build the local services: folder tree, signed part URLs, SQLite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sam_app.adapters.clock import UtcClock
from sam_app.adapters.local.catalog_index import SqliteCatalogIndex
from sam_app.adapters.local.hasher import BackgroundHasher
from sam_app.adapters.local.job_files import KeyPaths
from sam_app.adapters.local.jobs_wiring import LocalJobs, build_local_jobs
from sam_app.adapters.local.multipart import LocalMultipart
from sam_app.adapters.local.sidecar_files import LocalSidecarFiles
from sam_app.adapters.local.signing import PartSigner, load_or_create_key
from sam_app.adapters.local.sqlite_db import SqliteDb, SqliteModelCatalog, SqliteUploadRecords
from sam_app.adapters.local.token import StaticTokenVerifier
from sam_app.adapters.local.tree_store import LocalTreeStore
from sam_app.adapters.local.upload_sweeper import UploadSweeper
from sam_app.core.catalog_service import CatalogService
from sam_app.core.models_service import ModelService
from sam_app.core.services import Services
from sam_app.core.uploads_service import UploadService

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024**3


def build_local_services(
    models_dir: Path,
    data_dir: Path,
    token: str,
    base_url: Callable[[], str],
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    part_size: int | None = None,
    max_local_jobs: int = 1,
    **job_options,
) -> tuple[Services, LocalMultipart, LocalJobs, UploadSweeper]:
    models_dir = Path(models_dir)
    data_dir = Path(data_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # keys, SQLite and uploads in flight: the user's only
    tree = LocalTreeStore(models_dir)
    db = SqliteDb(data_dir / "sdaws.sqlite3")
    catalog = SqliteModelCatalog(db)
    signer = PartSigner(load_or_create_key(data_dir))
    clock = UtcClock()  # one clock for every part, so a test can move time for all of them
    records = SqliteUploadRecords(db)
    multipart = LocalMultipart(tree, data_dir / "uploads", signer, base_url, records.by_storage_id, clock)
    records.on_final = lambda record: multipart.discard(record.storage_upload_id)
    extra = {"part_size": part_size} if part_size else {}
    uploads = UploadService(tree, multipart, records, catalog, clock, max_upload_bytes, **extra)
    services = Services(
        mode="local",
        models=ModelService(tree, catalog),
        uploads=uploads,
        tokens=StaticTokenVerifier(token),
    )
    sweeper = UploadSweeper(records, multipart, catalog, clock, models_dir, data_dir)
    jobs = build_local_jobs(models_dir, data_dir, db, tree, signer, base_url, clock, max_local_jobs, **job_options)
    services.jobs = jobs.service
    # Sidecars are read by key: tree keys beside the models, and job-outputs/ keys for
    # "use as preview" on a generated image.
    services.catalog = CatalogService(
        tree,
        catalog,
        SqliteCatalogIndex(db),
        LocalSidecarFiles(KeyPaths(models_dir, data_dir).path),
        BackgroundHasher(tree, catalog),
        jobs.service.records,
    )
    return services, multipart, jobs, sweeper
