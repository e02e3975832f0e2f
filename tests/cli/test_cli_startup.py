"""`sdaws <command>` imports only the command it runs: the offline ones (convert, export)
must start near `cp`'s speed, so they never load the HTTP client (benchmarks/convert.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sdaws.cli.main import SUBCOMMANDS, build_parser, named_subcommand
from tests.support.env import REPO_ROOT


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["convert", "a.safetensors", "-o", "out"], "convert"),
        (["--api", "http://h", "--token", "t", "models", "ls"], "models"),
        (["--api=http://h", "jobs", "ls"], "jobs"),
        (["--api", "convert", "models", "ls"], "models"),  # an option's value is not the command
        (["--help"], None),
        (["bogus"], None),
        ([], None),
    ],
)
def test_the_named_subcommand_is_found_past_the_connection_options(argv: list[str], named: str | None) -> None:
    assert named_subcommand(argv) == named


def test_a_command_parses_the_same_when_only_its_own_module_is_loaded() -> None:
    argv = ["--api", "http://h", "models", "ls", "Lora", "--limit", "5"]
    parsed = vars(build_parser(argv).parse_args(argv))
    assert parsed.items() >= {"api": "http://h", "command": "models", "type": "Lora", "limit": 5}.items()


def test_an_unknown_command_is_refused_with_every_command_named(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser(["bogus"]).parse_args(["bogus"])
    assert exit_.value.code == 2
    said = capsys.readouterr().err
    assert all(repr(name) in said for name in SUBCOMMANDS)


def test_convert_starts_without_the_http_client() -> None:
    probe = (
        "import sys; from sdaws.cli.main import build_parser; "
        "build_parser(['convert', 'a', '-o', 'b']).parse_args(['convert', 'a', '-o', 'b']); "
        "print(sorted(m for m in ('httpx', 'sdaws.client.api', 'sdaws.contract.specs') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
