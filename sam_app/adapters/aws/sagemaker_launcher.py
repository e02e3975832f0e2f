"""JobLauncher on SageMaker: where each job kind runs in AWS.

  * merge, convert, export, upscale, import, hash
                           -> a SageMaker Processing job on the utility (CPU) instance;
  * train                  -> an execution of the training state machine (it starts the
                              training job, waits, registers the LoRA and records the end);
  * txt2img, img2img       -> InvokeEndpointAsync on the stack's "default" async endpoint,
                              the request written to S3 first (the endpoint reads it from
                              there). The first such job creates the endpoint; while it
                              starts, the job is STARTING with "endpoint default starting
                              (cold start ~N min)" and waits in the JobsTable's
                              waiting-for-endpoint index until the endpoint's InService
                              event starts it (sam_app/adapters/aws/endpoint_events.py).

Every job gets a folder `jobs/<job id>/` in the model bucket for its spec, request and
intermediate output. SageMaker job and execution names derive from the job id, which is
how status events find their job again (see sam_app.core.job_events).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sam_app.core import endpoints as endpoint_rules
from sam_app.core.job_events import sagemaker_job_name
from sam_app.core.jobs_ports import JobInput, JobRecord, JobRecords
from sdaws.contract import job_status as st
from sdaws.contract.entrypoint import job_argv
from sdaws.contract.errors import Conflict, InvalidInput
from sdaws.contract.hash_spec import KIND as HASH_KIND
from sdaws.contract.hyperparameters import SPEC_CHANNEL, SPEC_FILE, spec_channel_hyperparameters
from sdaws.contract.import_spec import DESTINATION_ENV
from sdaws.contract.import_spec import KIND as IMPORT_KIND
from sdaws.contract.outputs import result_folder, result_key

JOBS_PREFIX = "jobs"
# Processing jobs on the utility (CPU) instance; upscale's images stay with the job.
UTILITY_KINDS = ("merge", "convert", "export", "upscale", IMPORT_KIND, HASH_KIND)
# Kinds that read or write the tree bucket themselves (an import streams into a multipart
# upload at its tree key; hash reads ranges): they are told which bucket.
BUCKET_KINDS = (IMPORT_KIND, HASH_KIND)
INFERENCE_KINDS = ("txt2img", "img2img")
PROCESSING_ROOT = "/opt/ml/processing"


@dataclass(frozen=True)
class LauncherSettings:
    bucket: str
    image_uri: str
    role_arn: str
    util_instance_type: str
    train_instance_type: str
    state_machine_arn: str
    endpoint_name: str  # the SageMaker name of the stack's "default" endpoint
    inference_instance_type: str = endpoint_rules.DEFAULT_INSTANCE_TYPE  # of the endpoint the first job creates
    poll_seconds: int = 60
    max_runtime_s: int = 24 * 3600
    volume_gb: int = 100


def _uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def input_prefix(job_input: JobInput) -> str:
    """The S3 key or prefix a channel downloads; folders end in '/' so `x` never matches `x2/`."""
    return job_input.key.rstrip("/") + "/" if job_input.folder else job_input.key


def job_folder(job_id: str) -> str:
    return f"{JOBS_PREFIX}/{job_id}"


class SageMakerLauncher:
    def __init__(
        self,
        sagemaker,
        sagemaker_runtime,
        stepfunctions,
        s3,
        settings: LauncherSettings,
        records: JobRecords | None = None,
        endpoints=None,
    ):
        self._sm = sagemaker
        self._runtime = sagemaker_runtime
        self._sfn = stepfunctions
        self._s3 = s3
        self._cfg = settings
        self._records = records
        # SageMakerEndpoints: the first inference job creates the default endpoint.
        self._endpoints = endpoints

    # ------------------------------------------------------------------ launch
    def launch(self, job: JobRecord) -> None:
        """Start the job in AWS and mark it STARTING with the handle of what runs it."""
        if not self._cfg.image_uri:
            raise InvalidInput("JobImageUri is not set: push the job image (see containers/) and redeploy with it")
        progress = None
        if job.kind in UTILITY_KINDS:
            handle = self._launch_processing(job)
        elif job.kind == "train":
            handle = self._launch_training(job)
        elif job.kind in INFERENCE_KINDS:
            handle, message = self._launch_inference(job)
            progress = {"step": 0, "total": 0, "eta_s": None, "message": message} if message else None
        else:
            raise ValueError(f"unknown job kind {job.kind!r}")
        if self._records is not None:
            now = datetime.now(UTC).isoformat()
            # Conditional like every status write: a fast RUNNING event may already be in.
            extra = {"progress": progress} if progress else {}
            self._records.transition(
                job.job_id, st.predecessors(st.STARTING), st.STARTING, launch=handle, updated_at=now, **extra
            )
            if handle.get("waiting"):
                self._wait_for_endpoint(job.job_id)

    def _instance(self, instance_type: str) -> dict[str, Any]:
        return {"InstanceCount": 1, "InstanceType": instance_type, "VolumeSizeInGB": self._cfg.volume_gb}

    def _limits_and_tags(self, job_id: str, instance_type: str) -> dict[str, Any]:
        return {
            "StoppingCondition": {"MaxRuntimeInSeconds": self._cfg.max_runtime_s},
            # SDAWS_INSTANCE_TYPE: on a GPU instance the job refuses to run without CUDA.
            "Environment": {"SDAWS_JOB_ID": job_id, "SDAWS_INSTANCE_TYPE": instance_type},
            "Tags": [{"Key": "sdaws:job_id", "Value": job_id}],
        }

    def _train_limits(self, job_id: str) -> dict[str, Any]:
        limits = self._limits_and_tags(job_id, self._cfg.train_instance_type)
        # Intermediate checkpoints go into the tree as they are saved (the end result is
        # registered by the state machine): the job needs to know the tree's bucket.
        limits["Environment"][DESTINATION_ENV] = f"s3://{self._cfg.bucket}"
        return limits

    def _put_json(self, key: str, data: dict) -> str:
        self._s3.put_object(
            Bucket=self._cfg.bucket, Key=key, Body=json.dumps(data).encode(), ContentType="application/json"
        )
        return _uri(self._cfg.bucket, key)

    def processing_request(self, job: JobRecord) -> dict[str, Any]:
        cfg, folder = self._cfg, job_folder(job.job_id)
        inputs = [
            {
                "InputName": "config",
                "S3Input": {
                    "S3Uri": _uri(cfg.bucket, f"{folder}/config/"),
                    "LocalPath": f"{PROCESSING_ROOT}/input/config",
                    "S3DataType": "S3Prefix",
                    "S3InputMode": "File",
                },
            }
        ]
        for i, item in enumerate(job.inputs):
            inputs.append(
                {
                    "InputName": f"{item.channel}-{i}",
                    "S3Input": {
                        "S3Uri": _uri(cfg.bucket, input_prefix(item)),
                        "LocalPath": f"{PROCESSING_ROOT}/input/data/{item.channel}",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
            )
        target = result_folder(job.kind, job.spec)
        # A named result goes straight into its tree folder; images stay under the job's folder.
        output_uri = _uri(cfg.bucket, f"{target}/" if target else f"{folder}/output/")
        output_path = f"{PROCESSING_ROOT}/output/{target}" if target else f"{PROCESSING_ROOT}/output"
        limits = self._limits_and_tags(job.job_id, cfg.util_instance_type)
        if job.kind in BUCKET_KINDS:
            limits["Environment"][DESTINATION_ENV] = f"s3://{cfg.bucket}"
        return {
            "ProcessingJobName": sagemaker_job_name(job.job_id),
            "RoleArn": cfg.role_arn,
            "AppSpecification": {
                "ImageUri": cfg.image_uri,
                "ContainerEntrypoint": job_argv("python", job.kind, "--workdir", PROCESSING_ROOT),
            },
            "ProcessingInputs": inputs,
            # Only the kind's own tree folder is uploaded, straight into the model tree.
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {
                            "S3Uri": output_uri,
                            "LocalPath": output_path,
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
            "ProcessingResources": {"ClusterConfig": self._instance(cfg.util_instance_type)},
            **limits,
        }

    def _launch_processing(self, job: JobRecord) -> dict[str, str]:
        self._put_json(f"{job_folder(job.job_id)}/config/spec.json", job.spec)
        request = self.processing_request(job)
        arn = self._sm.create_processing_job(**request)["ProcessingJobArn"]
        return {"processing_job_arn": arn}

    def training_input(self, job: JobRecord) -> dict[str, Any]:
        """The state machine's input: the CreateTrainingJob request and where its result goes.

        The spec travels as the channel "spec" (jobs/<id>/spec/spec.json), not as a
        hyperparameter: SageMaker caps each hyperparameter value at 2,500 characters."""
        cfg, folder = self._cfg, job_folder(job.job_id)
        name = sagemaker_job_name(job.job_id)
        sources = [JobInput(SPEC_CHANNEL, f"{folder}/{SPEC_CHANNEL}", folder=True), *job.inputs]
        channels = [
            {
                "ChannelName": item.channel,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": _uri(cfg.bucket, input_prefix(item)),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
            for item in sources
        ]
        target_key = result_key("train", job.spec) or ""
        folder_name, file_name = target_key.split("/", 1)
        source_key = f"{folder}/output/{name}/output/model/{target_key}"
        return {
            "job_id": job.job_id,
            "poll_seconds": cfg.poll_seconds,
            "training": {
                "TrainingJobName": name,
                "AlgorithmSpecification": {
                    "TrainingImage": cfg.image_uri,
                    "TrainingInputMode": "File",
                    "ContainerEntrypoint": job_argv("python", "train"),
                },
                "HyperParameters": spec_channel_hyperparameters(),
                "InputDataConfig": channels,
                # Uncompressed, so the LoRA is a plain object the machine can copy into Lora/.
                "OutputDataConfig": {"S3OutputPath": _uri(cfg.bucket, f"{folder}/output/"), "CompressionType": "NONE"},
                "ResourceConfig": self._instance(cfg.train_instance_type),
                **self._train_limits(job.job_id),
            },
            "output": {
                "source_key": source_key,
                # CopyObject's CopySource must be URL-encoded (names may hold spaces, brackets,
                # non-ASCII); ASL has no function for that, so it is encoded here.
                "copy_source": quote(f"{cfg.bucket}/{source_key}", safe="/"),
                "target_key": target_key,
                # The job's outputs field as the records adapter stores it (a JSON string),
                # built here because ASL cannot build JSON text reliably.
                "record": json.dumps([{"type": folder_name, "name": file_name, "key": target_key}]),
            },
        }

    def _launch_training(self, job: JobRecord) -> dict[str, str]:
        self._put_json(f"{job_folder(job.job_id)}/{SPEC_CHANNEL}/{SPEC_FILE}", job.spec)
        arn = self._sfn.start_execution(
            stateMachineArn=self._cfg.state_machine_arn,
            name=job.job_id,  # one execution per job: a retried launch cannot start a second
            input=json.dumps(self.training_input(job)),
        )["executionArn"]
        return {"execution_arn": arn}

    def inference_request(self, job: JobRecord) -> dict[str, Any]:
        """The JSON the async endpoint reads from S3 (the job image's `serve`, /invocations).

        The server stages each input into input/data/<channel>/, runs the kind and
        uploads what it wrote to `output` (the job's folder, where outputs are listed).
        """
        cfg = self._cfg
        return {
            "job_id": job.job_id,
            "kind": job.kind,
            "spec": job.spec,
            "inputs": [
                {"channel": i.channel, "uri": _uri(cfg.bucket, input_prefix(i)), "folder": i.folder} for i in job.inputs
            ],
            "output": _uri(cfg.bucket, f"{job_folder(job.job_id)}/output/"),
        }

    def _request_location(self, job_id: str) -> str:
        return _uri(self._cfg.bucket, f"{job_folder(job_id)}/request.json")

    def _launch_inference(self, job: JobRecord) -> tuple[dict[str, Any], str | None]:
        """Send the job to the default endpoint, creating it first when there is none.

        Returns the launch handle and what the job shows while it waits (or None)."""
        timeout = endpoint_rules.invocation_timeout_s(job.kind, job.spec)  # 400 if it cannot fit
        state = None
        if self._endpoints is not None:
            state = self._endpoints.state(endpoint_rules.DEFAULT_NAME)
            if state is not None and (reason := endpoint_rules.unusable_reason(state)):
                raise Conflict(reason)
        self._put_json(f"{job_folder(job.job_id)}/request.json", self.inference_request(job))
        message = endpoint_rules.waiting_message(state) if self._endpoints is not None else None
        if self._endpoints is not None and (state is None or state.starting):
            if state is None:
                self._endpoints.put(endpoint_rules.default_request(self._cfg.inference_instance_type))
            handle = {"endpoint": self._cfg.endpoint_name, "waiting": True, "timeout_s": timeout}
            return handle, message
        return self.invoke(job.job_id, timeout), message

    def invoke(self, job_id: str, timeout_s: int) -> dict[str, Any]:
        answer = self._runtime.invoke_endpoint_async(
            EndpointName=self._cfg.endpoint_name,
            InputLocation=self._request_location(job_id),
            ContentType="application/json",
            InferenceId=job_id,  # comes back in the SNS notification
            InvocationTimeoutSeconds=timeout_s,
        )
        return {
            "inference_output": answer.get("OutputLocation", ""),
            "endpoint": self._cfg.endpoint_name,
            "timeout_s": timeout_s,
        }

    def _wait_for_endpoint(self, job_id: str) -> None:
        """Put the job on the endpoint's waiting list, then look again: the endpoint may have
        come InService (and its event been handled) between the first look and now."""
        records: Any = self._records  # the DynamoDB records: they keep the waiting list
        records.mark_waiting(job_id, self._cfg.endpoint_name)
        state = self._endpoints.state(endpoint_rules.DEFAULT_NAME)
        if state is not None and state.accepts_requests:
            self.start_waiting(self._cfg.endpoint_name)

    def start_waiting(self, endpoint: str) -> list[str]:
        """Send every job waiting for `endpoint` to it (its InService event); returns their ids."""
        records: Any = self._records
        started = []
        for job_id in records.waiting_for(endpoint):
            if not records.claim_waiting(job_id, endpoint):
                continue  # a duplicate event got there first
            job = records.get(job_id)
            if job is None or st.is_final(job.status):
                continue  # cancelled while it waited
            handle = self.invoke(job_id, int((job.launch or {}).get("timeout_s") or endpoint_rules.MIN_INVOCATION_S))
            progress = {"step": 0, "total": 0, "eta_s": None, "message": f"sent to endpoint {endpoint}"}
            records.update_launch(job_id, handle, progress, datetime.now(UTC).isoformat())
            started.append(job_id)
        return started

    def fail_waiting(self, endpoint: str, reason: str) -> list[str]:
        """The endpoint failed: every job waiting for it fails with the reason."""
        records: Any = self._records
        failed = []
        for job_id in records.waiting_for(endpoint):
            if records.claim_waiting(job_id, endpoint):
                now = datetime.now(UTC).isoformat()
                records.transition(
                    job_id, st.predecessors(st.FAILED), st.FAILED, error=reason, updated_at=now, finished_at=now
                )
                failed.append(job_id)
        return failed

    # ------------------------------------------------------------------ cancel
    def cancel(self, job: JobRecord) -> None:
        """Ask AWS to stop the job's work; the job record is the caller's business."""
        name = sagemaker_job_name(job.job_id)
        if job.kind in UTILITY_KINDS:
            self._ignore_finished(self._sm.stop_processing_job, ProcessingJobName=name)
        elif job.kind == "train":
            arn = self._cfg.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{job.job_id}"
            self._ignore_finished(self._sfn.stop_execution, executionArn=arn, cause="cancelled by the user")
            self._ignore_finished(self._sm.stop_training_job, TrainingJobName=name)
        # Async inference has no cancel call: a late result finds the job CANCELLED and is dropped.

    @staticmethod
    def _ignore_finished(call, **kwargs) -> None:
        # Stopping what already ended (or never started) is not an error for a cancel.
        try:
            call(**kwargs)
        except Exception as exc:  # botocore ClientError; its codes differ per service
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
            if code not in ("ValidationException", "ResourceNotFound", "ExecutionDoesNotExist"):
                raise


def launcher_from_environment(env, records: JobRecords | None) -> SageMakerLauncher | None:
    """The API function's launcher (names from template.yaml); None while no job image is set."""
    if not env.get("JOB_IMAGE_URI"):
        return None
    import boto3

    from .sagemaker_endpoints import endpoints_from_environment

    return SageMakerLauncher(
        boto3.client("sagemaker"),
        boto3.client("sagemaker-runtime"),
        boto3.client("stepfunctions"),
        boto3.client("s3"),
        LauncherSettings(
            bucket=env["MODELS_BUCKET"],
            image_uri=env["JOB_IMAGE_URI"],
            role_arn=env["SAGEMAKER_ROLE_ARN"],
            util_instance_type=env["UTIL_INSTANCE_TYPE"],
            train_instance_type=env["TRAIN_INSTANCE_TYPE"],
            state_machine_arn=env["TRAIN_STATE_MACHINE_ARN"],
            endpoint_name=env["ENDPOINT_NAME"],
            inference_instance_type=env.get("INFERENCE_INSTANCE_TYPE") or endpoint_rules.DEFAULT_INSTANCE_TYPE,
            # How often the training machine asks SageMaker whether the job ended.
            poll_seconds=int(env.get("TRAIN_POLL_SECONDS") or 60),
        ),
        records=records,
        endpoints=endpoints_from_environment(env),
    )
