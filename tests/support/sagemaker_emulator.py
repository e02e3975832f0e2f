"""SageMaker's side of a job, played against the job image's CPU twin under Docker.

What SageMaker does with the very requests the launcher builds, as its documentation
describes the container contracts:

  * training (CreateTrainingJob): /opt/ml/input/config/hyperparameters.json (the string
    HyperParameters), inputdataconfig.json and resourceconfig.json; each channel's S3
    objects under /opt/ml/input/data/<channel>/ (key paths relative to the S3Prefix); the
    container started with AlgorithmSpecification.ContainerEntrypoint and Environment;
    afterwards /opt/ml/model/ uploaded to <S3OutputPath>/<job name>/output/model/
    (CompressionType NONE: as files) and /opt/ml/output/failure read as FailureReason;
  * processing (CreateProcessingJob): every ProcessingInput's objects under its LocalPath,
    AppSpecification.ContainerEntrypoint, every ProcessingOutput's LocalPath uploaded to
    its S3Uri at the end;
  * async inference: the model's container started with `serve` (port 8080, GET /ping),
    the request body read from InputLocation and POSTed to /invocations, the answer
    written to <S3OutputPath><inference id>.out, the notification published on the
    success (or error) topic;
  * the container's stdout and stderr written to CloudWatch Logs in SageMaker's groups
    and streams.

Data SageMaker moves for a job it moves as the job's execution role, so those calls go
through `acting_as("SageMakerExecutionRole")` and are checked against that role's
policy like the product's own. The containers reach moto on the docker network; SageMaker
runs GPU instances, the twin a CPU, so SDAWS_INSTANCE_TYPE is left out of the container's
environment unless a test asks for it (the guard itself is a test of its own).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from tests.support.aws_calls import acting_as
from tests.support.moto_env import FAKE_CREDENTIALS
from tests.support.sagemaker_world import SageMakerWorld

EXECUTION_ROLE = "SageMakerExecutionRole"
SAGEMAKER_ONLY = ("SDAWS_INSTANCE_TYPE",)  # what a CPU host must not pass on (see the module doc)


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


@dataclass
class ContainerRun:
    exit_code: int
    lines: list[str]
    failure: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)  # what it wrote, relative path -> bytes


class SageMakerEmulator:
    def __init__(self, world: SageMakerWorld, image: str, keep_instance_type: bool = False) -> None:
        self.world = world
        self.image = image
        self.keep_instance_type = keep_instance_type
        self.s3 = world.client("s3")
        self.logs = world.client("logs")
        self.sns = world.client("sns")

    # ------------------------------------------------------------------ data
    def _download(self, uri: str, target: Path) -> None:
        bucket, prefix = _split(uri)
        with acting_as(EXECUTION_ROLE):
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    rel = obj["Key"][len(prefix) :] if prefix.endswith("/") else obj["Key"].rsplit("/", 1)[-1]
                    path = target / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    self.s3.download_file(bucket, obj["Key"], str(path))

    def _upload(self, folder: Path, uri: str) -> list[str]:
        bucket, prefix = _split(uri)
        keys = []
        with acting_as(EXECUTION_ROLE):
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                key = prefix.rstrip("/") + "/" + path.relative_to(folder).as_posix() if prefix else path.name
                self.s3.upload_file(str(path), bucket, key.lstrip("/"))
                keys.append(key.lstrip("/"))
        return keys

    def write_logs(self, group: str, stream: str, lines: list[str]) -> None:
        now = int(time.time() * 1000)
        with acting_as(EXECUTION_ROLE):
            try:
                self.logs.create_log_group(logGroupName=group)
            except self.logs.exceptions.ResourceAlreadyExistsException:
                pass
            try:
                self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
            except self.logs.exceptions.ResourceAlreadyExistsException:
                pass
            # The log agent sends no empty lines (CloudWatch refuses empty messages).
            events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines) if line.strip()]
            for start in range(0, len(events), 1000):
                self.logs.put_log_events(
                    logGroupName=group, logStreamName=stream, logEvents=events[start : start + 1000]
                )

    # ------------------------------------------------------------------ containers
    def _environment(self, env: dict[str, str]) -> list[str]:
        passed = {k: v for k, v in env.items() if self.keep_instance_type or k not in SAGEMAKER_ONLY}
        passed |= FAKE_CREDENTIALS | {"AWS_ENDPOINT_URL": self.world.container_endpoint}  # S3 from inside the job
        return [arg for k, v in passed.items() for arg in ("-e", f"{k}={v}")]

    def _run(
        self, entrypoint: list[str], env: dict[str, str], mounts: dict[Path, str], timeout: int
    ) -> tuple[int, list[str]]:
        command = ["docker", "run", "--rm", "--network", self.world.network, *self._environment(env)]
        for host, container in mounts.items():
            command += ["-v", f"{host}:{container}"]
        command += ["--entrypoint", entrypoint[0], self.image, *entrypoint[1:]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        return result.returncode, (result.stdout + result.stderr).splitlines()

    # ------------------------------------------------------------------ training
    def run_training(self, request: dict, timeout: int = 900) -> ContainerRun:
        """A CreateTrainingJob request, run to its end; its model uploaded, its log in CloudWatch."""
        name = request["TrainingJobName"]
        with tempfile.TemporaryDirectory(prefix="sm-training-") as tmp:
            ml = Path(tmp)
            config = ml / "input" / "config"
            config.mkdir(parents=True)
            (config / "hyperparameters.json").write_text(json.dumps(request.get("HyperParameters") or {}))
            (config / "inputdataconfig.json").write_text(
                json.dumps(
                    {
                        c["ChannelName"]: {
                            "TrainingInputMode": c.get("InputMode", "File"),
                            "S3DistributionType": c["DataSource"]["S3DataSource"].get(
                                "S3DataDistributionType", "FullyReplicated"
                            ),
                            "RecordWrapperType": "None",
                        }
                        for c in request.get("InputDataConfig", [])
                    }
                )
            )
            resources = {"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
            if self.keep_instance_type:  # SageMaker names the instance type here too
                resources["current_instance_type"] = request["ResourceConfig"]["InstanceType"]
            (config / "resourceconfig.json").write_text(json.dumps(resources))
            for channel in request.get("InputDataConfig", []):
                self._download(
                    channel["DataSource"]["S3DataSource"]["S3Uri"], ml / "input" / "data" / channel["ChannelName"]
                )
            for folder in ("model", "output", "code", "checkpoints"):
                (ml / folder).mkdir(exist_ok=True)
            entrypoint = request["AlgorithmSpecification"].get("ContainerEntrypoint") or ["train"]
            env = dict(request.get("Environment") or {}) | {"TRAINING_JOB_NAME": name}
            code, lines = self._run(
                entrypoint + request["AlgorithmSpecification"].get("ContainerArguments", []),
                env,
                {ml: "/opt/ml"},
                timeout,
            )
            _readable(ml, self.image)
            self.write_logs("/aws/sagemaker/TrainingJobs", f"{name}/algo-1-{int(time.time())}", lines)
            failure_file = ml / "output" / "failure"
            run = ContainerRun(code, lines, failure_file.read_text() if failure_file.exists() else None)
            run.files = {
                p.relative_to(ml / "model").as_posix(): p.read_bytes() for p in (ml / "model").rglob("*") if p.is_file()
            }
            if code == 0:
                self._upload(
                    ml / "model", f"{request['OutputDataConfig']['S3OutputPath'].rstrip('/')}/{name}/output/model/"
                )
            return run

    # ------------------------------------------------------------------ processing
    def run_processing(self, request: dict, timeout: int = 900) -> ContainerRun:
        name = request["ProcessingJobName"]
        with tempfile.TemporaryDirectory(prefix="sm-processing-") as tmp:
            root = Path(tmp)
            mounts: dict[Path, str] = {}
            for i, item in enumerate(request.get("ProcessingInputs", [])):
                host = root / f"in-{i}"
                host.mkdir()
                self._download(item["S3Input"]["S3Uri"], host)
                mounts[host] = item["S3Input"]["LocalPath"]
            outputs = request.get("ProcessingOutputConfig", {}).get("Outputs", [])
            for i, item in enumerate(outputs):
                host = root / f"out-{i}"
                host.mkdir()
                mounts[host] = item["S3Output"]["LocalPath"]
            app = request["AppSpecification"]
            code, lines = self._run(
                app["ContainerEntrypoint"] + app.get("ContainerArguments", []),
                request.get("Environment") or {},
                mounts,
                timeout,
            )
            _readable(root, self.image)
            self.write_logs("/aws/sagemaker/ProcessingJobs", f"{name}/algo-1-{int(time.time())}", lines)
            run = ContainerRun(code, lines)
            for i, item in enumerate(outputs):
                host = root / f"out-{i}"
                run.files |= {p.relative_to(host).as_posix(): p.read_bytes() for p in host.rglob("*") if p.is_file()}
                if code == 0:
                    self._upload(host, item["S3Output"]["S3Uri"])
            return run

    # ------------------------------------------------------------------ serving
    def start_endpoint(self, environment: dict[str, str]) -> ServingContainer:
        return ServingContainer(self, environment)

    def invoke_async(self, serving: ServingContainer, invocation: dict, endpoint_config: dict) -> dict:
        """One InvokeEndpointAsync request, as SageMaker serves it; returns the SNS notification."""
        output = endpoint_config["AsyncInferenceConfig"]["OutputConfig"]
        bucket, key = _split(invocation["InputLocation"])
        with acting_as(EXECUTION_ROLE):
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        since = datetime.now(UTC).isoformat()
        answer = requests.post(
            f"{serving.url}/invocations",
            data=body,
            headers={"Content-Type": invocation.get("ContentType", "application/json")},
            timeout=invocation.get("InvocationTimeoutSeconds", 900),
        )
        inference_id = invocation.get("InferenceId") or uuid.uuid4().hex
        ok = answer.status_code == 200
        location = f"{(output['S3OutputPath'] if ok else output['S3FailurePath']).rstrip('/')}/{inference_id}.{'out' if ok else 'error'}"
        out_bucket, out_key = _split(location)
        with acting_as(EXECUTION_ROLE):
            self.s3.put_object(Bucket=out_bucket, Key=out_key, Body=answer.content)
        self.write_logs(
            f"/aws/sagemaker/Endpoints/{invocation['EndpointName']}",
            f"AllTraffic/{serving.instance_id}",
            serving.lines_since(since),
        )
        message = {
            "awsRegion": "us-east-1",
            "eventTime": datetime.now(UTC).isoformat(),
            "receivedTime": since,
            "invocationStatus": "Completed" if ok else "Failed",
            "requestParameters": {
                "contentType": invocation.get("ContentType", "application/json"),
                "endpointName": invocation["EndpointName"],
                "inputLocation": invocation["InputLocation"],
            },
            "responseParameters": {"contentType": "application/json", "outputLocation": location},
            "inferenceId": inference_id,
            "eventVersion": "1.0",
            "eventSource": "aws:sagemaker",
            "eventName": "InferenceResult",
        }
        if not ok:
            message["failureReason"] = (
                f"ClientError: Received server error ({answer.status_code}) from model: {answer.text[:500]}"
            )
        topic = output["NotificationConfig"]["SuccessTopic" if ok else "ErrorTopic"]
        with acting_as(EXECUTION_ROLE):
            self.sns.publish(TopicArn=topic, Message=json.dumps(message))
        return message


class ServingContainer:
    """`docker run IMAGE serve` on the docker network, port 8080 published on loopback."""

    def __init__(self, emulator: SageMakerEmulator, environment: dict[str, str]) -> None:
        self.instance_id = f"i-{uuid.uuid4().hex[:17]}"
        self.name = f"sdaws-serve-{uuid.uuid4().hex[:8]}"
        command = [
            "docker",
            "run",
            "-d",
            "--name",
            self.name,
            "--network",
            emulator.world.network,
            "-p",
            "127.0.0.1::8080",
        ]
        command += emulator._environment(environment) + [emulator.image, "serve"]
        subprocess.run(command, check=True, capture_output=True, text=True)
        port = subprocess.run(["docker", "port", self.name, "8080/tcp"], check=True, capture_output=True, text=True)
        self.url = f"http://{port.stdout.strip().splitlines()[0]}"

    def wait_until_healthy(self, attempts: int = 600) -> None:
        """SageMaker's health check: GET /ping until 200 (or the container exits)."""
        for _ in range(attempts):
            if self.exit_code() is not None:
                raise RuntimeError(
                    f"the serving container exited {self.exit_code()}:\n" + "\n".join(self.lines_since(None))
                )
            try:
                if requests.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("the serving container never answered /ping")

    def exit_code(self) -> int | None:
        state = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", self.name],
            capture_output=True,
            text=True,
        ).stdout.split()
        return None if not state or state[0] == "true" else int(state[1])

    def lines_since(self, since: str | None) -> list[str]:
        command = ["docker", "logs", *(["--since", since] if since else []), self.name]
        result = subprocess.run(command, capture_output=True, text=True)
        return (result.stdout + result.stderr).splitlines()

    def stop(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)


def run_container_once(image: str, args: list[str], env: dict[str, str], timeout: int = 300) -> ContainerRun:
    """`docker run IMAGE args…` with nothing mounted (a start that must fail fast)."""
    command = ["docker", "run", "--rm", *[a for k, v in env.items() for a in ("-e", f"{k}={v}")], image, *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return ContainerRun(result.returncode, (result.stdout + result.stderr).splitlines())


def _readable(folder: Path, image: str) -> None:
    """The container ran as root: let a non-root test process read and delete what it wrote."""
    if os.geteuid() != 0:
        subprocess.run(
            ["docker", "run", "--rm", "-v", f"{folder}:/w", "--entrypoint", "chmod", image, "-R", "a+rwX", "/w"],
            capture_output=True,
        )
