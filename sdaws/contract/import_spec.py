"""Server-side imports: the spec of an `import` job, what a source may be, the name the
result gets, and how a secret reaches the job without entering any record.

A source is one of
    https://host/path…            one file (Range-resumed, redirects followed); plain
                                  http only to the loopback (a mirror on this machine)
    org/repo                      a whole diffusers folder from Hugging Face
    org/repo:sub/folder           a diffusers folder inside the repo
    org/repo:path/file.safetensors  one file from the repo
The result lands at <type>/<name> (a tree folder), or diffusers/<name>/ for a folder.

Secrets (a Civitai API key, a Hugging Face token) are never part of the spec, which is
the job record: the launcher hands them to the job as the file TOKEN_FILE_NAME in the
job's input/config/ (mode 0600, deleted with the job's inputs) or the environment
variable TOKEN_ENV; a Hugging Face job also honours HF_TOKEN / HF_API_TOKEN. A URL
carrying a credential in its query or user-info is refused, so none is recorded.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .errors import InvalidInput
from .model_tree import (
    CONVERTED_PREFIX,
    EXTENSIONS,
    MAX_NAME_LENGTH,
    canonical_type,
    is_plain_name,
    normalize_upload_name,
)

KIND = "import"
TOKEN_ENV = "SDAWS_IMPORT_TOKEN"
TOKEN_FILE_NAME = "import_token"  # in the job's input/config/
HF_TOKEN_ENVS = ("HF_TOKEN", "HF_API_TOKEN")
# When set (s3://bucket), the job streams the result into an S3 multipart upload at its
# tree key instead of writing output/ (AWS: never through local disk or Lambda).
DESTINATION_ENV = "SDAWS_IMPORT_DESTINATION"
# AWS: what the import stored ({key, type, name, size, sha256}), in the job's output/.
MANIFEST_FILE = "import.json"
MAX_SOURCE_LENGTH = 2048
# Query parameters that are credentials: a URL holding one would put it in the job record.
SECRET_QUERY_KEYS = frozenset({"token", "api_key", "apikey", "access_token", "password", "secret"})
# Parameters of presigned URLs: not a long-lived secret, but not for logs either.
REDACTED_QUERY_KEYS = SECRET_QUERY_KEYS | {
    "key",
    "auth",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "signature",
    "sig",
    "se",
    "sv",
}
_REPO = re.compile(r"^(?P<repo>[\w.\-]+/[\w.\-]+)(?::(?P<path>[\w.\-/ ]+))?$")
_LOOPBACK_NAMES = {"localhost"}


@dataclass(frozen=True)
class ImportSource:
    kind: Literal["https", "hub"]
    url: str | None = None  # https
    repo_id: str | None = None  # hub
    path: str | None = None  # hub: file or subfolder inside the repo

    @property
    def is_file(self) -> bool:
        """One file (https, or a hub path ending in a model extension) vs a diffusers folder."""
        if self.kind == "https":
            return True
        return self.path is not None and self.path.lower().endswith(EXTENSIONS)

    @property
    def suggested_name(self) -> str | None:
        if self.kind == "https":
            tail = urlsplit(self.url or "").path.rstrip("/").rsplit("/", 1)[-1]
            return tail or None
        if self.path:
            return self.path.rstrip("/").rsplit("/", 1)[-1]
        return (self.repo_id or "").rsplit("/", 1)[-1] or None


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_source(source: str) -> ImportSource:
    """What `source` names, or InvalidInput saying what a source may be."""
    text = (source or "").strip()
    if not text:
        raise InvalidInput("source is empty; give an https:// URL or a Hugging Face repo id (org/name[:path])")
    if len(text) > MAX_SOURCE_LENGTH:
        raise InvalidInput(f"source is {len(text)} characters; at most {MAX_SOURCE_LENGTH}")
    if "://" in text:
        parts = urlsplit(text)
        scheme, host = parts.scheme.lower(), parts.hostname or ""
        if scheme not in ("https", "http") or not host:
            raise InvalidInput(f"source {redact_url(text)!r} is not an https:// URL")
        if scheme == "http" and not _is_loopback(host):
            raise InvalidInput("plain http:// is only allowed to this machine (localhost); use https://")
        if parts.username or parts.password:
            raise InvalidInput("the URL holds a user name or password; pass the credential as the import's token")
        secrets = sorted(
            {k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if k.lower() in SECRET_QUERY_KEYS}
        )
        if secrets:
            raise InvalidInput(
                f"the URL carries a credential in {', '.join(secrets)}=; remove it and pass it as the import's "
                "token (--token), which is kept out of the job record and logs"
            )
        if any(ord(c) < 33 for c in text):
            raise InvalidInput("the URL contains spaces or control characters; percent-encode them")
        return ImportSource("https", url=text)
    match = _REPO.match(text)
    if not match or ".." in text or "//" in text:
        raise InvalidInput(
            f"source {text!r} is neither an https:// URL nor a Hugging Face repo id (org/name, org/name:sub/folder, "
            "org/name:file.safetensors)"
        )
    path = (match.group("path") or "").strip("/") or None
    return ImportSource("hub", repo_id=match.group("repo"), path=path)


def redact_url(url: str) -> str:
    """The URL as logs and progress lines may show it: credentials and signatures hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    query = "&".join(
        f"{quote(k)}={'***' if k.lower() in REDACTED_QUERY_KEYS else quote(v)}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def import_destination_folder(model_type: str) -> str:
    """The tree folder of an import: a model folder, or the converted prefix for a folder."""
    if (model_type or "").strip().lower() == CONVERTED_PREFIX:
        return CONVERTED_PREFIX
    return canonical_type(model_type)


def result_name(spec: ImportSpec, suggested: str | None) -> str:
    """The name the import's result has in its folder: the spec's name, else what the
    source suggests (Content-Disposition, the URL's or repo path's last part), checked by
    the tree's rules (a file without extension gets .ckpt, as for uploads)."""
    source = parse_source(spec.source)
    chosen = spec.name or suggested
    if not chosen:
        raise InvalidInput("the source suggests no file name; pass name")
    if source.is_file:
        return normalize_upload_name(chosen)
    folder = chosen.removesuffix("/")
    if not is_plain_name(folder):
        raise InvalidInput(f"{folder!r} is not a plain folder name; pass name")
    return folder


def _check_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ValueError("expected_sha256 must be 64 hexadecimal digits")
    return text


def _check_source(value: str) -> str:
    parse_source(value)  # InvalidInput is a ValueError: pydantic reports it on the field
    return value.strip()


def _check_type(value: str) -> str:
    return import_destination_folder(value)


class ImportSpec(BaseModel):
    """POST /imports {source, type, name?} and the `import` job's spec."""

    model_config = ConfigDict(extra="forbid")

    source: Annotated[str, Field(min_length=1, max_length=MAX_SOURCE_LENGTH), AfterValidator(_check_source)]
    type: Annotated[str, AfterValidator(_check_type)] = Field(
        description="tree folder of the result (Lora, Stable-diffusion, …) or 'diffusers' for a folder"
    )
    name: Annotated[str | None, Field(max_length=MAX_NAME_LENGTH)] = Field(
        None, description="file (or folder) name in the tree; default: what the source says"
    )
    expected_sha256: Annotated[str | None, AfterValidator(_check_sha256)] = Field(
        None, description="the import fails, leaving nothing, unless the bytes have this sha256"
    )
    revision: Annotated[str | None, Field(max_length=200, pattern=r"^[\w.\-/]+$")] = Field(
        None, description="Hugging Face branch, tag or commit (default main)"
    )
    overwrite: bool = False

    @model_validator(mode="after")
    def _source_fits_type(self) -> ImportSpec:
        source = parse_source(self.source)
        if source.is_file and self.type == CONVERTED_PREFIX:
            raise ValueError("a single file goes into a model folder (Stable-diffusion, Lora, …), not diffusers")
        if not source.is_file and self.type != CONVERTED_PREFIX:
            raise ValueError(
                f"{self.source!r} is a whole diffusers folder: use type diffusers, or name one file "
                "(org/name:path/file.safetensors)"
            )
        if source.kind == "https" and self.revision:
            raise ValueError("revision applies to Hugging Face sources only")
        if not source.is_file and self.expected_sha256:
            raise ValueError("expected_sha256 applies to a single file, not a folder")
        if self.name is not None:
            if source.is_file:
                normalize_upload_name(self.name)
            elif not is_plain_name(self.name):
                raise ValueError(f"{self.name!r} is not a plain folder name")
        return self
