"""The README's two fresh-machine commands are the ones CI and users really run."""

from __future__ import annotations

import re

from tests.support.env import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def fenced_commands(section: str) -> list[str]:
    body = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", body, flags=re.S)


def test_ci_runs_the_readme_test_command():
    [command] = fenced_commands("Test it")
    ci_lines = [line.strip() for line in (REPO_ROOT / ".ci" / "run").read_text().splitlines()]
    assert command.strip() in ci_lines


def test_run_command_installs_pinned_extras_and_starts_sdaws():
    [command] = fenced_commands("Run it")
    assert command.rstrip().endswith(".venv/bin/sdaws")
    assert '".[tui,jobs]"' in command
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert '"torch==2.13.0"' in pyproject, "the jobs extra must pin torch"
