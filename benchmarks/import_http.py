"""Import throughput: the import job vs `curl` downloading the same file from the same local
HTTP server, in the same run.

The server sends the file with sendfile(2) (zero-copy), so it is not what limits either
client. Two sdaws figures:
  * the whole job as a runner starts it — `python -m sdaws_jobs.import_job --workdir
    DIR`, interpreter start and spec validation included (the goal is measured here);
  * its transfer alone — the same HttpFetch + FileSink the job runs, in this process —
    which shows the data path apart from the fixed ~0.3 s of starting Python.
sdaws hashes (sha256) while it writes, reports progress and fsyncs before the final
rename; curl only writes. Runs alternate in a rotating order, best of `--runs` each. Goal: >= 0.9x curl.

Run:  .venv/bin/python benchmarks/import_http.py [--size-mib 2048] [--runs 3]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from one_file import ratio_line, size_parser, speed_lines, write_random_file


def serve(path: Path) -> ThreadingHTTPServer:
    size = path.stat().st_size

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.send_header("ETag", '"bench"')
            self.end_headers()
            self.wfile.flush()
            with open(path, "rb") as fh:
                self.connection.sendfile(fh)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def with_curl(url: str, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), url], check=True)
    elapsed = time.perf_counter() - start
    out.unlink()
    return elapsed


def with_sdaws(url: str, work: Path) -> float:
    config = work / "input" / "config"
    config.mkdir(parents=True)
    (config / "spec.json").write_text(json.dumps({"source": url, "type": "Stable-diffusion"}))
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sdaws_jobs.import_job", "--workdir", str(work)], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"import failed: {proc.stdout[-500:]} {proc.stderr[-1500:]}")
    shutil.rmtree(work)
    return elapsed


def with_sdaws_transfer(url: str, work: Path) -> float:
    from sdaws_jobs import progress
    from sdaws_jobs.imports.http_fetch import HttpFetch
    from sdaws_jobs.imports.sinks import FileSink

    with open(os.devnull, "w") as devnull:
        progress.set_stream(devnull)
        start = time.perf_counter()
        _, sink = HttpFetch(url).fetch(lambda name: FileSink(work / "Stable-diffusion" / "x.safetensors", "x"), "x")
        sink.commit()
        elapsed = time.perf_counter() - start
        progress.set_stream(None)
    shutil.rmtree(work)
    return elapsed


def main() -> int:
    args = size_parser(__doc__, size_mib=2048, runs=3).parse_args()
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="sdaws-import-bench-") as tmp:
        root = Path(tmp)
        source = root / "source.safetensors"
        write_random_file(source, size)
        httpd = serve(source)
        url = f"http://127.0.0.1:{httpd.server_address[1]}/source.safetensors"
        with_curl(url, root / "warm")  # page cache warm for both
        ours, transfer, theirs = [], [], []
        contenders = [
            lambda i: theirs.append(with_curl(url, root / "curl.out")),
            lambda i: ours.append(with_sdaws(url, root / f"job{i}")),
            lambda i: transfer.append(with_sdaws_transfer(url, root / f"transfer{i}")),
        ]
        for i in range(args.runs):
            # Rotate who goes first: each run writes 2 GiB the kernel is still flushing for the next.
            for k in range(len(contenders)):
                contenders[(i + k) % len(contenders)](i)
        httpd.shutdown()
    mib = size / 1024 / 1024
    best_ours, best_theirs = min(ours), min(theirs)
    best_transfer = min(transfer)
    print(f"file: {mib:.0f} MiB over loopback, best of {args.runs}")
    rows = [
        ("curl -o FILE", best_theirs, ""),
        ("sdaws import job", best_ours, "(hashing as it writes, fsync, Python start)"),
        ("  its transfer", best_transfer, "(the same code in-process)"),
    ]
    print("\n".join(speed_lines(mib, rows)))
    print(ratio_line("whole job, sdaws speed / curl speed", best_theirs / best_ours, 0.9))
    print(f"ratio, transfer only: {best_theirs / best_transfer:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
