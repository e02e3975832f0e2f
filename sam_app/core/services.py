"""The bundle of services an API app serves; built by the AWS or the local wiring."""

from __future__ import annotations

from dataclasses import dataclass

from .catalog_service import CatalogService
from .endpoints import EndpointManager
from .jobs_service import JobsService
from .models_service import ModelService
from .ports import TokenVerifier
from .uploads_service import UploadService


@dataclass
class Services:
    mode: str  # "aws" | "local"
    models: ModelService
    uploads: UploadService
    tokens: TokenVerifier
    jobs: JobsService | None = None  # None where no job compute is configured
    endpoints: EndpointManager | None = None  # None: the local endpoint (see core/endpoints.py)
    catalog: CatalogService | None = None  # hashes, sidecars, search; None only in a bare test bundle
