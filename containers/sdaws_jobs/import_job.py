"""The `import` job: bring a model from an https URL or Hugging Face to where it will live,
so multi-GB files never go through the user's own link.

    spec (sdaws.contract.import_spec.ImportSpec): {source, type, name?, expected_sha256?,
          revision?, overwrite?}
    token: input/config/import_token or $SDAWS_IMPORT_TOKEN (https), plus HF_TOKEN /
          HF_API_TOKEN (Hugging Face); never in the spec, argv, a log line or an event
    local runner: the result is written to output/<type>/<name> (output/diffusers/<name>/),
          which the runner moves into the tree like every job's result
    AWS ($SDAWS_IMPORT_DESTINATION=s3://bucket): streamed into a multipart upload at the
          tree key itself, completed only once the sha256 is checked (no local disk, no
          Lambda in the path)

Progress events carry bytes, total, rate and ETA; the output event carries the sha256.
A failed or cancelled import leaves nothing behind: not a partial file, not an upload.

Run as every job: `python -m sdaws_jobs import --workdir DIR`.
"""

from __future__ import annotations

import json
import os
import sys

from sdaws.contract.import_spec import (
    DESTINATION_ENV,
    KIND,
    MANIFEST_FILE,
    ImportSource,
    ImportSpec,
    parse_source,
    redact_url,
    result_name,
)
from sdaws.contract.model_tree import CONVERTED_PREFIX

from . import progress
from .errors import SpecError
from .imports.http_fetch import HttpFetch
from .imports.hub_fetch import cached_file, cached_folder, copy_into, folder_files
from .imports.meter import ByteMeter
from .imports.secrets import hub_token, import_token, scrub
from .imports.sinks import FileSink, LocalFolderSink, S3FolderSink, S3Sink, Sink
from .layout import Layout


def _log(text: str) -> None:
    print(f"[import] {text}", file=sys.stderr, flush=True)


def _bucket() -> str | None:
    destination = (os.environ.get(DESTINATION_ENV) or "").strip()
    if not destination:
        return None
    if not destination.startswith("s3://") or "/" in destination[5:].strip("/"):
        raise SpecError(f"{DESTINATION_ENV} must be s3://<bucket>, not {destination!r}")
    return destination[5:].strip("/")


def _s3():
    import boto3  # the AWS path only; the local runner never needs it

    return boto3.client("s3")


class _Target:
    """Where the result goes: output/ for the local runner, the bucket on AWS."""

    def __init__(self, layout: Layout, spec: ImportSpec) -> None:
        self.layout, self.spec = layout, spec
        self.bucket = _bucket()
        self.client = _s3() if self.bucket else None

    def file(self, folder: str, name: str) -> Sink:
        if self.bucket:
            return S3Sink(self.client, self.bucket, f"{folder}/{name}", overwrite=self.spec.overwrite)
        return FileSink(self.layout.output_dir / folder / name, f"{folder}/{name}")

    def folder(self, name: str) -> LocalFolderSink | S3FolderSink:
        if self.bucket:
            return S3FolderSink(self.client, self.bucket, f"{CONVERTED_PREFIX}/{name}", overwrite=self.spec.overwrite)
        return LocalFolderSink(self.layout.output_dir, CONVERTED_PREFIX, name)

    def stored(self, where: str) -> str | None:
        return f"s3://{self.bucket}/{where}" if self.bucket else None

    def manifest(self, where: str, folder: str, name: str, size: int, sha256: str | None) -> None:
        """AWS: what was stored, as output/import.json (the processing job uploads output/
        to jobs/<id>/output/, where the job's outputs are discovered: the name may come
        from the server's Content-Disposition, so only the job knows it)."""
        if self.bucket:
            record = {"key": where, "type": folder, "name": name, "size": size, "sha256": sha256}
            self.layout.output_path(MANIFEST_FILE).write_text(json.dumps(record), encoding="utf-8")


def _verify(spec: ImportSpec, sha256: str, sink: Sink) -> None:
    if spec.expected_sha256 and sha256 != spec.expected_sha256:
        sink.abort()
        raise SpecError(
            f"the downloaded bytes have sha256 {sha256}, not the expected {spec.expected_sha256}; nothing was kept"
        )


