"""100,000 models in one folder: `GET /models` paging through it, locally and on S3.

* local: a Lora/ folder of 100,000 (empty) .safetensors files under `sdaws serve`
  (the real CLI, a child process); the API client pages through the whole folder
  with `limit=1000`, as the TUI and `sdaws models` do. Baseline: `ls -1` of the
  same folder (every name, sorted: what one listing costs the filesystem).
  Target: >= 1,000 items per 100 ms.
* S3: the same 100,000 keys in moto (real HTTP, ThreadedMotoServer), listed through
  the S3 adapter and the models service (`S3TreeStore` + `ModelService.list_models`,
  what the Lambda runs) page by page; botocore's before-call event counts the
  requests and the keys each one returned, so the figures show whether a page costs
  one bounded ListObjectsV2 or a walk through the folder. moto is an emulator (it
  scans its own keys per request), so its wall time says nothing about S3's.

  .venv/bin/python benchmarks/models_100k.py [--models 100000] [--page 1000] [--skip-s3]
"""

from __future__ import annotations

import argparse
import collections
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_api import TOKEN, start_server, stop_server
from random_models import REPO

FOLDER = "Lora"


def make_tree(root: Path, count: int) -> Path:
    folder = root / FOLDER
    folder.mkdir(parents=True)
    (root / "Stable-diffusion").mkdir()
    for i in range(count):
        (folder / f"lora-{i:06d}.safetensors").touch()
    return folder


def page_through(list_page, page: int) -> tuple[int, float, list[float]]:
    """(items, seconds, seconds per page) walking every page of the folder."""
    items, cursor, per_page = 0, None, []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        result = list_page(page, cursor)
        per_page.append(time.perf_counter() - t)
        items += len(result["items"])
        cursor = result.get("next_cursor")
        if not cursor:
            return items, time.perf_counter() - start, per_page


def local(root: Path, count: int, page: int) -> None:
    from sdaws.client.api import ApiClient

    folder = root / "models" / FOLDER
    start = time.perf_counter()
    subprocess.run(["ls", "-1", str(folder)], stdout=subprocess.DEVNULL, check=True)
    ls_s = time.perf_counter() - start
    server, url = start_server(root / "models", root / "data", root / "serve.log")
    try:
        with ApiClient(url, TOKEN) as client:
            client.list_models(type=FOLDER, limit=1)  # connection and first-request costs out of the way
            items, total, per_page = page_through(
                lambda limit, cursor: client.list_models(type=FOLDER, limit=limit, cursor=cursor), page
            )
    finally:
        stop_server(server)
    assert items == count, f"listed {items} of {count}"
    print(f"\nlocal: GET /models?type={FOLDER}&limit={page} through `sdaws serve`, {count:,} files")
    print(f"  pages: {len(per_page)}, total {total:.2f} s; per page median {statistics.median(per_page) * 1e3:.0f} ms")
    print(f"  first page {per_page[0] * 1e3:.0f} ms, last page {per_page[-1] * 1e3:.0f} ms")
    print(f"  `ls -1` of the folder (baseline): {ls_s:.3f} s")
    rate = items / total / 10
    print(f"  sdaws: {rate:,.0f} items per 100 ms (target >= 1,000); sdaws / ls time: {total / ls_s:.1f}x")


def s3(count: int, page: int) -> None:
    import boto3
    from botocore.config import Config
    from moto.s3.models import s3_backends
    from moto.server import ThreadedMotoServer

    from sam_app.adapters.aws.s3_store import S3TreeStore
    from sam_app.core.models_service import ModelService

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        client = boto3.client(
            "s3",
            endpoint_url=f"http://{host}:{port}",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        client.create_bucket(Bucket="bench-models")
        backend = s3_backends["123456789012"]["global"]  # moto's default account, same process
        client.put_object(Bucket="bench-models", Key="Stable-diffusion/model.safetensors", Body=b"")
        for i in range(count):  # straight into moto's store: 100k PUTs over HTTP would take minutes
            backend.put_object("bench-models", f"{FOLDER}/lora-{i:06d}.safetensors", b"")
        calls: collections.Counter[str] = collections.Counter()
        keys_returned: list[int] = []

        def count_call(model, **_):
            calls[model.name] += 1

        def classify(params, **_):
            if params.get("MaxKeys") == 1:
                calls["  of which: folder checks (MaxKeys=1)"] += 1
            elif "ContinuationToken" in params:
                calls["  of which: continuations within one page"] += 1

        def count_keys(http_response, parsed, model, **_):
            if model.name == "ListObjectsV2":
                keys_returned.append(int(parsed.get("KeyCount", 0)))

        client.meta.events.register("before-call.s3", count_call)
        client.meta.events.register("provide-client-params.s3.ListObjectsV2", classify)
        client.meta.events.register("after-call.s3", count_keys)
        # list_models never reads the catalog (it only lists the store).
        service = ModelService(S3TreeStore(client, "bench-models"), catalog=None)  # type: ignore[arg-type]
        items, total, per_page = page_through(
            lambda limit, cursor: service.list_models(FOLDER, "", limit, cursor), page
        )
    finally:
        moto.stop()
    assert items == count, f"listed {items} of {count}"
    pages = len(per_page)
    lists = calls["ListObjectsV2"]
    print(f"\nS3 adapter on moto (real HTTP): ModelService.list_models({FOLDER!r}, limit={page}), {count:,} keys")
    print(f"  pages: {pages}; requests:")
    for name, n in calls.items():
        print(f"    {name}: {n}")
    print(f"  ListObjectsV2 per page: {lists / pages:.2f}; keys returned per request: max {max(keys_returned)}")
    print(
        f"  keys S3 returned in all: {sum(keys_returned):,} for {count:,} listed "
        f"({sum(keys_returned) / count:.2f}x; a walk through the folder per page would be ~{pages / 2:.0f}x)"
    )
    print(f"  moto wall time {total:.1f} s (moto scans its keys per request; not S3's speed)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=1000, help="page size (the API's maximum is 1000)")
    parser.add_argument("--skip-s3", action="store_true")
    args = parser.parse_args()
    sys.path[:0] = [str(REPO)]
    with tempfile.TemporaryDirectory(prefix="sdaws-bench-100k-") as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        make_tree(root / "models", args.models)
        print(f"made {args.models:,} files in {time.perf_counter() - start:.1f} s")
        local(root, args.models, args.page)
        shutil.rmtree(root / "models" / FOLDER)
    if not args.skip_s3:
        s3(args.models, args.page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
