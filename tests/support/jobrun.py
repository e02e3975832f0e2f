"""Running a job the way both runners do: `python -m sdaws_jobs <kind> --workdir DIR`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sdaws.contract.progress import parse_line


@dataclass
class JobResult:
    code: int
    events: list[dict]
    stdout: str
    stderr: str

    def outputs(self, type_: str | None = None) -> list[dict]:
        return [e for e in self.events if e["event"] == "output" and (type_ is None or e["type"] == type_)]


def make_workdir(root: Path, spec: dict, channels: dict[str, list[Path]] | None = None) -> Path:
    """A job folder: spec in input/config/spec.json, each channel's files copied (or folders linked)."""
    config = root / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    for channel, paths in (channels or {}).items():
        folder = root / "input" / "data" / channel
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            if path.is_dir():
                (folder / path.name).symlink_to(path, target_is_directory=True)
            else:
                shutil.copy2(path, folder / path.name)
    return root


def run_job(kind: str, workdir: Path, timeout: float = 600, env: dict[str, str] | None = None) -> JobResult:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "sdaws_jobs", kind, "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    events = [e for e in map(parse_line, proc.stdout.splitlines()) if e is not None]
    return JobResult(proc.returncode, events, proc.stdout, proc.stderr)
