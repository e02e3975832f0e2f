"""`sdaws endpoints ls|create|scale|rm` as a user runs it, against the AWS API (the real
Lambda handler over moto behind HTTP) and against the local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

from tests.support.api_world import TOKEN
from tests.support.compute_api import ENDPOINT
from tests.support.env import REPO_ROOT

SDAWS = str(Path(sys.executable).parent / "sdaws")


def sdaws(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'containers'}"}
    return subprocess.run(
        [SDAWS, "endpoints", *args, "--api", url, "--token", TOKEN],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_create_list_scale_and_remove_an_endpoint_on_aws(compute_gateway, endpoint_lifecycle):
    url = compute_gateway
    empty = sdaws(url, "ls")
    assert empty.returncode == 0 and "the first txt2img creates 'default'" in empty.stderr

    created = sdaws(url, "create", "--instance-type", "ml.g4dn.xlarge", "--min", "0", "--max", "1")
    assert created.returncode == 0, created.stderr
    assert "default" in created.stdout and "Creating" in created.stdout and "about 10 minutes" in created.stderr
    assert "scaling applies once InService" in sdaws(url, "ls").stdout

    endpoint_lifecycle.finish(ENDPOINT)
    scaled = sdaws(url, "scale", "default", "--max", "3", "--json")
    assert scaled.returncode == 0, scaled.stderr
    assert json.loads(scaled.stdout) | {"current_instances": None} == {
        "name": "default",
        "status": "InService",
        "instance_type": "ml.g4dn.xlarge",
        "min_instances": 0,
        "max_instances": 3,
        "current_instances": None,
        "scaling_applied": True,
    }
    targets = boto3.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")
    assert [t["MaxCapacity"] for t in targets["ScalableTargets"]] == [3]

    removed = sdaws(url, "rm", "default")
    assert removed.returncode == 0 and "deleted endpoint default" in removed.stdout
    assert json.loads(sdaws(url, "ls", "--json").stdout)["endpoints"] == []


def test_mistakes_get_one_line_and_the_right_exit_code(compute_gateway):
    url = compute_gateway
    bad = sdaws(url, "create", "--instance-type", "ml.t2.medium")
    assert bad.returncode == 1 and "instance_type must be one of" in bad.stderr and "Traceback" not in bad.stderr
    missing = sdaws(url, "scale", "nope", "--max", "2")
    assert missing.returncode == 2 and "no endpoint 'nope'" in missing.stderr
    gone = sdaws(url, "rm", "nope")
    assert gone.returncode == 1 and "no endpoint 'nope'" in gone.stderr


def test_locally_there_is_one_endpoint_and_nothing_to_change(api_server):
    listed = sdaws(api_server.url, "ls")
    assert listed.returncode == 0 and listed.stdout.startswith("local ")
    refused = sdaws(api_server.url, "create")
    assert refused.returncode == 1 and "not available in local mode" in refused.stderr
