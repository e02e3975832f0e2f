"""Stand-in job processes for runner tests, injected through the runner's `command` parameter.

Each reads the workdir the runner prepared and speaks the job protocol (JSON
progress lines on stdout). The spec's output_name picks the behaviour, so one
server can run several kinds of stand-in at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

_PRELUDE = r"""
import json, os, pathlib, subprocess, sys, time
w = pathlib.Path(sys.argv[1])
spec = json.loads((w / "input/config/spec.json").read_text())
def event(**e): print(json.dumps(e), flush=True)
"""

SCRIPTS = {
    # Progress, chatter on both streams, a model and an image as results.
    "ok": r"""
(w / "channels.txt").write_text(json.dumps(sorted(os.listdir(w / "input/data"))))
for i in range(1, 4):
    event(event="progress", step=i, total=3, eta_s=0.1 * (3 - i), message=f"step {i}")
    print(f"stderr line {i}", file=sys.stderr, flush=True)
out = w / "output/Stable-diffusion"; out.mkdir(parents=True)
(out / (spec["output_name"] + ".safetensors")).write_bytes(b"merged-bytes")
img = w / "output/images"; img.mkdir(parents=True)
(img / "00000-1.png").write_bytes(b"\x89PNG fake")
event(event="done")
""",
    # Many numbered lines, for log paging.
    "chatty": r"""
for i in range(120):
    print(f"line {i:03d}", flush=True)
event(event="done")
""",
    # A child process in the same group, then wait to be cancelled.
    "tree": r"""
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
(w / "pids.txt").write_text(f"{os.getpid()} {child.pid}")
event(event="progress", step=0, total=1, eta_s=None, message="waiting")
time.sleep(600)
""",
    # Runs until the test creates w/release, then writes a model named after output_name.
    "block": r"""
event(event="progress", step=0, total=1, eta_s=None, message="blocked")
while not (w / "release").exists():
    time.sleep(0.05)
out = w / "output/Stable-diffusion"; out.mkdir(parents=True)
(out / (spec["output_name"] + ".safetensors")).write_bytes(w.name.encode())
event(event="done")
""",
    # Scratch as real jobs make it (a temp folder with a converted model), a child, then block.
    "scratch": r"""
import tempfile
places = {k: os.environ.get(k) for k in ("TMPDIR", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")}
scratch = pathlib.Path(tempfile.mkdtemp(prefix="sdaws-gen-"))
(scratch / "converted.safetensors").write_bytes(b"x" * 4096)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
(w / "scratch.json").write_text(json.dumps({"places": places, "scratch": str(scratch), "pids": [os.getpid(), child.pid]}))
event(event="progress", step=0, total=1, eta_s=None, message="working")
while not (w / "release").exists():
    time.sleep(0.05)
child.kill()
event(event="done")
""",
    # Dies without the protocol's error event, as a missing dependency would.
    "crash": r"""
print("ModuleNotFoundError: No module named 'torch'", file=sys.stderr, flush=True)
sys.exit(3)
""",
    "fail": r"""
print("Traceback (most recent call last): boom", file=sys.stderr, flush=True)
event(event="error", message="model_b has no tensors")
sys.exit(1)
""",
}


def scripted_command(job, workdir: Path) -> list[str]:
    behaviour = job.spec["output_name"].split("-")[0]
    return [sys.executable, "-c", _PRELUDE + SCRIPTS[behaviour], str(workdir)]
