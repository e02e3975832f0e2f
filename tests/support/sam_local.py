"""`sam build` once, and moto as a container on a user-defined docker network.

`sam local` ignores `--docker-network host`, so the function container reaches moto
by container name on a shared network, and the tests on the host reach the same moto
through a port published on 127.0.0.1 (../shared/tools/lambda-emulation-image.sh
builds both images offline; CI runs it before the tests).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import requests

from tests.support.env import REPO_ROOT, docker_available, need
from tests.support.moto_env import FAKE_CREDENTIALS
from tests.support.serve_process import free_port
from tests.support.template_tables import create_api_world

SAM = str(Path(sys.executable).parent / "sam")
MOTO_IMAGE = os.environ.get("MOTO_IMAGE", "sdaws-test/moto")
LAMBDA_IMAGE = "public.ecr.aws/lambda/python:3.11-x86_64"
EVENTS_TOKEN = "sdaws-events-token-0123456789"  # the x-api-key inside events/api_*.json


def _image_present(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


def bare_path(tmp: Path) -> str:
    """A PATH holding `sam` and the system's tools, not this venv: `sam build` as a user
    runs it from a fresh shell, where the project is not installed into `python3`."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    link = bin_dir / "sam"
    if not link.exists():
        link.symlink_to(SAM)
    venv_bin = str(Path(sys.executable).parent)
    rest = [d for d in os.environ["PATH"].split(os.pathsep) if d and Path(d).resolve() != Path(venv_bin).resolve()]
    for name in ("python3", "python3.11"):
        _skip_a_pyenv_shim(name, bin_dir, os.pathsep.join(rest))
    return os.pathsep.join([str(bin_dir), *rest])


def _skip_a_pyenv_shim(name: str, bin_dir: Path, path: str) -> None:
    """Where `name` on PATH is a pyenv shim, link the interpreter it runs instead: the same
    Python a user's shell gets, without the shim's hook that runs `pyenv rehash` after each
    `python -m pip install`. `sam build` runs its functions' installs in parallel and those
    rehashes race on the shims folder ("pyenv: cannot rehash: ... isn't writable"), failing
    the build at random (seen in CI)."""
    found = shutil.which(name, path=path)
    link = bin_dir / name
    if found is None or link.exists() or "pyenv" not in Path(found).read_bytes()[:4096].decode(errors="replace"):
        return
    real = subprocess.run([found, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
    if real.returncode == 0 and real.stdout.strip():
        link.symlink_to(real.stdout.strip())


def run_sam_build(template_dir: Path, build_dir: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sam", "build", "--build-dir", str(build_dir), *extra],
        cwd=template_dir,
        capture_output=True,
        text=True,
        timeout=1200,
        env={
            "PATH": bare_path(tmp),
            "HOME": os.environ.get("HOME", "/root"),
            "SAM_CLI_TELEMETRY": "0",
            "LANG": "C.UTF-8",
        },
    )


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory) -> Path:
    """The built template (every function, via the makefile builds), built as the README says."""
    need(Path(SAM).exists(), "aws-sam-cli is not installed")
    tmp = tmp_path_factory.mktemp("sam-build")
    build_dir = tmp / "build"
    result = run_sam_build(REPO_ROOT, build_dir, tmp)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return build_dir


@dataclass
class MotoContainer:
    network: str
    name: str
    host_endpoint: str

    @property
    def function_endpoint(self) -> str:
        return f"http://{self.name}:5000"

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.host_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="session")
def moto_container():
    need(docker_available(), "no Docker engine (run ../shared/tools/lambda-emulation-image.sh)")
    need(
        _image_present(MOTO_IMAGE) and _image_present(LAMBDA_IMAGE),
        f"images {MOTO_IMAGE} / {LAMBDA_IMAGE} missing (run ../shared/tools/lambda-emulation-image.sh)",
    )
    suffix = uuid.uuid4().hex[:8]
    network, name, port = f"sdaws-test-{suffix}", f"sdaws-moto-{suffix}", free_port()
    subprocess.run(["docker", "network", "create", network], check=True, capture_output=True)
    subprocess.run(
        [
            "docker",
            "run",
            "-d",
            "--rm",
            "--name",
            name,
            "--network",
            network,
            "-p",
            f"127.0.0.1:{port}:5000",
            MOTO_IMAGE,
        ],
        check=True,
        capture_output=True,
    )
    with answering(MotoContainer(network, name, f"http://127.0.0.1:{port}"), seconds=30) as moto:
        yield moto


@contextlib.contextmanager
def answering(moto: MotoContainer, seconds: int):
    """Wait until the started moto container answers (a readiness poll, not a timing
    assertion); remove it and its network afterwards, whatever happened."""
    try:
        for _ in range(seconds * 2):
            try:
                requests.get(f"{moto.host_endpoint}/moto-api/", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            pytest.fail(f"the moto container did not answer within {seconds} s")
        yield moto
    finally:
        subprocess.run(["docker", "rm", "-f", moto.name], capture_output=True)
        subprocess.run(["docker", "network", "rm", moto.network], capture_output=True)


@pytest.fixture(scope="session")
def api_world(moto_container) -> dict[str, str]:
    """Bucket, tables (from template.yaml) and the API key the events carry, in moto."""
    client = moto_container.client
    world = create_api_world(client("s3"), client("dynamodb"), client("apigateway"), EVENTS_TOKEN)
    return world | {"SDAWS_ENDPOINT_URL": moto_container.function_endpoint, "POWERTOOLS_TRACE_DISABLED": "true"}


def sam_local_invoke_raw(
    build_dir: Path, function: str, event: Path, env: dict[str, str], network: str, tmp_path: Path
) -> dict:
    """`sam local invoke` as a user runs it; the function's JSON answer (any handler)."""
    env_file = tmp_path / f"env-{function}.json"
    env_file.write_text(json.dumps({function: env}))
    result = subprocess.run(
        [
            SAM,
            "local",
            "invoke",
            function,
            "--template",
            str(build_dir / "template.yaml"),
            "--event",
            str(event),
            "--env-vars",
            str(env_file),
            "--docker-network",
            network,
            "--skip-pull-image",
            "--region",
            "us-east-1",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | FAKE_CREDENTIALS | {"SAM_CLI_TELEMETRY": "0"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = [line for line in result.stdout.strip().splitlines() if line.startswith("{")]
    assert lines, f"no JSON response on stdout:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return json.loads(lines[-1])


def sam_local_invoke(
    build_dir: Path, function: str, event: Path, env: dict[str, str], network: str, tmp_path: Path
) -> dict:
    """An API Gateway proxy invocation: the answer must be an HTTP response."""
    response = sam_local_invoke_raw(build_dir, function, event, env, network, tmp_path)
    assert "statusCode" in response, f"the function failed: {response}"
    return response
