"""Paging a big model folder: the S3 adapter asks one bounded ListObjectsV2 per page (counted
on the requests moto answers), and the local tree lists a folder it has seen without
scanning it again per page, yet shows every change to it."""

from __future__ import annotations

import os
import time

import boto3
import pytest

from sam_app.adapters.aws.s3_store import S3TreeStore
from sam_app.adapters.local.tree_store import SETTLED_S, LocalTreeStore
from sam_app.core.models_service import ModelService
from tests.support.aws_stack import REGION

BUCKET = "models-bucket"
COUNT = 2_345


class NoCatalog:
    def get(self, key):
        return None


def every_page(service: ModelService, model_type: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = service.list_models(model_type, limit=limit, cursor=cursor)
        pages.append([item["name"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


@pytest.fixture
def bucket(aws):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="Stable-diffusion/base.safetensors", Body=b"x")
    s3.put_object(Bucket=BUCKET, Key="Lora/", Body=b"")  # a folder marker, as the console makes
    s3.put_object(Bucket=BUCKET, Key="Lora/.hidden", Body=b"")
    for i in range(COUNT):
        s3.put_object(Bucket=BUCKET, Key=f"Lora/m-{i:05d}.safetensors", Body=b"")
    return s3


def test_each_s3_page_is_one_bounded_list_request(bucket):
    requests: list[tuple[str, int]] = []

    def answered(parsed, **_):
        requests.append((parsed.get("Prefix", ""), parsed.get("KeyCount", 0)))

    client = boto3.client("s3", region_name=REGION)
    client.meta.events.register("after-call.s3.ListObjectsV2", answered)
    pages = every_page(ModelService(S3TreeStore(client, BUCKET), NoCatalog()), "Lora", 1000)

    assert [len(p) for p in pages] == [1000, 1000, COUNT - 2000]
    assert sum(pages, []) == [f"m-{i:05d}.safetensors" for i in range(COUNT)]
    folder = [keys for prefix, keys in requests if prefix == "Lora/"]
    # One request per page, from the cursor (never a walk from the folder's start); the
    # first page continues once, for the two hidden keys that left it two models short.
    assert len(folder) == len(pages) + 1
    assert sum(folder) <= COUNT + 3  # each key returned about once: the marker, the hidden file, one look-ahead
    checks = [keys for prefix, keys in requests if prefix == "Stable-diffusion/"]
    assert checks == [1] * len(pages)  # the required-folder warning: one key per page


def test_a_short_s3_page_continues_past_hidden_keys(bucket):
    service = ModelService(S3TreeStore(boto3.client("s3", region_name=REGION), BUCKET), NoCatalog())
    first = service.list_models("Lora", limit=2)
    assert [i["name"] for i in first["items"]] == ["m-00000.safetensors", "m-00001.safetensors"]


def _settle(folder) -> None:
    """The folder as if last changed a while ago (its listing may then be remembered)."""
    past = time.time() - 10 * SETTLED_S
    os.utime(folder, (past, past))


def test_the_local_listing_follows_every_change_to_the_folder(tmp_path):
    lora = tmp_path / "Lora"
    lora.mkdir()
    (tmp_path / "Stable-diffusion").mkdir()
    for i in range(1500):
        (lora / f"m-{i:05d}.safetensors").touch()
    (lora / ".partial").touch()
    (lora / "sub").mkdir()
    _settle(lora)
    service = ModelService(LocalTreeStore(tmp_path), NoCatalog())
    assert [len(p) for p in every_page(service, "Lora", 1000)] == [1000, 500]

    (lora / "m-00000.safetensors").unlink()
    (lora / "new.safetensors").touch()
    names = sum(every_page(service, "Lora", 1000), [])
    assert "m-00000.safetensors" not in names and names[-1] == "new.safetensors" and len(names) == 1500

    _settle(lora)
    (lora / "m-00001.safetensors").unlink()  # a file gone without the folder's time moving yet
    _settle(lora)
    page = service.list_models("Lora", limit=3)
    assert [i["name"] for i in page["items"]] == ["m-00002.safetensors", "m-00003.safetensors", "m-00004.safetensors"]
    assert [i["name"] for i in service.list_models("Lora", prefix="new", limit=5)["items"]] == ["new.safetensors"]
