"""The README's Benchmarks section lists every benchmark script, and each command it
shows really starts (its --help runs): the section cannot drift from benchmarks/."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.support.env import REPO_ROOT

SECTION = (REPO_ROOT / "README.md").read_text().split("## Benchmarks", 1)[1].split("\n## ", 1)[0]


def _scripts() -> set[str]:
    # A benchmark is a script with a main guard; helpers (random_models, local_api) are not.
    return {p.name for p in (REPO_ROOT / "benchmarks").glob("*.py") if "__main__" in p.read_text()}


def test_every_benchmark_script_has_a_command_in_the_readme():
    [block] = re.findall(r"```bash\n(.+?)\n```", SECTION, flags=re.S)
    listed = {m.group(1) for m in re.finditer(r"benchmarks/(\w+\.py)", block)}
    assert listed == _scripts()


def test_each_benchmark_answers_help():
    for name in sorted(_scripts()):
        done = subprocess.run(
            [sys.executable, str(REPO_ROOT / "benchmarks" / name), "--help"], capture_output=True, text=True
        )
        assert done.returncode == 0, f"{name}: {done.stderr[-500:]}"
        assert "usage" in done.stdout.lower(), name
