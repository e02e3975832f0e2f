"""API round trips on the embedded local server: kept-alive connection vs a new one per request.

Each answer used to go out as two writes (headers, then body); on a kept-alive
connection the second one waited for the client's delayed ACK (Nagle), ~40 ms per
request, while a fresh connection took ~1 ms. The server now writes each answer in
one send with TCP_NODELAY, so kept-alive requests should be no slower than new
connections (usually faster: no handshake). Both are measured in the same run, on the
same server, and the ratio is printed.

Run:  .venv/bin/python benchmarks/api_roundtrip.py [--requests 500]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

TOKEN = "bench-roundtrip-token-0123456789"


def timed(fn, count: int) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    from sam_app.local_server.server import serve_in_thread

    with tempfile.TemporaryDirectory() as tmp:
        handle = serve_in_thread(Path(tmp) / "models", Path(tmp) / "data", TOKEN)
        url = urlsplit(handle.url)
        headers = {"x-api-key": TOKEN}
        try:
            kept = http.client.HTTPConnection(url.hostname, url.port)

            def on_kept_connection() -> None:
                kept.request("GET", "/models?limit=5", headers=headers)
                kept.getresponse().read()

            def on_new_connection() -> None:
                conn = http.client.HTTPConnection(url.hostname, url.port)
                conn.request("GET", "/models?limit=5", headers=headers)
                conn.getresponse().read()
                conn.close()

            on_kept_connection(), on_new_connection()  # warm up both paths
            keep_alive = timed(on_kept_connection, args.requests)
            fresh = timed(on_new_connection, args.requests)
            kept.close()
        finally:
            handle.stop()
    k, f = statistics.median(keep_alive) * 1000, statistics.median(fresh) * 1000
    print(f"{args.requests} GET /models per mode, median round trip:")
    print(
        f"  kept-alive connection : {k:7.2f} ms   (p95 {sorted(keep_alive)[int(0.95 * len(keep_alive))] * 1000:.2f} ms)"
    )
    print(f"  new connection each   : {f:7.2f} ms   (p95 {sorted(fresh)[int(0.95 * len(fresh))] * 1000:.2f} ms)")
    print(f"  kept-alive / new      : {k / f:7.2f}x  (above 1 would mean kept-alive requests wait on something)")


if __name__ == "__main__":
    main()