def _finish(target: _Target, folder: str, name: str, sink: Sink, sha256: str, size: int, source: str) -> None:
    try:
        sink.commit()
    except BaseException:  # a cancel or a failed complete: nothing may stay half-made
        sink.abort()
        raise
    _log(f"stored {sink.where} ({size} bytes, sha256 {sha256})")
    extra = {"stored": target.stored(sink.where)} if target.bucket else {}
    target.manifest(sink.where, folder, name, size, sha256)
    progress.output(sink.where, folder, name, sha256=sha256, size=size, source=source, **extra)


def _import_https(spec: ImportSpec, source: ImportSource, layout: Layout, target: _Target) -> None:
    token = import_token(layout.input_dir / "config")
    fetcher = HttpFetch(source.url or "", token, log=_log)
    chosen: dict[str, str] = {}

    def make_sink(suggested: str | None) -> Sink:
        chosen["name"] = result_name(spec, suggested)
        _log(f"importing {redact_url(source.url or '')} as {spec.type}/{chosen['name']}")
        return target.file(spec.type, chosen["name"])

    fetched, sink = fetcher.fetch(make_sink, label=f"downloading {spec.name or source.suggested_name or 'file'}")
    _verify(spec, fetched.sha256, sink)
    _finish(target, spec.type, chosen["name"], sink, fetched.sha256, fetched.size, fetched.final_url)


def _import_hub_file(spec: ImportSpec, source: ImportSource, layout: Layout, target: _Target) -> None:
    token = hub_token(layout.input_dir / "config")
    repo, path = source.repo_id or "", source.path or ""
    _log(f"fetching {repo}:{path} from the Hugging Face cache or hub")
    cached = cached_file(repo, path, spec.revision, token)
    name = result_name(spec, path.rsplit("/", 1)[-1])
    sink = target.file(spec.type, name)
    meter = ByteMeter(f"copying {name}", cached.stat().st_size)
    try:
        sha256, size = copy_into(cached, sink, meter.update)
    except BaseException:
        sink.abort()
        raise
    meter.update(size, force=True)
    _verify(spec, sha256, sink)
    _finish(target, spec.type, name, sink, sha256, size, f"hf://{repo}/{path}")


def _import_hub_folder(spec: ImportSpec, source: ImportSource, layout: Layout, target: _Target) -> None:
    token = hub_token(layout.input_dir / "config")
    repo = source.repo_id or ""
    _log(f"fetching the diffusers folder {repo}{':' + source.path if source.path else ''}")
    folder = cached_folder(repo, source.path, spec.revision, token)
    name = result_name(spec, source.suggested_name)
    files = folder_files(folder)
    total = sum((folder / f).stat().st_size for f in files)
    sink = target.folder(name)
    meter = ByteMeter(f"copying {name}", total)
    done = 0
    try:
        for relative in files:
            part = sink.file(relative)
            try:
                _, size = copy_into(folder / relative, part, lambda n, base=done: meter.update(base + n))
            except BaseException:
                part.abort()
                raise
            sink.commit_file(part)  # type: ignore[arg-type]
            done += size
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    meter.update(total, force=True)
    where = f"{CONVERTED_PREFIX}/{name}"
    _log(f"stored {where}/ ({len(files)} files, {total} bytes)")
    extra = {"stored": target.stored(where)} if target.bucket else {}
    target.manifest(where, CONVERTED_PREFIX, name, total, None)
    progress.output(where, CONVERTED_PREFIX, name, size=total, files=len(files), source=f"hf://{repo}", **extra)


def run(spec: ImportSpec, layout: Layout, kind: str = KIND) -> None:
    """The RUNNERS entry for kind "import"."""
    source = parse_source(spec.source)
    target = _Target(layout, spec)
    token = import_token(layout.input_dir / "config")
    try:
        if source.kind == "https":
            _import_https(spec, source, layout, target)
        elif source.is_file:
            _import_hub_file(spec, source, layout, target)
        else:
            _import_hub_folder(spec, source, layout, target)
    except SpecError as exc:
        raise SpecError(scrub(str(exc), token)) from None


def main(argv: list[str] | None = None) -> int:
    """`python -m sdaws_jobs.import_job ARGS` is `python -m sdaws_jobs import ARGS`."""
    from . import __main__ as entry

    return entry.main(["import", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
