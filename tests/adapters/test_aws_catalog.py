"""The catalog on the AWS adapters, against moto: server-side hashing of objects however
they arrived (S3's own notifications, delivered through SQS or EventBridge, feed the
hasher), sidecars with S3 conditional writes, bulk catalog reads."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from datetime import UTC, datetime

import boto3
import pytest

from sam_app.adapters.aws.dynamo_catalog_index import DynamoCatalogIndex
from sam_app.adapters.aws.dynamo_tables import DynamoModelCatalog, DynamoUploadRecords
from sam_app.adapters.aws.s3_hasher import GONE, HASHED, NEEDS_JOB, SKIPPED, S3Hasher, S3HashState
from sam_app.adapters.aws.s3_multipart import S3Multipart
from sam_app.adapters.aws.s3_sidecars import S3SidecarFiles
from sam_app.adapters.aws.s3_store import S3TreeStore
from sam_app.core.catalog_service import CatalogService
from sam_app.core.uploads_service import UploadService
from sdaws.contract.errors import Conflict
from tests.support.aws_stack import REGION, bucket_and_tables, queue_with_arn
from tests.support.catalog_files import PNG_1X1, kohya_lora_tensors, kohya_metadata, write_safetensors

BUCKET = "sdaws-catalog-test"
MiB = 1024 * 1024


class Clock:
    def now(self):
        return datetime.now(UTC)


@pytest.fixture
def world(aws):
    s3, tables = bucket_and_tables(BUCKET)
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    catalog = DynamoModelCatalog(dynamodb.Table(tables["ModelsTable"]))
    sqs = boto3.client("sqs", region_name=REGION)
    queue, arn = queue_with_arn(sqs, "model-objects")
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]},
    )

    def delivered() -> list[dict]:
        """What S3 put on the queue, as the Lambda's SQS event source hands it over."""
        records = []
        while got := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for m in got:
                records.append({"eventSource": "aws:sqs", "body": m["Body"], "messageId": m["MessageId"]})
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return [{"Records": records}] if records else []

    return s3, catalog, dynamodb, tables, delivered


def test_an_object_put_with_put_object_gets_its_hash_computed(world):
    s3, catalog, _, _, delivered = world
    data = os.urandom(3 * MiB + 5)
    key = "Lora/sks cat+v1.safetensors"  # S3 notifications URL-encode keys ('+' for a space)
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    hasher = S3Hasher(s3, BUCKET, catalog, chunk=MiB)
    [event] = delivered()
    [outcome] = hasher.handle_event(event)
    assert (outcome.key, outcome.status, outcome.sha256) == (key, HASHED, hashlib.sha256(data).hexdigest())
    facts = catalog.get(key)
    assert facts["sha256"] == hashlib.sha256(data).hexdigest() and facts["sha256_verified"] is True
    state = S3HashState(catalog).state(S3TreeStore(s3, BUCKET).head(key))
    assert state == {"status": "done", "sha256": facts["sha256"], "verified": True}
    # S3 delivers at least once: the same event again is not a second download.
    [again] = hasher.handle_event(event)
    assert again.status == SKIPPED


def test_the_same_notification_sent_straight_to_lambda(world):
    s3, catalog, _, _, delivered = world
    s3.put_object(Bucket=BUCKET, Key="VAE/x.safetensors", Body=b"vae bytes")
    [sqs_event] = delivered()
    bodies = [json.loads(r["body"]) for r in sqs_event["Records"]]
    assert bodies[0]["Event"] == "s3:TestEvent"  # what S3 sends first to a new destination
    direct = bodies[-1]  # S3 -> Lambda sends this very JSON
    [outcome] = S3Hasher(s3, BUCKET, catalog).handle_event(direct)
    assert outcome.sha256 == hashlib.sha256(b"vae bytes").hexdigest()


