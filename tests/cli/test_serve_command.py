"""`sdaws serve` as users run it: a real process, its token rules, its errors."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import requests

SDAWS = str(Path(sys.executable).parent / "sdaws")


@pytest.fixture
def user_dirs(tmp_path, monkeypatch):
    env = {k: v for k, v in os.environ.items() if k != "SDAWS_TOKEN"}
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data")}
    return env


def start(env: dict, *args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [SDAWS, "serve", "--port", "0", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = proc.stdout.readline()
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
    assert match, line + proc.stderr.read()
    return proc, match.group(1)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def test_generated_token_is_kept_private_and_required(user_dirs, tmp_path):
    proc, url = start(user_dirs, "--models", str(tmp_path))
    try:
        token_file = tmp_path / "config" / "sdaws" / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32
        assert requests.get(f"{url}/ping").status_code == 401
        assert requests.get(f"{url}/ping", headers={"x-api-key": "nope"}).status_code == 403
        assert requests.get(f"{url}/ping", headers={"x-api-key": token}).json()["mode"] == "local"
    finally:
        stop(proc)
    proc, url = start(user_dirs, "--models", str(tmp_path))
    try:
        assert requests.get(f"{url}/ping", headers={"x-api-key": token}).status_code == 200, "same token after restart"
    finally:
        stop(proc)


def test_token_from_environment_and_flag(user_dirs, tmp_path):
    proc, url = start(user_dirs | {"SDAWS_TOKEN": "from-the-environment-123"}, "--models", str(tmp_path))
    try:
        assert requests.get(f"{url}/ping", headers={"x-api-key": "from-the-environment-123"}).status_code == 200
    finally:
        stop(proc)
    proc, url = start(user_dirs, "--models", str(tmp_path), "--token", "from-the-flag-456")
    try:
        assert requests.get(f"{url}/ping", headers={"x-api-key": "from-the-flag-456"}).status_code == 200
    finally:
        stop(proc)


def test_default_model_root_is_under_the_user_data_dir(user_dirs, tmp_path):
    proc, url = start(user_dirs, "--token", "t" * 24)
    try:
        assert (tmp_path / "data" / "sdaws").is_dir()
    finally:
        stop(proc)


def test_bad_max_jobs_is_a_usage_error(user_dirs, tmp_path):
    result = subprocess.run(
        [SDAWS, "serve", "--max-jobs", "0"], env=user_dirs, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "--max-jobs" in result.stderr


def test_bad_models_folder_is_a_usage_error(user_dirs, tmp_path):
    result = subprocess.run(
        [SDAWS, "serve", "--models", str(tmp_path / "nope")], env=user_dirs, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "is not a folder" in result.stderr and "Traceback" not in result.stderr


def test_serve_and_the_tuis_embedded_server_share_the_token_under_sdaws_config_dir(user_dirs, tmp_path):
    """SDAWS_CONFIG_DIR=X: `sdaws serve` and the TUI's embedded server keep one token in X/token."""
    shared = tmp_path / "portable-config"
    proc, url = start(user_dirs | {"SDAWS_CONFIG_DIR": str(shared)}, "--models", str(tmp_path))
    try:
        token = (shared / "token").read_text().strip()
        assert requests.get(f"{url}/ping", headers={"x-api-key": token}).status_code == 200
    finally:
        stop(proc)
    assert not (tmp_path / "config" / "sdaws" / "token").exists(), "nothing in the platform config dir"
    # The TUI's way in: resolve the (local) target and connect, as `sdaws` with no subcommand does.
    embedded = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sdaws.client.config import resolve\n"
            "from sdaws.client.connection import connect\n"
            "conn = connect(resolve())\n"
            "print(conn.client.token)\n"
            "conn.close()\n",
        ],
        env=user_dirs | {"SDAWS_CONFIG_DIR": str(shared), "XDG_DATA_HOME": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert embedded.returncode == 0, embedded.stderr
    assert embedded.stdout.strip() == token


def _refused(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SDAWS, "serve", "--port", "0", *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("how", ["flag", "environment", "token file"])
def test_a_short_token_is_refused_wherever_it_comes_from(user_dirs, tmp_path, how):
    env, args = dict(user_dirs), ["--models", str(tmp_path)]
    if how == "flag":
        args += ["--token", "x"]
    elif how == "environment":
        env["SDAWS_TOKEN"] = "short"
    else:
        (tmp_path / "config" / "sdaws").mkdir(parents=True)
        (tmp_path / "config" / "sdaws" / "token").write_text("abc\n")
    result = _refused(env, *args)
    assert result.returncode == 2, result.stderr
    assert "at least 16" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_token_on_the_command_line_and_a_public_address_are_warned_about(user_dirs, tmp_path):
    proc, url = start(user_dirs, "--models", str(tmp_path), "--token", "t" * 24, "--host", "0.0.0.0")
    try:
        assert requests.get(f"{url}/ping", headers={"x-api-key": "t" * 24}).status_code == 200
    finally:
        stop(proc)
    warnings = proc.stderr.read()
    assert "process list" in warnings and "SDAWS_TOKEN" in warnings
    assert "0.0.0.0 exposes the API" in warnings
    quiet, url = start(user_dirs | {"SDAWS_TOKEN": "e" * 20}, "--models", str(tmp_path))
    stop(quiet)
    assert "warning" not in quiet.stderr.read()


def test_the_data_dir_and_its_database_are_private(user_dirs, tmp_path):
    data = tmp_path / "private-data"
    proc, url = start(user_dirs | {"SDAWS_TOKEN": "e" * 20}, "--models", str(tmp_path), "--data-dir", str(data))
    try:
        requests.post(
            f"{url}/uploads", json={"type": "Lora", "filename": "a.ckpt", "size": 5}, headers={"x-api-key": "e" * 20}
        )
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        databases = sorted(data.glob("sdaws.sqlite3*"))
        assert databases, list(data.iterdir())
        for path in databases + [data / "part-signing.key"]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        stop(proc)


def test_an_empty_signing_key_is_one_line_and_exit_2(user_dirs, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "part-signing.key").write_bytes(b"")
    result = _refused(user_dirs | {"SDAWS_TOKEN": "e" * 20}, "--models", str(tmp_path), "--data-dir", str(data))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "signing key" in result.stderr and "empty" in result.stderr
