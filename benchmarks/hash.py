"""Hashing throughput: sdaws's local hasher vs `sha256sum` on the same file, in the same run.

The file is written once (random 64 MiB blocks repeated: SHA-256 does not care, and
writing it stays quick), read once to warm the page cache, then hashed alternately by
`sha256sum` and by the path the local server uses — BackgroundHasher over the tree
store, which streams through sdaws.contract.hashes — best of `--runs` each. Both must
produce the same digest. Goal: sdaws at >= 0.9x sha256sum's speed.

Run:  .venv/bin/python benchmarks/hash.py [--size-mib 2048] [--runs 2]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from one_file import ratio_line, size_parser, speed_lines, write_random_file


class _Catalog:
    def __init__(self) -> None:
        self.facts: dict[str, dict] = {}

    def get(self, key: str) -> dict | None:
        return self.facts.get(key)

    def put(self, key: str, facts: dict) -> None:
        self.facts[key] = facts

    def delete(self, key: str) -> None:
        self.facts.pop(key, None)


def with_sha256sum(path: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(["sha256sum", str(path)], check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out.split()[0]


def with_sdaws(root: Path, key: str) -> tuple[float, str]:
    from sam_app.adapters.local.hasher import BackgroundHasher
    from sam_app.adapters.local.tree_store import LocalTreeStore

    tree, catalog = LocalTreeStore(root), _Catalog()
    hasher = BackgroundHasher(tree, catalog, niceness=0)  # same priority as sha256sum: a fair race
    start = time.perf_counter()
    hasher.state(tree.head(key))
    hasher.drain()
    elapsed = time.perf_counter() - start
    hasher.close()
    return elapsed, catalog.facts[key]["sha256"]


def main() -> int:
    args = size_parser(__doc__, size_mib=2048, runs=2).parse_args()
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="sdaws-hash-bench-") as tmp:
        root = Path(tmp)
        (root / "Stable-diffusion").mkdir()
        path = root / "Stable-diffusion" / "bench.safetensors"
        write_random_file(path, size)
        with_sha256sum(path)  # warm the page cache for both
        ours, theirs = [], []
        for _ in range(args.runs):
            t, digest_theirs = with_sha256sum(path)
            theirs.append(t)
            t, digest_ours = with_sdaws(root, "Stable-diffusion/bench.safetensors")
            ours.append(t)
            if digest_ours != digest_theirs:
                print(f"DIGESTS DIFFER: sdaws {digest_ours} sha256sum {digest_theirs}")
                return 1
    mib = size / 1024 / 1024
    best_ours, best_theirs = min(ours), min(theirs)
    print(f"file: {mib:.0f} MiB, best of {args.runs}")
    print("\n".join(speed_lines(mib, [("sha256sum", best_theirs, ""), ("sdaws hasher", best_ours, "")])))
    print(ratio_line("sdaws speed / sha256sum speed", best_theirs / best_ours, 0.9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