def test_eventbridge_object_created_events(world):
    s3, catalog, _, _, _ = world
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    queue, arn = queue_with_arn(sqs, "bridge")
    s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}})
    events.put_rule(Name="objects", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    events.put_targets(Rule="objects", Targets=[{"Id": "q", "Arn": arn}])
    s3.put_object(Bucket=BUCKET, Key="embeddings/neg.safetensors", Body=b"emb")
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    [outcome] = S3Hasher(s3, BUCKET, catalog).handle_event(json.loads(message["Body"]))
    assert outcome.status == HASHED and outcome.sha256 == hashlib.sha256(b"emb").hexdigest()


def test_an_uploaders_claimed_hash_is_verified_and_a_wrong_one_flagged(world):
    s3, catalog, dynamodb, tables, delivered = world
    uploads = UploadService(
        S3TreeStore(s3, BUCKET),
        S3Multipart(s3, BUCKET),
        DynamoUploadRecords(dynamodb.Table(tables["UploadsTable"])),
        catalog,
        Clock(),
        max_bytes=10 * 1024**3,
        part_size=5 * MiB,
    )
    data = os.urandom(7 * MiB)
    started = uploads.create("Stable-diffusion", "big.safetensors", len(data))
    storage_id = uploads.records.get(started["upload_id"]).storage_upload_id
    for n, offset in enumerate(range(0, len(data), 5 * MiB), start=1):  # the bytes the client PUTs to each URL
        s3.upload_part(
            Bucket=BUCKET,
            Key="Stable-diffusion/big.safetensors",
            UploadId=storage_id,
            PartNumber=n,
            Body=data[offset : offset + 5 * MiB],
        )
    wrong = "0" * 64
    assert uploads.complete(started["upload_id"], sha256=wrong)["sha256_verified"] is False
    hasher = S3Hasher(s3, BUCKET, catalog)
    outcomes = [o.status for event in delivered() for o in hasher.handle_event(event)]
    assert outcomes[0] == HASHED and set(outcomes[1:]) <= {SKIPPED}  # moto adds a Put event; either way, once
    facts = catalog.get("Stable-diffusion/big.safetensors")
    assert facts["sha256"] == hashlib.sha256(data).hexdigest()
    assert facts["sha256_claimed"] == wrong
    assert (
        S3HashState(catalog).state(S3TreeStore(s3, BUCKET).head("Stable-diffusion/big.safetensors"))["claimed"] == wrong
    )


def test_sidecars_and_other_keys_are_not_hashed(world):
    s3, catalog, _, _, delivered = world
    for key in ["Lora/x.preview.png", "Lora/x.json", "job-inputs/g/a.png", "diffusers/x/model_index.json"]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    hasher = S3Hasher(s3, BUCKET, catalog)
    outcomes = [o for e in delivered() for o in hasher.handle_event(e)]
    assert {o.status for o in outcomes} <= {SKIPPED} and catalog.get("Lora/x.json") is None
    assert hasher.hash_object("Lora/deleted.safetensors").status == GONE


def test_too_big_or_too_slow_for_lambda_hands_over_to_a_job(world):
    s3, catalog, _, _, _ = world
    s3.put_object(Bucket=BUCKET, Key="Stable-diffusion/huge.safetensors", Body=os.urandom(8 * MiB))
    assert (
        S3Hasher(s3, BUCKET, catalog, max_lambda_bytes=MiB).hash_object("Stable-diffusion/huge.safetensors").status
        == NEEDS_JOB
    )
    ticks = itertools.count(step=10.0)  # every look at the clock: ten more seconds gone
    slow = S3Hasher(s3, BUCKET, catalog, chunk=MiB, prefetch=1, clock=lambda: next(ticks))
    outcome = slow.hash_object("Stable-diffusion/huge.safetensors", remaining_s=lambda: 200.0)
    assert outcome.status == NEEDS_JOB and "would not finish" in outcome.detail
    assert catalog.get("Stable-diffusion/huge.safetensors") is None


def test_sidecar_writes_are_conditional_on_s3(world):
    s3, _, _, _, _ = world
    files = S3SidecarFiles(s3, BUCKET)
    files.replace("Lora/x.json", b'{"notes": "a"}', "application/json", None)
    first = files.read("Lora/x.json", 1000)
    with pytest.raises(Conflict):
        files.replace("Lora/x.json", b"{}", "application/json", None)  # exists now
    s3.put_object(Bucket=BUCKET, Key="Lora/x.json", Body=b'{"notes": "aws s3 cp"}')
    with pytest.raises(Conflict, match="changed"):
        files.replace("Lora/x.json", b'{"notes": "mine"}', "application/json", first.version)
    assert files.read("Lora/x.json", 1000).data == b'{"notes": "aws s3 cp"}'
    assert files.read("Lora/absent.json", 10) is None


def test_bulk_reads_of_the_models_table(world):
    _, catalog, dynamodb, tables, _ = world
    padding = "x" * 1500  # over 1 MB in all: the queries must page
    for i in range(800):
        catalog.put(f"Lora/m{i:04}.safetensors", {"size": i, "pad": padding, "sha256": f"{i % 16:x}{i:063x}"})
    index = DynamoCatalogIndex(dynamodb, tables["ModelsTable"])
    got = index.get_many([f"Lora/m{i:04}.safetensors" for i in range(250)] + ["Lora/none.safetensors"])
    assert len(got) == 250 and got["Lora/m0007.safetensors"]["size"] == 7
    assert len({k for k, _ in index.hashed()}) == 800
    assert [k for k, _ in index.hashed(f"7{7:063x}")] == ["Lora/m0007.safetensors"]
    assert len(list(index.hashed("3"))) == 50


def test_the_catalog_service_over_the_bucket(world, tmp_path):
    s3, catalog, dynamodb, tables, delivered = world
    lora = write_safetensors(
        tmp_path / "l.safetensors", kohya_lora_tensors("sdxl"), kohya_metadata("sdxl_base_v1-0")
    ).read_bytes()
    s3.put_object(Bucket=BUCKET, Key="Lora/pixel.safetensors", Body=lora)
    s3.put_object(Bucket=BUCKET, Key="Lora/pixel.preview.png", Body=PNG_1X1)
    s3.put_object(
        Bucket=BUCKET, Key="Lora/pixel.json", Body=json.dumps({"activation text": "pixel art"}, indent=4).encode()
    )
    s3.put_object(Bucket=BUCKET, Key="Lora/again.safetensors", Body=lora)
    hasher = S3Hasher(s3, BUCKET, catalog)
    for event in delivered():
        hasher.handle_event(event)
    service = CatalogService(
        S3TreeStore(s3, BUCKET),
        catalog,
        DynamoCatalogIndex(dynamodb, tables["ModelsTable"]),
        S3SidecarFiles(s3, BUCKET),
        S3HashState(catalog),
    )
    page = service.search(family="SDXL", tag="pixel")
    assert [i["name"] for i in page["items"]] == ["pixel.safetensors"] and page["items"][0][
        "preview"
    ] == "Lora/pixel.preview.png"
    assert service.duplicates()["groups"][0]["models"] == ["Lora/again.safetensors", "Lora/pixel.safetensors"]
    service.edit_user_metadata("Lora", "pixel.safetensors", {"notes": "from the API"})
    stored = json.loads(s3.get_object(Bucket=BUCKET, Key="Lora/pixel.json")["Body"].read())
    assert stored == {"activation text": "pixel art", "notes": "from the API"}
    sha = hashlib.sha256(lora).hexdigest()
    assert [i["name"] for i in service.find_by_hash(sha[:10])["items"]] == ["again.safetensors", "pixel.safetensors"]
