"""Moving a job's inputs and outputs between S3 and a local job folder (async endpoints).

The async-inference request names each input as {"channel", "uri", "folder"}; files
land in input/data/<channel>/<name>, folders (a converted diffusers model, a dataset
group) in input/data/<channel>/<last part of the prefix>/. Model channels are cached
on the instance by URI, so a warm endpoint downloads a model once, not per request.
Whatever the job wrote under output/ is uploaded below the request's `output` URI.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from .errors import SpecError

CACHED_CHANNELS = ("model", "vae", "lora", "embeddings", "controlnet", "refiner", "upscaler", "vae_approx")


def split_uri(uri: str) -> tuple[str, str]:
    if not isinstance(uri, str) or not uri.startswith("s3://") or "/" not in uri[5:]:
        raise SpecError(f"{uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[5:].partition("/")
    if ".." in key.split("/"):
        raise SpecError(f"{uri!r}: '..' is not allowed in a key")
    return bucket, key


def _client():
    import boto3  # only the serving path needs it; the one-shot jobs never touch S3

    return boto3.client("s3")


def _download_file(client, bucket: str, key: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    client.download_file(bucket, key, str(partial))
    os.replace(partial, target)


def _download(client, uri: str, target: Path, folder: bool) -> None:
    bucket, key = split_uri(uri)
    if not folder:
        _download_file(client, bucket, key, target)
        return
    prefix = key.rstrip("/") + "/"
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    count = 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix) :]
            if rel and not rel.endswith("/") and ".." not in rel.split("/"):
                _download_file(client, bucket, obj["Key"], staging / rel)
                count += 1
    if not count:
        raise SpecError(f"{uri} holds no files")
    os.replace(staging, target)  # complete or absent: a half download is never cached


def stage_inputs(inputs: list[dict], input_dir: Path, cache_dir: Path, client=None) -> list[str]:
    """Put every input where the job expects it; returns their URIs (the pipeline cache key)."""
    client = client or _client()
    uris = []
    for item in inputs:
        if not isinstance(item, dict) or "channel" not in item or "uri" not in item:
            raise SpecError("each input needs a channel and an s3 uri")
        channel, uri, folder = str(item["channel"]), item["uri"], bool(item.get("folder"))
        if "/" in channel or channel in ("", ".", ".."):
            raise SpecError(f"{channel!r} is not a channel name")
        name = split_uri(uri)[1].rstrip("/").rsplit("/", 1)[-1]
        link = input_dir / "data" / channel / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if channel in CACHED_CHANNELS:
            cached = cache_dir / hashlib.sha256(uri.encode()).hexdigest()[:24] / name
            if not cached.exists():
                _download(client, uri, cached, folder)
            link.symlink_to(cached, target_is_directory=folder)
        else:
            _download(client, uri, link, folder)
        uris.append(uri)
    return uris


def upload_outputs(output_dir: Path, uri: str, client=None) -> list[str]:
    """Upload every file under output_dir below `uri`; returns the keys written."""
    client = client or _client()
    bucket, prefix = split_uri(uri)
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    keys = []
    for path in sorted(p for p in output_dir.rglob("*") if p.is_file() and not p.name.endswith(".partial")):
        key = prefix + path.relative_to(output_dir).as_posix()
        client.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


def upload_file(output_dir: Path, path: Path, uri: str, client=None) -> str:
    """Upload one file of output_dir below `uri` at once (a live preview); returns its key."""
    client = client or _client()
    bucket, prefix = split_uri(uri)
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    key = prefix + path.relative_to(output_dir).as_posix()
    client.upload_file(str(path), bucket, key)
    return key
